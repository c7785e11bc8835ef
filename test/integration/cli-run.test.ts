// The CLI end to end against the real Redis: `run --json` on a folder mixing valid, no-ticket,
// broken and non-metadata files; `show` on a delivered ticket; the same folder again; a folder
// of links, hidden files, a FIFO, UTF-16 and compressed files, each entry accounted for.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { expand } from '../../src/cli/run.ts';
import { fixture } from '../helpers/documents.ts';
import { localNotes } from '../helpers/local-notes.ts';
import { FIXTURES, TEST_REDIS_URL, dropPrefix, runCli, tempDir, uniquePrefix } from '../helpers/env.ts';
import { emailSettings, startSmtpSink } from '../helpers/smtp-sink.ts';

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

  it("names the recording CCAI stored beside the metadata, as the folder lists it, without reading it", () => {
    const [note] = localNotes(dataDir, '500ak000024vx4uAAA', 'call-1418');
    assert.ok(note, 'the note of call-1418');
    assert.ok(note.text.includes("Recording file: call-1418.mp3, stored beside this session's metadata file\n"), note.text);
    // call-987 lists a recording, but none is in the folder: the name CCAI gives it, either extension
    const [other] = localNotes(dataDir, '500ak00001nkg4MAAQ', 'call-987');
    assert.ok(other?.text.includes('Recording file: call-987.mp3 or .wav'), other?.text);
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

describe('ccai-crm-sync run: every entry of a folder accounted for', () => {
  const prefix = uniquePrefix('cli-entries');
  const tmp = tempDir('ccai-cli-entries');
  const drop = join(tmp.path, 'drop');
  const elsewhere = join(tmp.path, 'elsewhere');
  // JOB_THREADS=1: each job reads its document text again on a job thread (not from the
  // submitting thread's cache), so a UTF-16 document's text must have reached the job intact
  const env = { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: join(tmp.path, 'data'), JOB_THREADS: '1' };
  /** call-1418 under its own session id, so that each copy is its own delivery */
  const call = (id: number) => JSON.stringify({ ...fixture('metadata_call-1418.json'), id }, null, 2);
  let folder: { code: number | null; results: Result[] };

  before(async () => {
    mkdirSync(join(drop, '.git'), { recursive: true });
    mkdirSync(elsewhere, { recursive: true });
    writeFileSync(join(drop, 'good.json'), call(9001));
    symlinkSync('good.json', join(drop, 'latest.json')); // a link to a file in the folder
    writeFileSync(join(elsewhere, 'out.json'), call(9002));
    symlinkSync(join(elsewhere, 'out.json'), join(drop, 'outside.json')); // a link that leaves the folder
    symlinkSync('gone.json', join(drop, 'broken.json'));
    symlinkSync('..', join(drop, 'loop')); // a link to the folder above: a loop
    writeFileSync(join(drop, '.DS_Store'), Buffer.from([0, 0, 0, 1, 0x42, 0x75, 0x64, 0x31]));
    writeFileSync(join(drop, '.git', 'config'), '[core]\n');
    writeFileSync(join(drop, '.git', 'kept.json'), call(9006));
    symlinkSync('.git/kept.json', join(drop, 'into-hidden.json')); // a link into a hidden folder
    writeFileSync(join(drop, '.draft.json'), call(9007));
    symlinkSync('.draft.json', join(drop, 'to-hidden-file.json')); // a link to a hidden file
    execFileSync('mkfifo', [join(drop, 'pipe.json')]);
    writeFileSync(join(drop, 'utf16le.json'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(call(9003), 'utf16le')]));
    writeFileSync(join(drop, 'utf16be.json'), Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(call(9004), 'utf16le').swap16()]));
    writeFileSync(join(drop, 'export.json.gz'), gzipSync(call(9005)));
    writeFileSync(join(drop, 'bundle.zip'), Buffer.concat([Buffer.from('PK\x03\x04\x14\x00\x00\x00\x08\x00', 'latin1'), Buffer.alloc(40)]));
    // a FIFO is never opened (opening one blocks until a writer comes): a hang fails the test
    const r = await runCli(['run', '--json', drop], env, { timeoutMs: 60_000 });
    assert.ok(r.stdout.trim().startsWith('{'), `stdout is the JSON report; stderr: ${r.stderr}`);
    folder = { code: r.code, results: (JSON.parse(r.stdout) as { results: Result[] }).results };
  });

  after(async () => {
    await dropPrefix(prefix);
    tmp.cleanup();
  });

  const one = (results: Result[], name: string) => {
    const found = results.filter((x) => x.source.endsWith(`/${name}`));
    assert.equal(found.length, 1, `exactly one result for ${name}: ${JSON.stringify(results, null, 1)}`);
    return found[0]!;
  };

  it('gives every entry of the folder exactly one result', () => {
    const entries = readdirSync(drop);
    assert.equal(entries.length, 15);
    assert.equal(folder.results.length, entries.length, JSON.stringify(folder.results, null, 1));
    for (const name of entries) one(folder.results, name);
  });

  it('follows a link to a file in the folder', () => {
    assert.equal(one(folder.results, 'good.json').status, 'delivered');
    const link = one(folder.results, 'latest.json');
    assert.equal(link.session, 'call-9001', 'the link was read');
    assert.equal(link.status, 'skipped');
    assert.match(link.reason ?? '', /duplicate: the same session version as .*good\.json/);
  });

  it('--dry-run says `duplicate` for a link to a file in the folder too, as the run does', async () => {
    const r = await runCli(['run', '--dry-run', '--json', drop], env, { timeoutMs: 60_000 });
    const results = (JSON.parse(r.stdout) as { results: Result[] }).results;
    assert.equal(results.length, readdirSync(drop).length);
    assert.equal(one(results, 'good.json').status, 'delivered');
    const link = one(results, 'latest.json');
    assert.equal(link.session, 'call-9001', 'the link was read');
    assert.equal(link.status, 'skipped', JSON.stringify(link));
    assert.match(link.reason ?? '', /^duplicate: the same session version as .*good\.json$/);
    assert.deepEqual(Object.keys(link).slice(0, 5), ['source', 'session', 'ticket', 'status', 'reason']);
    assert.equal(r.code, 0, r.stderr);
  });

  it('does not follow links that leave the folder, are broken or loop, and says why', () => {
    const outside = one(folder.results, 'outside.json');
    assert.equal(outside.status, 'skipped');
    assert.match(outside.reason ?? '', /link that leaves the folder .*elsewhere\/out\.json.*not followed/);
    const broken = one(folder.results, 'broken.json');
    assert.equal(broken.status, 'skipped');
    assert.match(broken.reason ?? '', /broken link \(to gone\.json, which does not exist\)/);
    const loop = one(folder.results, 'loop');
    assert.equal(loop.status, 'skipped');
    assert.match(loop.reason ?? '', /link to a folder above it \(a loop\): not followed/);
  });

  it('skips hidden files and folders, a hidden folder on one line', () => {
    assert.match(one(folder.results, '.DS_Store').reason ?? '', /^hidden file \(name starts with a dot\)$/);
    const git = one(folder.results, '.git');
    assert.equal(git.status, 'skipped');
    assert.match(git.reason ?? '', /^hidden folder \(name starts with a dot\): not searched$/);
    assert.ok(!folder.results.some((r) => r.source.endsWith('/config')), 'nothing inside it is listed');
  });

  it('does not read through a link what the walk does not read where it is (a hidden folder, a hidden file)', () => {
    const intoHidden = one(folder.results, 'into-hidden.json');
    assert.equal(intoHidden.status, 'skipped', JSON.stringify(intoHidden));
    assert.equal(intoHidden.session, null, 'the link was not read');
    assert.match(intoHidden.reason ?? '', /^hidden folder \(name starts with a dot\): not searched$/);
    const toHidden = one(folder.results, 'to-hidden-file.json');
    assert.equal(toHidden.status, 'skipped', JSON.stringify(toHidden));
    assert.equal(toHidden.session, null, 'the link was not read');
    assert.match(toHidden.reason ?? '', /^hidden file \(name starts with a dot\)$/);
  });

  it('reads the target a link had when the folder was listed, not one it is given afterwards', async () => {
    const dir = join(tmp.path, 'retarget');
    mkdirSync(dir);
    writeFileSync(join(dir, 'good.json'), call(9101));
    symlinkSync('good.json', join(dir, 'link.json'));
    writeFileSync(join(elsewhere, 'secret.txt'), 'not for rejected/\n');
    const items = await expand([dir]);
    // between the listing and the reading, the link is pointed out of the folder
    rmSync(join(dir, 'link.json'));
    symlinkSync(join(elsewhere, 'secret.txt'), join(dir, 'link.json'));
    const item = items.find((x) => x.source.endsWith('/link.json'));
    assert.ok(item && 'read' in item, `the link is an input: ${JSON.stringify(items)}`);
    const read = await item.read(1_000_000); // as run reads it
    assert.ok(read.ok);
    assert.equal(Buffer.from(read.bytes).toString('utf8'), call(9101), 'the file the link led to when listed');
    assert.equal(item.path, realpathSync(join(dir, 'good.json')));
  });

  it('skips a FIFO without opening it', () => {
    const pipe = one(folder.results, 'pipe.json');
    assert.equal(pipe.status, 'skipped');
    assert.match(pipe.reason ?? '', /^not a regular file \(a FIFO\): not read$/);
  });

  it('delivers UTF-16 documents with a byte-order mark, LE and BE', () => {
    for (const [name, session] of [['utf16le.json', 'call-9003'], ['utf16be.json', 'call-9004']]) {
      const r = one(folder.results, name!);
      assert.equal(r.status, 'delivered', JSON.stringify(r));
      assert.equal(r.session, session);
    }
  });

  it('names gzip and zip files in their reason', () => {
    const gz = one(folder.results, 'export.json.gz');
    assert.equal(gz.status, 'skipped');
    assert.match(gz.reason ?? '', /not a metadata document: a gzip-compressed file: decompress it first/);
    const zip = one(folder.results, 'bundle.zip');
    assert.equal(zip.status, 'skipped');
    assert.match(zip.reason ?? '', /not a metadata document: a zip archive: unzip it first/);
  });

  it('exits 0: nothing in the folder was rejected or failed', () => {
    assert.equal(folder.code, 0);
  });

  it('named on the command line: a FIFO, a broken link and a gzip file are rejected, a link out of the folder is followed', async () => {
    const args = ['pipe.json', 'broken.json', 'export.json.gz', 'outside.json'].map((n) => join(drop, n));
    const r = await runCli(['run', '--json', ...args], env, { timeoutMs: 60_000 });
    const results = (JSON.parse(r.stdout) as { results: Result[] }).results;
    assert.equal(results.length, 4, JSON.stringify(results, null, 1));
    const pipe = one(results, 'pipe.json');
    assert.equal(pipe.status, 'rejected');
    assert.match(pipe.reason ?? '', /^INPUT_UNREADABLE: not a regular file \(a FIFO\): not read$/);
    const broken = one(results, 'broken.json');
    assert.equal(broken.status, 'rejected');
    assert.match(broken.reason ?? '', /^INPUT_UNREADABLE: a broken link \(to gone\.json, which does not exist\)$/);
    const gz = one(results, 'export.json.gz');
    assert.equal(gz.status, 'rejected');
    assert.match(gz.reason ?? '', /^INPUT_BINARY: the document is a gzip-compressed file: decompress it first/);
    const outside = one(results, 'outside.json');
    assert.equal(outside.status, 'delivered', JSON.stringify(outside));
    assert.equal(outside.session, 'call-9002');
    assert.equal(r.code, 1);
  });
});

