// Every way of starting ccai-crm-sync runs with the V8 memory flags the benchmark measured:
// the bin's first line (a user's `ccai-crm-sync run`), the npm scripts, the Docker image.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/env.ts';

const FLAGS = '--max-old-space-size=160 --max-semi-space-size=8';
/** glibc's malloc: one or two arenas, not one per thread */
const MALLOC = 'MALLOC_ARENA_MAX=2';

describe('memory settings', () => {
  it('the bin passes them to node on its first line', () => {
    assert.equal(readFileSync(join(ROOT, 'bin/ccai-crm-sync.js'), 'utf8').split('\n')[0], `#!/usr/bin/env -S ${MALLOC} node ${FLAGS}`);
  });

  it('the npm scripts that start the CLI give them too', () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    for (const name of ['start', 'cli', 'demo']) assert.ok(scripts[name]!.startsWith(`${MALLOC} sh scripts/node.sh ${FLAGS} bin/ccai-crm-sync.js`), `${name}: ${scripts[name]}`);
  });

  it('the Docker image sets the same in NODE_OPTIONS, and MALLOC_ARENA_MAX', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, new RegExp(`ENV NODE_OPTIONS="${FLAGS}"`));
    assert.match(dockerfile, new RegExp(`^ENV ${MALLOC}$`, 'm'));
  });
});
