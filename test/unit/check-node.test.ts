// The Node version check in the plain-JavaScript entry point: an older Node is told, in one
// line, which version is needed, before it tries to load the TypeScript sources.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { CLI, ROOT } from '../helpers/env.ts';

// bin/ is plain JavaScript (no types): imported by URL
interface CheckNode {
  minimumOf(range: string | undefined): [number, number, number] | null;
  nodeTooOld(version: string, range: string | undefined): string | null;
}
const load = async () => (await import(pathToFileURL(join(ROOT, 'bin/check-node.js')).href)) as CheckNode;
const engines = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
const LINE = /^ccai-crm-sync needs Node\.js 22\.19 or later \(this is 20\.20\.2\); .*nodejs\.org.*\n$/;

/** Runs the entry point with `node` and the arguments; one line on stderr is what an admin sees. */
function runBin(node: string, nodeArgs: string[] = []) {
  return spawnSync(node, [...nodeArgs, CLI, '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
}

describe('Node version check (bin/check-node.js)', () => {
  it('reads the minimum from package.json engines', async () => {
    const { minimumOf } = await load();
    assert.deepEqual(minimumOf(engines), [22, 19, 0], `engines.node is "${engines}": keep it >=X.Y, or teach minimumOf the new form`);
    assert.deepEqual(minimumOf('>= 24.1.2'), [24, 1, 2]);
  });

  it('refuses older versions in one line, takes the minimum and anything newer', async () => {
    const { nodeTooOld } = await load();
    assert.match(`${nodeTooOld('20.20.2', engines)}\n`, LINE);
    assert.match(nodeTooOld('v22.18.9', engines) ?? '', /needs Node\.js 22\.19 or later \(this is 22\.18\.9\)/);
    assert.match(nodeTooOld('18.0.0', engines) ?? '', /this is 18\.0\.0/);
    for (const ok of ['22.19.0', '22.20.1', '23.11.0', '24.0.0', '25.2.1', 'v24.21.0']) assert.equal(nodeTooOld(ok, engines), null, ok);
  });

  it('the entry point says so and exits 1 under a Node that reports an older version', () => {
    // this Node, told to report 20.20.2: the check runs in the bin, before the TypeScript
    const fake = `data:text/javascript,Object.defineProperty(process,'versions',{value:{...process.versions,node:'20.20.2'}})`;
    const r = runBin(process.execPath, [`--import=${fake}`]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, LINE);
    assert.equal(r.stdout, '', 'nothing else ran');
  });

  it('the entry point says so under a real older Node, when this machine has one', (t) => {
    const candidates = ['/usr/bin/node', '/usr/local/bin/node', ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'node'))];
    const old = candidates.find((node) => {
      try {
        const [a, b] = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim().slice(1).split('.').map(Number);
        return a! < 22 || (a === 22 && b! < 19);
      } catch {
        return false;
      }
    });
    if (!old) {
      // said out loud: the faked-version test above ran the same code
      t.skip('no Node older than 22.19 on this machine');
      return;
    }
    const version = execFileSync(old, ['--version'], { encoding: 'utf8' }).trim().slice(1);
    const r = runBin(old);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^ccai-crm-sync needs Node\\.js 22\\.19 or later \\(this is ${version.replace(/\./g, '\\.')}\\); `));
  });
});