describe('ccai-crm-sync run, a job that fails', () => {
  it('reports the job’s code and reason, read from its typed failure; so do status and replay --list', async () => {
    const sink = await startSmtpSink({ rejectRcpt: () => 'no such mailbox' });
    const prefix = uniquePrefix('cli-fail');
    const tmp = tempDir('ccai-cli-fail');
    try {
      const file = join(tmp.path, 'metadata_call-1418.json');
      copyFileSync(join(FIXTURES, 'sessions', 'metadata_call-1418.json'), file);
      const env = emailSettings(sink.url, prefix, join(tmp.path, 'data'), TEST_REDIS_URL);
      const r = await runCli(['run', '--json', file], env, { timeoutMs: 90_000 });
      const [result] = (JSON.parse(r.stdout) as { results: Array<Result & { code: string | null }> }).results;
      assert.equal(result?.status, 'failed', r.stderr);
      assert.equal(result?.code, 'TARGET_CONFIG');
      assert.match(result?.reason ?? '', /^TARGET_CONFIG: SMTP: .*550 no such mailbox/);
      const job = JSON.parse((await runCli(['status', 'call-1418', '--json'], env)).stdout).job as { failedReason: string; failure: { code: string; message: string } };
      assert.equal(job.failure.code, 'TARGET_CONFIG');
      assert.equal(job.failedReason, `TARGET_CONFIG: ${job.failure.message}`);
      const [failed] = JSON.parse((await runCli(['replay', '--list', '--json'], env)).stdout).failed as Array<{ code: string; reason: string }>;
      assert.equal(failed?.code, 'TARGET_CONFIG');
      assert.equal(failed?.reason, job.failedReason);
    } finally {
      await sink.stop();
      await dropPrefix(prefix);
      tmp.cleanup();
    }
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
