// The remote-source pipeline (sweep, take, the ledger, the poller) against the real Redis, the
// real queue and the local CRM, with a storage in memory (the adapters themselves are tested
// against their servers elsewhere).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createApp } from '../../src/app/app.ts';
import type { App } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { sweep, takeEntry } from '../../src/pipeline/remote-intake.ts';
import type { RemoteIntakeDeps, SettleMemory } from '../../src/pipeline/remote-intake.ts';
import { startRemotePoller } from '../../src/sources/remote/poller.ts';
import { LocalCrm } from '../../src/targets/local/local-crm.ts';
import { FIXTURES, TEST_REDIS_URL, dropPrefix, tempDir, uniquePrefix, waitFor } from '../helpers/env.ts';
import { MemoryStorage } from '../helpers/memory-storage.ts';

const doc = JSON.parse(readFileSync(join(FIXTURES, 'sessions/metadata_call-1418.json'), 'utf8')) as Record<string, unknown>;
const session = (id: number, patch: Record<string, unknown> = {}) => JSON.stringify({ ...doc, id, ...patch });
const TICKET = '500ak000024vx4uAAA';

describe('remote sources: take, sweep, ledger, poller', () => {
  const prefix = uniquePrefix('remote');
  const tmp = tempDir('ccai-remote');
  let app: App;
  let crm: LocalCrm;
  let storage: MemoryStorage;
  let deps: RemoteIntakeDeps;
  const log = createLogger('silent');
  const settle: SettleMemory = new Map();

  before(async () => {
    const config = loadConfig({ REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: join(tmp.path, 'data') });
    app = await createApp(config, log, { worker: true, allowPrivateRedis: false });
    crm = new LocalCrm(config.dataDir);
  });

  after(async () => {
    await app.close();
    await crm.close();
    await dropPrefix(prefix);
    tmp.cleanup();
  });

  let n = 0;
  beforeEach(() => {
    storage = new MemoryStorage(`mem://bucket-${++n}/`);
    deps = { storage, state: app.remoteState, submit: app.submit, maxBytes: 100_000, rejectedDir: join(tmp.path, 'data/rejected'), log };
    settle.clear();
  });

  const notesOf = (sessionKey: string) => (crm.get(TICKET)?.notes ?? []).filter((x) => x.sessionKey === sessionKey);

  it('takes metadata, skips recordings, transcripts and PDFs without downloading them, and takes nothing twice', async () => {
    storage.put('metadata-501.json', session(501));
    storage.put('metadata-502.txt', session(502)); // some tenants get .txt: the same JSON
    storage.put('call-501.mp3', 'ID3....');
    storage.put('chat-77.txt', 'Agent: hello');
    storage.put('email-5.pdf', '%PDF-1.7');
    storage.put('photo-1', 'binary', 'image/jpeg');
    const first = await sweep(deps, { settleMs: 0, settle });
    assert.deepEqual([first.taken, first.skipped, first.rejected, first.complete], [2, 4, 0, true]);
    assert.deepEqual(storage.reads.sort(), ['metadata-501.json', 'metadata-502.txt'], 'media were never downloaded');
    await waitFor('both notes', async () => notesOf('call-501').length === 1 && notesOf('call-502').length === 1);
    const again = await sweep(deps, { settleMs: 0, settle });
    assert.deepEqual([again.taken, again.skipped], [0, 0]);
    assert.equal(storage.reads.length, 2, 'the second sweep read nothing');
  });

  it('a rewritten object (a new generation) is a new version on the ticket', async () => {
    storage.put('metadata-503.json', session(503));
    await sweep(deps, { settleMs: 0, settle });
    await waitFor('first note', async () => notesOf('call-503').length === 1);
    storage.put('metadata-503.json', session(503, { updated_at: '2026-03-23T13:20:00.000-07:00' }));
    const r = await sweep(deps, { settleMs: 0, settle });
    assert.equal(r.taken, 1);
    await waitFor('second version noted', async () => notesOf('call-503').length === 2);
  });

  it('a worker killed after queueing but before remembering takes it again: a duplicate, one note', async () => {
    const entry = storage.put('metadata-504.json', session(504));
    const t = await takeEntry(deps, entry, { remember: false, finish: false }); // the crash: nothing remembered, nothing put away
    assert.equal(t.status, 'queued');
    const r = await sweep(deps, { settleMs: 0, settle });
    assert.equal(r.taken, 1);
    await waitFor('note', async () => notesOf('call-504').length === 1);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(notesOf('call-504').length, 1, 'one note, not two');
  });

  it('rejects a bad object: kept with its reason, put away as rejected', async () => {
    storage.after = 'move';
    storage.put('metadata-505.json', '{"id": 505, "call_type": "voice_call"');
    const r = await sweep(deps, { settleMs: 0, settle });
    assert.equal(r.rejected, 1);
    assert.deepEqual(storage.finished, [{ name: 'metadata-505.json', outcome: 'rejected' }]);
    assert.ok(storage.moved.has('rejected/metadata-505.json'));
    const kept = readdirSync(join(tmp.path, 'data/rejected')).filter((f) => f.includes('metadata-505'));
    assert.ok(kept.some((f) => f.endsWith('.reason.json')) && kept.some((f) => f.endsWith('.json') && !f.endsWith('.reason.json')), kept.join(', '));
  });

  it('with a settle time, a file still being written is taken only once its version held still', async () => {
    storage.put('metadata-506.json', session(506).slice(0, 40)); // the upload's first part
    let r = await sweep(deps, { settleMs: 150, settle });
    assert.deepEqual([r.taken, r.rejected, r.pending], [0, 0, 1]);
    storage.put('metadata-506.json', session(506)); // the rest arrives: a new version
    r = await sweep(deps, { settleMs: 150, settle });
    assert.deepEqual([r.taken, r.pending], [0, 1], 'changed since the last look: waits again');
    await new Promise((res) => setTimeout(res, 200));
    r = await sweep(deps, { settleMs: 150, settle });
    assert.deepEqual([r.taken, r.rejected, r.pending], [1, 0, 0]);
  });

  it('the ledger stays bounded: what a complete sweep no longer sees leaves it', async () => {
    const entries = Array.from({ length: 250 }, (_, i) => storage.put(`misc/${i}.mp3`, 'ID3'));
    const member = (e: { name: string; version: string }) => `${e.name}#${e.version}`;
    await sweep(deps, { settleMs: 0, settle });
    assert.equal((await app.remoteState.known(storage.label, entries.map(member))).size, 250);
    for (const e of entries.slice(0, 200)) storage.objects.delete(e.name);
    await sweep(deps, { settleMs: 0, settle });
    assert.equal((await app.remoteState.known(storage.label, entries.slice(0, 200).map(member))).size, 0, 'the deleted ones are forgotten');
    assert.equal((await app.remoteState.known(storage.label, entries.slice(200).map(member))).size, 50, 'the ones still there are kept');
    assert.equal((await sweep(deps, { settleMs: 0, settle })).skipped, 0, 'and not taken again');
  });

  it('the poller: one worker sweeps at a time; a notified object is taken once; health says how it went', async () => {
    storage.put('metadata-507.json', session(507));
    const one = startRemotePoller(deps, { intervalMs: 60_000, settleMs: 0, log });
    const two = startRemotePoller({ ...deps }, { intervalMs: 60_000, settleMs: 0, log });
    try {
      await waitFor('first sweep', async () => one.health().state !== 'starting' && two.health().state !== 'starting');
      assert.deepEqual([one.health().state, two.health().state].sort(), ['standby', 'watching']);
      const notified = storage.put('metadata-508.json', session(508));
      const [a, b] = [one, two].map((p) => p.take(notified));
      assert.deepEqual(await Promise.all([a, b]), ['ack', 'ack']);
      await waitFor('both notes', async () => notesOf('call-507').length === 1 && notesOf('call-508').length === 1);
      await new Promise((res) => setTimeout(res, 300));
      assert.equal(notesOf('call-508').length, 1, 'taken by one, or a duplicate the queue recognised');
      const h = one.health().state === 'watching' ? one.health() : two.health();
      assert.ok(h.lastOkAt !== null && h.taken >= 1, JSON.stringify(h));
      assert.ok(one.healthy() && two.healthy());
      const saved = await app.remoteState.health();
      assert.ok(saved.some((s) => s.source === storage.label), 'saved for `status` on other machines');
    } finally {
      await one.close();
      await two.close();
    }
  });
});
