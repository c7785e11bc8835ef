#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-old-space-size=160 --max-semi-space-size=8
// Entry point of the `ccai-crm-sync` command. Node >= 22.19 runs the TypeScript sources
// directly; an older one is told so in one line before it tries to load them.
// The first line gives every command the V8 memory flags of the Docker image and the benchmark
// (a bounded heap; without them V8 keeps hundreds of MB of garbage under load, and a backfill
// with `run` went to 450 MB): `env -S` passes them to node (Linux, macOS). To give a command
// more heap, run it as `node --max-old-space-size=… bin/ccai-crm-sync.js …`. MALLOC_ARENA_MAX=2
// keeps glibc from giving each of Node's threads its own malloc arenas (measured: 35 MB less
// peak RSS for a Salesforce worker under load, the same CPU).
import { checkNode } from './check-node.js';

const tooOld = checkNode();
if (tooOld) {
  process.stderr.write(`${tooOld}\n`);
  process.exit(1);
}
await import('../src/cli/index.ts');
