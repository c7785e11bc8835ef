// What the parser corrects or drops is visible wherever the document's outcome is: on the
// `run --json` result, in `status`, and in the log at warn with the session key. (The HTTP
// answer is checked in sources.test.ts.) Before, the warnings were computed and thrown away.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { FIXTURES, TEST_REDIS_URL, dropPrefix, runCli, tempDir, uniquePrefix } from '../helpers/env.ts';

interface Warning {
  field: string;
  message: string;
}
interface Result {
  source: string;
  session: string | null;
  status: string;
  warnings: Warning[];
}

const EXPECTED: Warning[] = [
  { field: 'wait_duration', message: 'wait_duration -3 is negative, not a duration; dropped' },
  { field: 'rating', message: 'rating 0 is not a CSAT score from 1 to 5; ignored' },
  { field: 'out_ticket_url', message: 'out_ticket_url ignored in favour of out_ticket_id: it (host wiki.example.com) is not a CRM record link the worker recognises' },
];

describe('warnings: corrections are visible', () => {
  const prefix = uniquePrefix('warn');
  const tmp = tempDir('ccai-warn');
  const folder = join(tmp.path, 'in');
  const env = { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: join(tmp.path, 'data') };
  let results: Result[] = [];
  let stdout = '';
  let stderr = '';

  before(async () => {
    mkdirSync(folder);
    const doc = JSON.parse(readFileSync(join(FIXTURES, 'sessions/metadata_call-1418.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(folder, 'corrected.json'), JSON.stringify({ ...doc, id: 8101, wait_duration: -3, rating: 0, out_ticket_id: '500ak00001nkg4MAAQ', out_ticket_url: 'https://wiki.example.com/page' }));
    writeFileSync(join(folder, 'clean.json'), JSON.stringify({ ...doc, id: 8102 }));
    const withCredentials = String(doc.out_ticket_url).replace('https://', 'https://jane.doe:s3cr3t-pw@');
    writeFileSync(join(folder, 'credentials.json'), JSON.stringify({ ...doc, id: 8103, out_ticket_url: withCredentials }));
    const big = structuredClone(doc) as { dispositions: Array<Record<string, unknown>> };
    big.dispositions[1]!.note = 'x'.repeat(4 * 1024 * 1024);
    writeFileSync(join(folder, 'big-note.json'), JSON.stringify({ ...big, id: 8104 }));
    const legs = structuredClone(doc) as { dispositions: Array<Record<string, unknown>> };
    legs.dispositions = Array.from({ length: 450 }, (_, i) => ({ ...legs.dispositions[1], code: `code-${i}`, note: 'n'.repeat(9_990) }));
    writeFileSync(join(folder, 'many-legs.json'), JSON.stringify({ ...legs, id: 8105, out_ticket_id: 'HELP-8105', out_ticket_url: null }));
    const r = await runCli(['run', '--json', '--log-level', 'warn', folder], env, { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    results = (JSON.parse(r.stdout) as { results: Result[] }).results;
    stdout = r.stdout;
    stderr = r.stderr;
  });

  after(async () => {
    await dropPrefix(prefix);
    tmp.cleanup();
  });

  const result = (name: string) => {
    const r = results.find((x) => x.source.endsWith(name));
    assert.ok(r, name);
    return r;
  };

  it('run --json: each result carries warnings [{ field, message }]; the five first fields keep their names', () => {
    const r = result('corrected.json');
    assert.equal(r.status, 'delivered');
    assert.deepEqual(Object.keys(r).slice(0, 5), ['source', 'session', 'ticket', 'status', 'reason']);
    assert.deepEqual(r.warnings, EXPECTED);
    assert.deepEqual(result('clean.json').warnings, []);
  });

  it('credentials in a ticket URL are removed with a warning, and never stored, shown or logged', async () => {
    const r = result('credentials.json');
    assert.equal(r.status, 'delivered');
    assert.deepEqual(r.warnings.map((w) => w.field), ['out_ticket_url']);
    const show = await runCli(['show', '--json', '500ak000024vx4uAAA'], env);
    const rec = JSON.parse(show.stdout) as { url: string; notes: Array<{ text: string; html: string }> };
    assert.equal(rec.url, 'https://crm.example.com/lightning/r/Case/500ak000024vx4uAAA/view');
    for (const out of [stdout, stderr, show.stdout, (await runCli(['show', '--html', '500ak000024vx4uAAA'], env)).stdout, (await runCli(['status', 'call-8103'], env)).stdout]) {
      assert.doesNotMatch(out, /s3cr3t|jane\.doe:/);
    }
    // nor kept in Redis: the job's copy of the document (kept for days) has the link without them
    const redis = new Redis(TEST_REDIS_URL);
    try {
      let cursor = '0';
      let jobs = 0;
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
        cursor = next;
        for (const k of keys) {
          if ((await redis.type(k)) !== 'hash') continue;
          const h = await redis.hgetall(k);
          assert.doesNotMatch(JSON.stringify(h), /s3cr3t/, k);
          if (h.data?.includes('"sessionKey":"call-8103"')) jobs++;
        }
      } while (cursor !== '0');
      assert.equal(jobs, 1, "the job's data was looked at");
    } finally {
      redis.disconnect();
    }
  });

  it('the log has one warn line with the session key and the warnings', () => {
    const lines = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string; session?: string; warnings?: Warning[] });
    const corrected = lines.filter((l) => l.warnings !== undefined && l.session === 'call-8101');
    assert.equal(corrected.length, 1, stderr);
    assert.equal(corrected[0]!.level, 40, 'warn');
    assert.equal(corrected[0]!.session, 'call-8101');
    assert.deepEqual(corrected[0]!.warnings, EXPECTED);
  });

  it('status shows them, as JSON and as text', async () => {
    const j = await runCli(['status', '--json', 'call-8101'], env);
    assert.equal(j.code, 0, j.stderr);
    const st = JSON.parse(j.stdout) as { latest: { state: string; warnings: Warning[] } };
    assert.equal(st.latest.state, 'delivered');
    assert.deepEqual(st.latest.warnings, EXPECTED);
    const t = await runCli(['status', 'call-8101'], env);
    for (const w of EXPECTED) assert.ok(t.stdout.includes(`  warning: ${w.message}\n`), t.stdout);
  });

  it('a 4 MB agent note is cut once, visibly, with a warning, not stored whole three times', async () => {
    const r = result('big-note.json');
    assert.equal(r.status, 'delivered');
    assert.deepEqual(r.warnings.map((w) => w.field), ['dispositions[1].note']);
    const show = await runCli(['show', '--json', '500ak000024vx4uAAA'], env);
    assert.ok(show.stdout.length < 300_000, `the whole record is small: ${show.stdout.length} bytes`);
    const rec = JSON.parse(show.stdout) as { notes: Array<{ sessionKey: string; text: string; html: string }> };
    const n = rec.notes.find((x) => x.sessionKey === 'call-8104')!;
    assert.match(n.text, /x… \(4,18\d,\d{3} characters more\)/);
    assert.match(n.html, /x… \(4,18\d,\d{3} characters more\)/);
  });

  it('a file of 450 long legs: the field, the note text and its HTML are cut where written, and run --json says so', async () => {
    const r = result('many-legs.json');
    assert.equal(r.status, 'delivered');
    assert.deepEqual(r.warnings.map((w) => w.field), ['fields.disposition_notes', 'note.text', 'note.html']);
    const show = await runCli(['show', '--json', 'HELP-8105'], env);
    assert.ok(show.stdout.length < 500_000, `${show.stdout.length} bytes`);
    const st = JSON.parse((await runCli(['status', '--json', 'call-8105'], env)).stdout) as { latest: { warnings: Warning[] } };
    assert.deepEqual(st.latest.warnings.map((w) => w.field), ['fields.disposition_notes', 'note.text', 'note.html']);
  });

  it("intake's warnings stay on the session once a job thread, which reads the UTF-8 text again, has delivered it", async () => {
    const doc = JSON.parse(readFileSync(join(FIXTURES, 'sessions/metadata_call-1418.json'), 'utf8')) as Record<string, unknown>;
    const file = join(tmp.path, 'utf16.json');
    writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify({ ...doc, id: 8106 }), 'utf16le')]));
    const r = await runCli(['run', '--json', file], { ...env, JOB_THREADS: '1' }, { timeoutMs: 60_000 });
    const res = (JSON.parse(r.stdout) as { results: Result[] }).results[0]!;
    assert.equal(res.status, 'delivered', r.stderr);
    const expected = [{ field: '(the document)', message: 'the document is UTF-16 LE (it starts with a byte-order mark); read as such' }];
    assert.deepEqual(res.warnings, expected);
    const st = JSON.parse((await runCli(['status', '--json', 'call-8106'], env)).stdout) as { latest: { state: string; warnings: Warning[] } };
    assert.equal(st.latest.state, 'delivered');
    assert.deepEqual(st.latest.warnings, expected);
  });

  it('a dropped duration is not stored on the ticket', async () => {
    // call-8101 is the only session on its ticket
    const s = await runCli(['show', '--json', '500ak00001nkg4MAAQ'], env);
    const rec = JSON.parse(s.stdout) as { fields: Record<string, unknown>; sessions: unknown[] };
    assert.equal(rec.sessions.length, 1);
    assert.equal(rec.fields.wait_seconds, null);
    const dry = await runCli(['run', '--dry-run', '--json', join(folder, 'corrected.json')], env);
    const would = (JSON.parse(dry.stdout) as { results: Array<Result & { wouldWrite: { fields: Record<string, unknown> } }> }).results[0]!;
    assert.equal(would.wouldWrite.fields.wait_seconds, null);
    assert.deepEqual(would.warnings, EXPECTED, 'a dry run shows the same warnings');
  });
});
