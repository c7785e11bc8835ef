// Every class of bad input, handed to `run` as explicit files: each is rejected with its own
// code, the field where there is one, a message naming the problem, and the original bytes
// kept byte for byte beside a `.reason.json`. Nothing is queued for them.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FIXTURES, TEST_REDIS_URL, dropPrefix, runCli, tempDir, uniquePrefix } from '../helpers/env.ts';

const CASES: Array<{ file: string; code: string; field?: string; message: RegExp }> = [
  { file: 'not-json.json', code: 'INPUT_NOT_JSON', message: /line 3/ },
  { file: 'truncated.json', code: 'INPUT_TRUNCATED', message: /ends early/ },
  { file: 'array.json', code: 'INPUT_NOT_OBJECT', message: /array of 3/ },
  { file: 'missing-id.json', code: 'INPUT_MISSING_FIELD', field: 'id', message: /\bid\b/ },
  { file: 'no-kind.json', code: 'INPUT_NOT_SESSION', message: /call_type.*chat_type|chat_type.*call_type/ },
  { file: 'wrong-types.json', code: 'INPUT_INVALID_FIELD', field: 'dispositions', message: /dispositions.*string/ },
  { file: 'bad-timestamp.json', code: 'INPUT_BAD_TIMESTAMP', field: 'updated_at', message: /23\/01\/2026 17:14/ },
  { file: 'binary.bin', code: 'INPUT_BINARY', message: /binary/ },
  { file: 'empty.json', code: 'INPUT_EMPTY', message: /empty/ },
  { file: 'invalid-utf8.json', code: 'INPUT_NOT_UTF8', message: /UTF-8/ },
  { file: 'null.json', code: 'INPUT_NOT_OBJECT', message: /null/ },
  { file: 'string.json', code: 'INPUT_NOT_OBJECT', message: /string/ },
];

interface Result {
  source: string;
  session: string | null;
  status: string;
  reason: string;
  code: string;
  field: string | null;
  keptAt: string | null;
}

describe('bad input through `run`', () => {
  const prefix = uniquePrefix('bad');
  const tmp = tempDir('ccai-bad');
  const dataDir = join(tmp.path, 'data');
  const big = join(tmp.path, 'big.json');
  let results: Result[];
  let code: number | null;

  before(async () => {
    // over the size limit: a valid document padded past MAX_FILE_BYTES
    const doc = JSON.parse(readFileSync(join(FIXTURES, 'sessions/metadata_call-987.json'), 'utf8'));
    doc.padding = 'x'.repeat(40_000);
    writeFileSync(big, JSON.stringify(doc));
    const files = [...CASES.map((c) => join(FIXTURES, 'bad', c.file)), big];
    const r = await runCli(['run', '--json', ...files], { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: dataDir, MAX_FILE_BYTES: '30000' });
    code = r.code;
    results = (JSON.parse(r.stdout) as { results: Result[] }).results;
  });

  after(async () => {
    await dropPrefix(prefix);
    tmp.cleanup();
  });

  for (const c of CASES) {
    it(`${c.file}: ${c.code}${c.field ? ` (${c.field})` : ''}, original kept`, () => {
      const r = results.find((x) => x.source.endsWith(`/${c.file}`));
      assert.ok(r, 'reported');
      assert.equal(r.status, 'rejected');
      assert.equal(r.code, c.code);
      if (c.field) assert.equal(r.field, c.field);
      assert.ok(r.reason.startsWith(c.code), r.reason);
      assert.match(r.reason, c.message);
      assert.ok(r.keptAt, 'kept');
      assert.deepEqual(readFileSync(r.keptAt), readFileSync(join(FIXTURES, 'bad', c.file)), 'byte for byte');
      const sidecar = JSON.parse(readFileSync(`${r.keptAt}.reason.json`, 'utf8'));
      assert.equal(sidecar.code, c.code);
      assert.equal(sidecar.message.length > 10, true);
      assert.ok(sidecar.source.endsWith(c.file));
    });
  }

  it('a file over MAX_FILE_BYTES is rejected without being parsed, and kept', () => {
    const r = results.find((x) => x.source.endsWith('/big.json'))!;
    assert.equal(r.code, 'INPUT_TOO_LARGE');
    assert.match(r.reason, /30000-byte limit/);
    assert.deepEqual(readFileSync(r.keptAt!), readFileSync(big));
  });

  it('exits 1 and keeps one copy and one reason per rejected file', () => {
    assert.equal(code, 1);
    const kept = readdirSync(join(dataDir, 'rejected'));
    assert.equal(kept.filter((f) => f.endsWith('.reason.json')).length, CASES.length + 1);
    assert.equal(kept.length, 2 * (CASES.length + 1));
  });
});
