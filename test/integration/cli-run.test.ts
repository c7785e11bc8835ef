// The CLI end to end against the real Redis: `run --json` on a folder mixing valid, no-ticket,
// broken and non-metadata files; `show` on a delivered ticket; the same folder again.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FIXTURES, TEST_REDIS_URL, dropPrefix, runCli, tempDir, uniquePrefix } from '../helpers/env.ts';

interface Result {
  source: string;
  session: string | null;
  ticket: string | null;
  status: string;
  reason: string | null;
}

describe('ccai-crm-sync run / show', () => {
  const prefix = uniquePrefix('cli');
  const tmp = tempDir('ccai-cli');
  const inbox = join(tmp.path, 'drop');
  const dataDir = join(tmp.path, 'data');
  const env = { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: dataDir };
  let first: { code: number | null; results: Result[] };

  before(async () => {
    mkdirSync(inbox, { recursive: true });
    for (const f of ['metadata_call-1418.json', 'metadata_call-987.json', 'metadata_chat-135.json']) {
      copyFileSync(join(FIXTURES, 'sessions', f), join(inbox, f));
    }
    copyFileSync(join(FIXTURES, 'bad/truncated.json'), join(inbox, 'truncated.json'));
    copyFileSync(join(FIXTURES, 'bad/array.json'), join(inbox, 'array.json'));
    writeFileSync(join(inbox, 'chat-135.txt'), 'Agent: Hello, how can I help?\nCustomer: My order is late.\n');
    writeFileSync(join(inbox, 'call-1418.mp3'), Buffer.concat([Buffer.from('ID3\x04\x00'), Buffer.alloc(100)]));
    const r = await runCli(['run', '--json', inbox], env, { timeoutMs: 90_000 });
    assert.ok(r.stdout.trim().startsWith('{'), `stdout is the JSON report; stderr: ${r.stderr}`);
    first = { code: r.code, results: (JSON.parse(r.stdout) as { results: Result[] }).results };
  });

  after(async () => {
    await dropPrefix(prefix);
    tmp.cleanup();
  });

  const byName = (name: string) => {
    const r = first.results.find((x) => x.source.endsWith(`/${name}`));
    assert.ok(r, `a result for ${name}`);
    return r;
  };

  it('reports each input once, with the documented fields', () => {
    const files = readdirSync(inbox).filter((f) => !f.startsWith('.'));
    assert.equal(first.results.length, files.length);
    for (const r of first.results) assert.deepEqual(Object.keys(r).slice(0, 5), ['source', 'session', 'ticket', 'status', 'reason']);
  });

  it('delivers the calls on their Salesforce cases', () => {
    const c = byName('metadata_call-1418.json');
    assert.equal(c.status, 'delivered');
    assert.equal(c.session, 'call-1418');
    assert.equal(c.ticket, '500ak000024vx4uAAA');
    assert.equal(byName('metadata_call-987.json').ticket, '500ak00001nkg4MAAQ');
  });

  it('skips the chat without a CRM ticket, saying why', () => {
    const c = byName('metadata_chat-135.json');
    assert.equal(c.status, 'skipped');
    assert.equal(c.session, 'chat-135');
    assert.equal(c.ticket, null);
    assert.match(c.reason ?? '', /ticket|CRM/i);
  });

  it('rejects broken files with a precise reason and keeps the originals', () => {
    const t = byName('truncated.json');
    assert.equal(t.status, 'rejected');
    assert.match(t.reason ?? '', /INPUT_TRUNCATED/);
    const a = byName('array.json');
    assert.equal(a.status, 'rejected');
    assert.match(a.reason ?? '', /INPUT_NOT_OBJECT/);
    assert.ok(existsSync(join(inbox, 'truncated.json')), 'run leaves the input in place');
    const kept = readdirSync(join(dataDir, 'rejected'));
    const copy = kept.find((f) => f.endsWith('truncated.json'));
    assert.ok(copy, `a copy in DATA_DIR/rejected: ${kept.join(', ')}`);
    assert.deepEqual(readFileSync(join(dataDir, 'rejected', copy)), readFileSync(join(FIXTURES, 'bad/truncated.json')));
    const sidecar = JSON.parse(readFileSync(join(dataDir, 'rejected', `${copy}.reason.json`), 'utf8'));
    assert.equal(sidecar.code, 'INPUT_TRUNCATED');
    assert.match(sidecar.source, /truncated\.json$/);
  });

  it('ignores recordings and transcripts found in the folder, saying so', () => {
    for (const name of ['call-1418.mp3', 'chat-135.txt']) {
      const r = byName(name);
      assert.equal(r.status, 'skipped');
      assert.match(r.reason ?? '', /not a metadata document/);
    }
  });

  it('exits 1 because something was rejected', () => {
    assert.equal(first.code, 1);
  });

  it('`show` prints the disposition notes, CSAT and recording link from the file', async () => {
    const r = await runCli(['show', '500ak000024vx4uAAA'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /No Resolution - followup needed/);
    assert.match(r.stdout, /notes/);
    assert.match(r.stdout, /5\s*\/\s*5|★★★★★|csat_rating\s+5/);
    assert.match(r.stdout, /https:\/\/crm\.example\.com\/sfc\/servlet\.shepherd\/version\/download\/068ak00000HCpbFAAT/);
    const j = await runCli(['show', '500ak000024vx4uAAA', '--json'], env);
    const rec = JSON.parse(j.stdout);
    assert.equal(rec.fields.csat_rating, 5);
    assert.equal(rec.notes.length, 1);
    assert.equal(rec.notes[0].sessionKey, 'call-1418');
  });

  it('the same folder again writes nothing twice', async () => {
    const again = await runCli(['run', '--json', inbox], env, { timeoutMs: 90_000 });
    const results = (JSON.parse(again.stdout) as { results: Result[] }).results;
    const c = results.find((x) => x.source.endsWith('/metadata_call-1418.json'))!;
    assert.equal(c.status, 'skipped');
    assert.match(c.reason ?? '', /already processed.*delivered/);
    const j = await runCli(['show', '500ak000024vx4uAAA', '--json'], env);
    assert.equal(JSON.parse(j.stdout).notes.length, 1);
  });

  it('`status` tells where a session is', async () => {
    const r = await runCli(['status', 'call-1418', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.latest.state, 'delivered');
    assert.equal(s.latest.ticket, '500ak000024vx4uAAA');
    const chat = JSON.parse((await runCli(['status', 'chat-135', '--json'], env)).stdout);
    assert.equal(chat.latest.state, 'skipped');
  });

  it('--dry-run shows what would be written and writes nothing', async () => {
    const other = join(tmp.path, 'dry-data');
    const r = await runCli(['run', '--dry-run', join(FIXTURES, 'sessions/metadata_call-987.json')], { ...env, DATA_DIR: other });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /would write on 500ak00001nkg4MAAQ/);
    assert.match(r.stdout, /068ak00000G9TrBAAV/);
    assert.ok(!existsSync(join(other, 'local-crm.sqlite')), 'no local CRM written');
  });
});

describe('ccai-crm-sync global options', () => {
  it('--log-level wins over the quiet default of one-shot commands, and LOG_LEVEL in CONFIG_FILE does too', async () => {
    const tmp = tempDir('ccai-cli-log');
    const prefixes: string[] = [];
    try {
      const file = join(tmp.path, 'metadata_call-1418.json');
      copyFileSync(join(FIXTURES, 'sessions', 'metadata_call-1418.json'), file);
      // each run its own queue and local CRM, so each processes the file
      const fresh = (extra: Record<string, string> = {}) => {
        const prefix = uniquePrefix('cli-log');
        prefixes.push(prefix);
        // LOG_LEVEL empty: not set (runCli would set warn)
        return { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: join(tmp.path, prefix), LOG_LEVEL: '', ...extra };
      };
      const quiet = await runCli(['run', file], fresh());
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.doesNotMatch(quiet.stderr, /session processed/, 'errors only by default');
      const loud = await runCli(['--log-level', 'info', 'run', file], fresh());
      assert.equal(loud.code, 0, loud.stderr);
      assert.match(loud.stderr, /session processed/);
      const configFile = join(tmp.path, 'config.json');
      writeFileSync(configFile, JSON.stringify({ LOG_LEVEL: 'info' }));
      const fromFile = await runCli(['run', file], fresh({ CONFIG_FILE: configFile }));
      assert.match(fromFile.stderr, /session processed/);
    } finally {
      for (const p of prefixes) await dropPrefix(p);
      tmp.cleanup();
    }
  });
});
