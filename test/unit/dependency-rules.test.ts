// The dependency rules themselves (.dependency-cruiser.js, checked over src/ by `npm run deps`):
// on the small tree in test/fixtures/deps/ (laid out like src/), each rule fires where the tree
// breaks it, with the comment that says why, and stays quiet where the tree keeps it (zod and
// node:crypto in domain/, bullmq, bull-board and express in queue/ (bull-board's adapter
// through its published subpath, not its dist/), node:sqlite in targets/local/, the Google
// Cloud clients in sources/gcs/, ssh2-sftp-client in sources/sftp/, a package whose entry
// point is in dist/, jsforce's internals in jsforce-internals.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { FIXTURES, ROOT } from '../helpers/env.ts';

const CONFIG = join(ROOT, '.dependency-cruiser.js');
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const TREE = join(FIXTURES, 'deps');

/** rule, the importing file, the import as written */
const EXPECTED: Array<[string, string, string]> = [
  ['no-circular', 'src/pipeline/first.ts', './second.ts'],
  ['domain-is-pure', 'src/domain/reads-files.ts', 'node:fs'],
  ['domain-is-pure', 'src/domain/uses-config.ts', '../config.ts'],
  ['config-read-by-the-root-only', 'src/domain/uses-config.ts', '../config.ts'],
  ['config-read-by-the-root-only', 'src/targets/salesforce/connection.ts', '../../config.ts'],
  ['sdk-redis-only-in-queue-and-store', 'src/pipeline/uses-redis.ts', 'ioredis'],
  ['sdk-jsforce-only-in-salesforce', 'src/sources/sends-mail.ts', 'jsforce'],
  ['sdk-jsforce-only-in-salesforce', 'src/targets/email/nodemailer-internals.ts', 'jsforce/lib/request.js'],
  ['sdk-nodemailer-only-in-email', 'src/sources/sends-mail.ts', 'nodemailer'],
  ['sdk-imap-only-in-imap-source', 'src/sources/reads-mail.ts', 'mailparser'],
  ['sdk-gcs-only-in-gcs-source', 'src/sources/reads-bucket.ts', '@google-cloud/storage'],
  ['sdk-gcs-only-in-gcs-source', 'src/sources/reads-bucket.ts', '@google-cloud/pubsub'],
  ['sdk-sftp-only-in-sftp-source', 'src/sources/remote/reads-sftp.ts', 'ssh2-sftp-client'],
  ['sdk-bull-board-only-in-queue', 'src/sources/serves-board.ts', '@bull-board/express'],
  ['sdk-bull-board-only-in-queue', 'src/sources/serves-board.ts', 'express'],
  ['sdk-sqlite-only-in-local', 'src/pipeline/uses-sqlite.ts', 'node:sqlite'],
  ['no-smtp-server-in-src', 'src/pipeline/uses-smtp-server.ts', 'smtp-server'],
  ['no-deep-imports', 'src/targets/salesforce/connection.ts', 'jsforce/lib/request.js'],
  ['no-deep-imports', 'src/queue/bull-board-dist.ts', '@bull-board/api/dist/queueAdapters/bullMQ.js'],
  ['internals-file-of-one-library', 'src/targets/email/nodemailer-internals.ts', 'jsforce/lib/request.js'],
  ['no-unresolvable', 'src/pipeline/unresolvable.ts', './missing.ts'],
];

interface Rule {
  name: string;
  severity: string;
  comment: string;
}
interface Violation {
  from: string;
  to: string;
  unresolvedTo: string;
  dependencyTypes: string[];
  rule: { name: string; severity: string };
}

/** dependency-cruiser's command line over the fixture tree, as `npm run deps` runs it over src/. */
function cruise(outputType: 'json' | 'err-long') {
  const r = spawnSync(process.execPath, [DEPCRUISE, '--config', CONFIG, '--output-type', outputType, 'src'], {
    cwd: TREE,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.error, undefined);
  return r;
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();
const key = ([rule, from, to]: [string, string, string]) => `${rule}: ${from} -> ${to}`;

describe('dependency rules (.dependency-cruiser.js)', () => {
  let rules: Rule[];
  let violations: Violation[];
  let json: ReturnType<typeof cruise>;
  let text: ReturnType<typeof cruise>;

  before(async () => {
    rules = ((await import(pathToFileURL(CONFIG).href)) as { default: { forbidden: Rule[] } }).default.forbidden;
    json = cruise('json');
    text = cruise('err-long');
    assert.equal(json.status, 0, json.stderr); // the json reporter reports, it does not fail
    violations = (JSON.parse(json.stdout) as { summary: { violations: Violation[] } }).summary.violations;
  });

  it('each rule is an error and says why', () => {
    for (const rule of rules) {
      assert.equal(rule.severity, 'error', rule.name);
      assert.ok(rule.comment.length > 40, `${rule.name} has a comment that says why`);
    }
  });

  it('fires exactly where the fixture tree breaks a rule, and nowhere else', () => {
    // the import as written, with node: put back (a rule sees `node:fs` as `fs`)
    const written = (v: Violation) => (v.dependencyTypes.includes('core') && !v.unresolvedTo.startsWith('node:') ? `node:${v.unresolvedTo}` : v.unresolvedTo);
    const found = violations.map((v) => key([v.rule.name, v.from, written(v)])).sort();
    assert.deepEqual(found, EXPECTED.map(key).sort());
    assert.ok(violations.every((v) => v.rule.severity === 'error'));
  });

  it('every rule is exercised by the fixture tree', () => {
    assert.deepEqual([...new Set(EXPECTED.map(([rule]) => rule))].sort(), rules.map((r) => r.name).sort());
  });

  it('fails (exit code = number of errors) and prints each violation with its rule and its comment', () => {
    assert.equal(text.status, EXPECTED.length, text.stderr);
    const output = oneLine(text.stdout);
    for (const [rule, from] of EXPECTED) assert.ok(output.includes(`error ${rule}: ${from} →`), `${rule} on ${from} in:\n${text.stdout}`);
    for (const rule of rules) assert.ok(output.includes(oneLine(rule.comment)), `${rule.name}'s comment in:\n${text.stdout}`);
  });

  it('`npm run deps` runs this check over src/', () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    assert.match(scripts.deps ?? '', /^sh scripts\/node\.sh node_modules\/dependency-cruiser\/bin\/dependency-cruise\.mjs --config \.dependency-cruiser\.js .*src$/);
  });
});
