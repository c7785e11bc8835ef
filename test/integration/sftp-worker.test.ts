// An SFTP folder end to end: `worker` as a real process polling a real OpenSSH server (rootless,
// on a free port) into the local CRM; then `run sftp://…`. Faults: a file still being uploaded,
// the connection dropped, a worker killed mid-way; `move` puts files in processed/ and rejected/.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { localNotes } from '../helpers/local-notes.ts';
import { FIXTURES, TEST_REDIS_URL, dropPrefix, runCli, startWorkerProcess, tempDir, uniquePrefix, waitFor } from '../helpers/env.ts';
import type { WorkerProcess } from '../helpers/env.ts';
import { startSshd } from '../helpers/sshd.ts';
import type { Sshd } from '../helpers/sshd.ts';

const TICKET = '500ak000024vx4uAAA';
const doc = JSON.parse(readFileSync(join(FIXTURES, 'sessions/metadata_call-1418.json'), 'utf8')) as Record<string, unknown>;
const session = (id: number) => JSON.stringify({ ...doc, id });

describe('an SFTP folder, end to end', () => {
  const prefix = uniquePrefix('sftpw');
  const tmp = tempDir('ccai-sftpw');
  const dataDir = join(tmp.path, 'data');
  let sshd: Sshd;
  let folder = '';
  let worker: WorkerProcess | null = null;
  let port = 0;

  const env = () => ({
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    DATA_DIR: dataDir,
    SFTP_URL: sshd.url('drop'),
    SFTP_PRIVATE_KEY_FILE: join(tmp.path, 'client-key'),
    SFTP_HOST_KEY: sshd.fingerprint,
    SFTP_POLL_MS: '1000',
    SFTP_SETTLE_MS: '2000',
    SFTP_AFTER: 'move',
    SFTP_CLAIM_STALE_MS: '3000', // a killed worker's claimed file comes back in seconds
    JOB_LOCK_MS: '5000',
  });
  const startWorker = async (expect = 200) => {
    worker = await startWorkerProcess(env(), { expect, home: tmp.path });
    port = worker.port;
  };
  const stopWorker = async (signal: NodeJS.Signals = 'SIGTERM') => {
    await worker?.stop(signal);
    worker = null;
  };
  const notes = (sessionKey: string) => localNotes(dataDir, TICKET, sessionKey);

  before(async () => {
    sshd = await startSshd();
    folder = sshd.folder('drop');
    writeFileSync(join(tmp.path, 'client-key'), sshd.clientKey, { mode: 0o600 });
    await startWorker();
  });

  after(async () => {
    await stopWorker('SIGKILL');
    await sshd?.stop();
    await dropPrefix(prefix);
    tmp.cleanup();
  });

  it('a file dropped in the folder reaches its ticket and is moved to processed/; a recording stays', async () => {
    sshd.write(join(folder, 'call-801.wav'), 'RIFF....WAVE');
    const t0 = Date.now();
    sshd.write(join(folder, 'metadata-801.json'), session(801));
    await waitFor('the note', async () => notes('call-801').length === 1, 30_000);
    process.stderr.write(`# SFTP (poll 1 s, settle 2 s): upload to note in ${Date.now() - t0} ms\n`);
    await waitFor('moved', async () => existsSync(join(folder, 'processed/metadata-801.json')) && !existsSync(join(folder, 'metadata-801.json')));
    assert.ok(existsSync(join(folder, 'call-801.wav')), 'the recording is left where it is');
  });

  it('a file still being uploaded is taken once complete: not rejected, one note', async () => {
    const text = session(802);
    const path = join(folder, 'metadata-802.json');
    sshd.write(path, text.slice(0, 100));
    await new Promise((r) => setTimeout(r, 1_500)); // a poll sees the first part
    sshd.write(path, text.slice(0, 2_000));
    await new Promise((r) => setTimeout(r, 1_500));
    sshd.write(path, text);
    await waitFor('the note', async () => notes('call-802').length === 1, 30_000);
    assert.equal(existsSync(join(folder, 'rejected/metadata-802.json')), false);
  });

  it('a bad file goes to rejected/ and its copy with the reason to DATA_DIR/rejected/', async () => {
    sshd.write(join(folder, 'metadata-803.json'), '[1, 2, 3]');
    await waitFor('moved to rejected/', async () => existsSync(join(folder, 'rejected/metadata-803.json')), 30_000);
    const kept = readdirSync(join(dataDir, 'rejected')).filter((f) => f.includes('metadata-803'));
    assert.ok(kept.some((f) => f.endsWith('.reason.json')), kept.join(', '));
  });

  it('the connection dropped: the worker reconnects and goes on', async () => {
    await sshd.dropConnections();
    sshd.write(join(folder, 'metadata-804.json'), session(804));
    await waitFor('the note after the drop', async () => notes('call-804').length === 1, 60_000);
    const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { ok: boolean; remote: Array<{ source: string; ok: boolean }> };
    assert.equal(health.ok, true, JSON.stringify(health.remote));
  });

  it('a worker killed mid-way loses nothing and writes nothing twice', async () => {
    for (let i = 0; i < 10; i++) sshd.write(join(folder, `metadata-${810 + i}.json`), session(810 + i));
    await waitFor('the first taken', async () => Array.from({ length: 10 }, (_, i) => notes(`call-${810 + i}`).length).some((n) => n > 0), 30_000);
    await stopWorker('SIGKILL');
    await startWorker();
    await waitFor('all ten', async () => Array.from({ length: 10 }, (_, i) => notes(`call-${810 + i}`).length).every((n) => n >= 1), 90_000);
    await new Promise((r) => setTimeout(r, 3_000));
    assert.deepEqual(Array.from({ length: 10 }, (_, i) => notes(`call-${810 + i}`).length), Array(10).fill(1));
    // claimed files of the killed worker come back to their names and are moved in the end
    await waitFor('the folder emptied of metadata', async () => readdirSync(folder).filter((f) => f.startsWith('metadata-')).length === 0, 60_000);
  });

  it('a server down when the worker starts: the worker starts all the same, says so, and reads the folder once it is back', async () => {
    await stopWorker();
    await sshd.halt();
    await startWorker(503);
    const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { remote: Array<{ state: string; lastError: string | null }> };
    assert.equal(health.remote[0]?.state, 'retrying');
    assert.match(health.remote[0]?.lastError ?? '', /./);
    await sshd.resume();
    sshd.write(join(folder, 'metadata-830.json'), session(830));
    await waitFor('the note once the server is back', async () => notes('call-830').length === 1, 90_000);
    await waitFor('healthy again', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200, 30_000);
  });

  it('run sftp://… reads the folder once with one line per file (read only: nothing moved)', async () => {
    await stopWorker();
    sshd.write(join(folder, 'metadata-820.json'), session(820));
    const r = await runCli(['run', '--json', sshd.url('drop')], { ...env(), HOME: tmp.path }, { timeoutMs: 120_000 });
    const results = (JSON.parse(r.stdout) as { results: Array<{ source: string; status: string; reason: string | null }> }).results;
    const wav = results.find((x) => x.source.includes('call-801.wav'));
    assert.equal(wav?.status, 'skipped');
    const meta = results.find((x) => x.source.includes('metadata-820.json'));
    assert.equal(meta?.status, 'delivered', r.stderr);
    assert.equal(results.filter((x) => x.source.includes('metadata-')).length, 1, JSON.stringify(results));
    assert.ok(existsSync(join(folder, 'metadata-820.json')), 'run moves nothing');
    assert.equal(r.code, 0);
  });
});
