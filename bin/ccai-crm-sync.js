#!/usr/bin/env node
// Entry point of the `ccai-crm-sync` command. Node >= 22.19 runs the TypeScript sources
// directly; an older one is told so in one line before it tries to load them.
import { checkNode } from './check-node.js';

const tooOld = checkNode();
if (tooOld) {
  process.stderr.write(`${tooOld}\n`);
  process.exit(1);
}
await import('../src/cli/index.ts');
