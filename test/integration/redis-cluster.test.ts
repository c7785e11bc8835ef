// The queue and every store on a real Redis Cluster (issue 15): three masters started for this
// file (test/helpers/redis-cluster.ts). BullMQ's scripts and ours touch several keys at once,
// which a cluster allows only within one hash slot: the prefix's hash tag ({ccai}) puts them
// all there. Each part checks that its keys really are on one node, in one slot, and the
// control case shows the same store failing with CROSSSLOT without the tag.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { createApp } from '../../src/app/app.ts';
import type { App } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { JobFailedError } from '../../src/queue/jobs.ts';
import type { RedisClient } from '../../src/store/connections.ts';
import { MailStore } from '../../src/store/mail-store.ts';
import type { SessionVersion } from '../../src/store/mail-store.ts';
import { RedisMailboxState } from '../../src/store/mailbox-state.ts';
import { connectClient, ensureRedis } from '../../src/store/redis.ts';
import { RedisSalesforceLedger, ledgerSinceKey } from '../../src/store/salesforce-ledger.ts';
import { RedisRemoteState, ledgerMember } from '../../src/store/remote-state.ts';
import { StatusStore } from '../../src/store/status-store.ts';
import type { SessionState } from '../../src/store/status-store.ts';
import { LocalCrm } from '../../src/targets/local/local-crm.ts';
import { FIXTURES, TEST_REDIS_URL, dropPrefix, runCli, startWorkerProcess, tempDir, uniquePrefix, waitFor } from '../helpers/env.ts';
import { FaultyTarget } from '../helpers/faulty-target.ts';
import { keysPerNode, ownerOf, startRedisCluster } from '../helpers/redis-cluster.ts';
import type { RedisCluster } from '../helpers/redis-cluster.ts';

const CALL_1418 = readFileSync(join(FIXTURES, 'sessions/metadata_call-1418.json'));
const CALL_987 = readFileSync(join(FIXTURES, 'sessions/metadata_call-987.json'));
const TICKET_1418 = '500ak000024vx4uAAA';
const TICKET_987 = '500ak00001nkg4MAAQ';
const log = createLogger('silent');

/** A prefix of its own, as a hash tag: `{ccaitest-…}`. */
const taggedPrefix = (label: string) => `{${uniquePrefix(label)}}`;

describe('on a Redis Cluster (three masters)', () => {
  let cluster: RedisCluster;
  let cleanups: Array<() => Promise<void> | void> = [];
  before(async () => {
    cluster = await startRedisCluster();
  });
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups = [];
  });
  after(async () => {
    await cluster?.stop();
  });

  const clusterEnv = (extra: Record<string, string> = {}) => ({ REDIS_CLUSTER: 'true', REDIS_URL: cluster.url, ...extra });

  /** Every key under `prefix` is on one master, in the slot of the prefix's tag; returns the keys. */
  async function assertOneSlot(prefix: string): Promise<string[]> {
    const { byNode, slots } = await keysPerNode(cluster, prefix);
    const keys = [...byNode.values()].flat();
    assert.ok(keys.length > 0, `keys under ${prefix}`);
    assert.equal(byNode.size, 1, `all on one node: ${[...byNode.keys()].join(', ')}`);
    assert.equal(slots.size, 1, `all in one slot: ${[...slots].join(', ')}`);
    return keys;
  }

  async function clusterClient(): Promise<RedisClient> {
    const c = await connectClient(cluster.url, { cluster: true });
    cleanups.push(() => c.disconnect());
    return c;
  }

  it('the cluster is one (its masters share the slots): a command across slots is refused, as the stores must never send one', async () => {
    const c = await clusterClient();
    assert.equal(await c.ping(), 'PONG');
    await assert.rejects(c.eval("return redis.call('MGET', KEYS[1], KEYS[2])", 2, 'ccai:a', 'ccai:b'), /CROSSSLOT/);
    assert.deepEqual(await c.eval("return redis.call('MGET', KEYS[1], KEYS[2])", 2, '{ccai}:a', '{ccai}:b'), [null, null]);
  });

  it('the app with the local CRM: delivers, recognises a duplicate, reads the history back, lists a failed job, and `replay` (the CLI) re-queues it', async () => {
    const prefix = taggedPrefix('capp');
    const tmp = tempDir('ccai-capp');
    const config = loadConfig({ ...clusterEnv({ QUEUE_PREFIX: prefix }), DATA_DIR: tmp.path, JOB_BACKOFF_MS: '50', WORKER_CONCURRENCY: '4' });
    assert.equal(config.QUEUE_PREFIX, prefix);
    let faulty: FaultyTarget | undefined;
    const app: App = await createApp(config, log, { worker: true, allowPrivateRedis: false, target: (faulty = new FaultyTarget(new LocalCrm(config.dataDir), 'TARGET_DELETED', 1)) });
    const crm = new LocalCrm(config.dataDir);
    cleanups.push(async () => {
      await app.close();
      await crm.close();
      tmp.cleanup();
    });
    assert.equal(app.redis.cluster, true);
    assert.equal(await app.ping(), true, 'ping (health) through the cluster');

    // a permanent failure: failed at once, listed with its code
    const first = await app.submit(CALL_1418, 'a.json');
    assert.equal(first.status, 'queued');
    await assert.rejects(app.queue.waitFor(first.jobId!), (err: JobFailedError) => err instanceof JobFailedError && err.failure.code === 'TARGET_DELETED');
    const failed = await app.queue.failed();
    assert.deepEqual(failed.map((f) => [f.sessionKey, f.code]), [['call-1418', 'TARGET_DELETED']]);
    assert.equal((await app.status.get('call-1418'))?.latest.state, 'failed');

    // the CLI against the same cluster, prefix and queue (DATA_DIR names the local CRM's queue)
    const cliEnv = clusterEnv({ QUEUE_PREFIX: prefix, DATA_DIR: config.dataDir });
    const listed = await runCli(['replay', '--list', '--json'], cliEnv);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual((JSON.parse(listed.stdout) as { failed: Array<{ sessionKey: string; code: string }> }).failed.map((f) => [f.sessionKey, f.code]), [['call-1418', 'TARGET_DELETED']]);
    const replayed = await runCli(['replay', '--json'], cliEnv);
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.equal((JSON.parse(replayed.stdout) as { replayed: unknown[] }).replayed.length, 1);
    // this process's worker picks the replayed job up
    await waitFor('the replayed job delivered', async () => crm.get(TICKET_1418)?.notes.length === 1);
    assert.equal(faulty!.calls, 2);
    assert.deepEqual(await app.queue.failed(), []);

    // the same file again: one job
    const again = await app.submit(CALL_1418, 'copy.json');
    assert.equal(again.status, 'duplicate');
    assert.equal(again.jobId, first.jobId);

    // another session, delivered; its history reads back, newest first
    const other = await app.submit(CALL_987, 'b.json');
    assert.equal((await app.queue.waitFor(other.jobId!)).status, 'delivered');
    assert.equal(crm.get(TICKET_987)?.notes.length, 1);
    const st = await app.status.get('call-987');
    assert.equal(st?.latest.state, 'delivered');
    assert.equal(st?.history[0]?.state, 'delivered');
    assert.ok(st?.history.some((e) => e.state === 'queued'), 'the queued event is in the history');
    const history1418 = (await app.status.get('call-1418'))!.history.map((e) => e.state);
    assert.deepEqual([history1418[0], history1418.includes('failed')], ['delivered', true]);

    const shown = await runCli(['status', 'call-1418', '--json'], cliEnv);
    assert.equal(shown.code, 0, shown.stderr);
    const s = JSON.parse(shown.stdout) as { found: boolean; latest: { state: string }; job: { state: string } };
    assert.deepEqual([s.found, s.latest.state, s.job.state], [true, 'delivered', 'completed']);
    assert.equal((await app.queue.counts()).completed, 2);

    // BullMQ's keys and the status store's, all on one node, in the tag's slot
    const keys = await assertOneSlot(prefix);
    assert.ok(keys.some((k) => k.startsWith(`${prefix}:${app.queue.name}:`)), 'the queue keys');
    assert.ok(keys.includes(`${prefix}:status:call-987:events`), 'the status store keys');
  });

  it('the stores: the mailbox state, the e-mail target’s claim, sent record and threads, the remote ledger and its lease, the status history', async () => {
    const prefix = taggedPrefix('cstore');
    const redis = await clusterClient();
    cleanups.push(() => dropPrefix(prefix, cluster.url, { cluster: true }));

    // status: several sessions in one script call (two keys each)
    const status = new StatusStore(redis, prefix);
    const event = (state: SessionState, reason: string) => ({ state, version: '2026-03-23T20:16:58.000Z', ticket: null, reason, code: null, source: 'test', jobId: null });
    await Promise.all([status.record('call-1', event('queued', 'a')), status.record('call-2', { ...event('queued', 'b'), ticket: TICKET_987 }), status.record('call-1', event('delivered', 'c'))]);
    assert.deepEqual((await status.get('call-1'))?.history.map((e) => e.reason), ['c', 'a']);
    assert.equal((await status.get('call-2'))?.latest.reason, 'b');
    // what the admin console reads, kept by the same call (the index, the ticket's set, the
    // counters) and read with pipelines and a script of their own
    assert.deepEqual((await status.search({ limit: 10 })).items.map((s) => `${s.session} ${s.state}`).sort(), ['call-1 delivered', 'call-2 queued']);
    assert.deepEqual((await status.search({ ticket: TICKET_987, limit: 10 })).items.map((s) => s.session), ['call-2']);
    assert.deepEqual((await status.activity()).lastHour, { queued: 2, delivered: 1 });
    await redis.del(`${prefix}:status:call-2`);
    assert.deepEqual((await status.search({ limit: 10 })).items.map((s) => s.session), ['call-1']);
    assert.equal(await redis.zscore(`${prefix}:status:index`, 'call-2'), null, 'the gone hash’s entry dropped');

    // the e-mail claim: three keys in one script; markSent: a MULTI with two scripts in it
    const mail = new MailStore(redis, prefix, { claimLeaseMs: 5_000 });
    const v1Ms = Date.parse('2026-03-23T20:16:58Z');
    const v2Ms = Date.parse('2026-03-23T21:02:10Z');
    const id = (ms: number) => `<ccai.call-1418.${ms}@contact.example.com>`;
    const version = (ms: number): SessionVersion => ({ ticketId: TICKET_1418, sessionKey: 'call-1418', ms });
    const record = (ms: number) => ({ sessionKey: 'call-1418', version: new Date(ms).toISOString(), ticketId: TICKET_1418, jobId: null, sentAt: new Date().toISOString() });
    const mine = version(v1Ms);
    assert.deepEqual(await mail.claim(id(v1Ms), mine), { state: 'claimed', interrupted: false });
    assert.equal((await mail.claim(id(v2Ms), version(v2Ms))).state, 'busy', 'one version of a session at a time');
    // released (the send failed): claimed again, not as interrupted
    await mail.release(id(v1Ms), mine);
    const retry = version(v1Ms);
    assert.deepEqual(await mail.claim(id(v1Ms), retry), { state: 'claimed', interrupted: false });
    const hold = mail.holdClaim(id(v1Ms), retry, () => assert.fail('the claim was lost'));
    await mail.markSent(id(v1Ms), record(v1Ms), retry);
    hold.stop();
    assert.equal((await mail.claim(id(v1Ms), version(v1Ms))).state, 'sent');
    assert.equal((await mail.sent(id(v1Ms)))?.sessionKey, 'call-1418');
    assert.deepEqual(await mail.threadIds(TICKET_1418), [id(v1Ms)]);
    await mail.remember(TICKET_1418, '<notification-1@helpdesk.example.com>', ['[helpdesk #1418]']);
    assert.deepEqual(await mail.threadIds(TICKET_1418), ['<notification-1@helpdesk.example.com>', id(v1Ms)]);
    assert.deepEqual(await mail.tokens(TICKET_1418), ['[helpdesk #1418]']);
    const returned = { messageId: id(v1Ms), baseId: id(v1Ms), ticketId: TICKET_1418 };
    await mail.markReturned('job-1', returned);
    await mail.forgetReturned('job-1', returned);
    assert.equal((await mail.returned()).size, 0);
    assert.equal(await mail.generation(id(v1Ms)), 1);
    assert.deepEqual(await mail.threadIds(TICKET_1418), ['<notification-1@helpdesk.example.com>']);

    // the mailbox reader's place and lease
    const mailbox = new RedisMailboxState(redis, prefix);
    assert.equal(await mailbox.lease('acct', 'INBOX', 'w1', 5_000), true);
    assert.equal(await mailbox.lease('acct', 'INBOX', 'w2', 5_000), false, 'held by w1');
    await mailbox.reset('acct', 'INBOX', '42', 10);
    await mailbox.advance('acct', 'INBOX', '42', 12);
    await mailbox.advance('acct', 'INBOX', '41', 99);
    assert.deepEqual(await mailbox.get('acct', 'INBOX'), { uidValidity: '42', lastUid: 12, since: null });
    await mailbox.unlease('acct', 'INBOX', 'w1');
    assert.equal(await mailbox.lease('acct', 'INBOX', 'w2', 5_000), true);

    // the remote ledger and the sweep's lease
    const remote = new RedisRemoteState(redis, prefix);
    const a = ledgerMember('a.json', '1');
    const b = ledgerMember('b.json', '1');
    await remote.remember('gs://bucket/', [a, b], 1_000);
    assert.deepEqual([...(await remote.known('gs://bucket/', [a, b, ledgerMember('c.json', '1')]))].sort(), [a, b]);
    await remote.touch('gs://bucket/', [a], 2_000);
    assert.equal(await remote.forgetBefore('gs://bucket/', 2_000), 1);
    assert.deepEqual([...(await remote.known('gs://bucket/', [a, b]))], [a]);
    assert.equal(await remote.lease('gs://bucket/', 'w1', 5_000), true);
    assert.equal(await remote.lease('gs://bucket/', 'w2', 5_000), false);
    await remote.unlease('gs://bucket/', 'w1');
    assert.equal(await remote.lease('gs://bucket/', 'w2', 5_000), true);

    const keys = await assertOneSlot(prefix);
    for (const part of ['status', 'email', 'imap', 'remote']) assert.ok(keys.some((k) => k.startsWith(`${prefix}:${part}:`)), `${part} keys`);
  });

  it('the Salesforce ledger: claims, renews and settles a flush of versions and Cases in one script each, all on one slot', async () => {
    const prefix = taggedPrefix('cledger');
    const redis = await clusterClient();
    cleanups.push(() => dropPrefix(prefix, cluster.url, { cluster: true }));
    await redis.set(ledgerSinceKey(prefix), String(Date.now() - 86_400_000));
    const ledger = new RedisSalesforceLedger(redis, prefix, { leaseMs: 5_000, keepMs: 30 * 86_400_000 });
    const t = Date.now() - 15 * 60_000;
    const items = Array.from({ length: 50 }, (_, i) => ({ callObject: `call-${i}@${new Date(t + i).toISOString()}`, versionMs: t + i, caseId: i % 2 ? `500ak0000000${String(i).padStart(3, '0')}AAA` : null }));
    const claims = await ledger.claim('w1', items);
    assert.ok(claims.every((c) => c.state === 'fresh'), JSON.stringify(claims.slice(0, 2)));
    assert.ok((await ledger.claim('w2', items)).every((c) => c.state === 'busy'), 'another worker is told busy');
    await ledger.renew('w1', items);
    await ledger.settle('w1', items.map((it) => ({ ...it, version: 'written' as const, wasFresh: true, case: { state: it.caseId ? ('written' as const) : ('none' as const) } })));
    assert.ok((await ledger.claim('w2', items)).every((c) => c.state === 'done'));
    const keys = await assertOneSlot(prefix);
    assert.ok(keys.some((k) => k.startsWith(`${prefix}:sf:case:`)) && keys.some((k) => k.startsWith(`${prefix}:sf:v:`)));
  });

  it('control: the same status store with a prefix without a hash tag fails with CROSSSLOT (what the tag prevents)', async () => {
    const redis = await clusterClient();
    const store = new StatusStore(redis, uniquePrefix('notag'));
    await assert.rejects(store.record('call-1', { state: 'queued', version: null, ticket: null, reason: null, code: null, source: null, jobId: null }), /CROSSSLOT/);
  });

  it('the CLI: `run --json` with REDIS_CLUSTER=true and two seeds (not the node of its keys), on the default prefix {ccai}; then `status --json`', async () => {
    const tmp = tempDir('ccai-crun');
    cleanups.push(async () => {
      await dropPrefix('{ccai}', cluster.url, { cluster: true });
      tmp.cleanup();
    });
    const folder = join(tmp.path, 'drop');
    mkdirSync(folder);
    for (const f of ['metadata_call-1418.json', 'metadata_call-987.json']) copyFileSync(join(FIXTURES, 'sessions', f), join(folder, f));
    // seeds that leave out the node holding {ccai}'s slot: the client must find it from them
    const owner = await ownerOf(cluster, '{ccai}');
    const seeds = cluster.nodes.filter((n) => n !== owner);
    assert.equal(seeds.length, 2);
    const env = clusterEnv({ REDIS_URL: seeds.join(','), DATA_DIR: join(tmp.path, 'data') });
    const r = await runCli(['run', '--json', folder], env, { timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.stderr);
    const results = (JSON.parse(r.stdout) as { results: Array<{ session: string; status: string }> }).results;
    assert.deepEqual(results.map((x) => [x.session, x.status]).sort(), [['call-1418', 'delivered'], ['call-987', 'delivered']]);

    const st = await runCli(['status', '--json'], env);
    assert.equal(st.code, 0, st.stderr);
    const overview = JSON.parse(st.stdout) as { queue: { name: string; completed: number }; ok: boolean };
    assert.equal(overview.ok, true);
    assert.equal(overview.queue.completed, 2);

    // the default prefix is {ccai}: the keys are there, on one node, and none under ccai:
    const keys = await assertOneSlot('{ccai}');
    assert.ok(keys.some((k) => k.startsWith(`{ccai}:${overview.queue.name}:`)), 'the queue under {ccai}');
    assert.equal((await keysPerNode(cluster, 'ccai')).byNode.size, 0, 'nothing under the single-Redis default ccai');
  });

  it('the CLI: `worker` on the cluster answers /healthz with Redis up and delivers what lands in its inbox', async () => {
    const prefix = taggedPrefix('cwork');
    const tmp = tempDir('ccai-cwork');
    const inbox = join(tmp.path, 'inbox');
    mkdirSync(inbox);
    cleanups.push(() => tmp.cleanup());
    const w = await startWorkerProcess(clusterEnv({ QUEUE_PREFIX: prefix, DATA_DIR: join(tmp.path, 'data'), INBOX_DIR: inbox, INBOX_POLL_MS: '200', INBOX_SETTLE_MS: '0' }));
    cleanups.push(async () => {
      await w.stop();
    });
    const health = (await (await fetch(`http://127.0.0.1:${w.port}/healthz`)).json()) as { ok: boolean; redis: string; queue: Record<string, number> | null };
    assert.deepEqual([health.ok, health.redis, health.queue === null], [true, 'up', false]);
    writeFileSync(join(inbox, 'call-987.json'), CALL_987);
    const status = new StatusStore(await clusterClient(), prefix);
    const delivered = await waitFor('the inbox file delivered', async () => {
      const s = await status.get('call-987');
      return s?.latest.state === 'delivered' ? s : null;
    });
    assert.equal(delivered.latest.ticket, TICKET_987);
    await assertOneSlot(prefix);
  });

  it('refuses a cluster without a hash tag in QUEUE_PREFIX and a REDIS_CLUSTER pointed at a single Redis, saying what to fix; warns of a cluster node taken for a single Redis', async () => {
    const tmp = tempDir('ccai-cbad');
    cleanups.push(() => tmp.cleanup());
    const noTag = await runCli(['status'], clusterEnv({ QUEUE_PREFIX: 'ccai', DATA_DIR: tmp.path }));
    assert.equal(noTag.code, 2, noTag.stderr);
    assert.match(noTag.stderr, /QUEUE_PREFIX: with REDIS_CLUSTER=true it must hold a hash tag.*set QUEUE_PREFIX=\{ccai\}/);
    // the default, when QUEUE_PREFIX is not set, has one
    assert.equal(loadConfig(clusterEnv()).QUEUE_PREFIX, '{ccai}');
    assert.equal(loadConfig({ REDIS_URL: cluster.nodes[0]! }).QUEUE_PREFIX, 'ccai', 'unchanged on a single Redis');

    // the machine's single Redis is no cluster node: said so, not retried for ever
    await assert.rejects(ensureRedis({ url: TEST_REDIS_URL, cluster: true, dataDir: tmp.path, log, allowPrivate: false }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.match(err.message, /REDIS_CLUSTER=true, but the Redis at .* is not a cluster node/);
      return true;
    });
    // one node of the cluster as a single Redis (REDIS_CLUSTER not set): started, with a warning
    const lines: Array<{ level: number; msg: string }> = [];
    const h = await ensureRedis({ url: cluster.nodes[0]!, dataDir: tmp.path, log: createLogger('warn', { write: (l: string) => void lines.push(JSON.parse(l)) }), allowPrivate: false });
    assert.equal(h.cluster, false);
    assert.ok(lines.some((l) => /is a Redis Cluster node, but REDIS_CLUSTER is not set.*MOVED/.test(l.msg)), JSON.stringify(lines));
    // no seed answering: the queue is unavailable, naming the seeds
    await assert.rejects(ensureRedis({ url: 'redis://127.0.0.1:1,redis://127.0.0.1:2', cluster: true, dataDir: tmp.path, log, allowPrivate: true }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'QUEUE_UNAVAILABLE');
      assert.match(err.message, /cannot reach any seed node of the Redis Cluster \(REDIS_URL: redis:\/\/127\.0\.0\.1:1, redis:\/\/127\.0\.0\.1:2\)/);
      return true;
    });
  });
});

describe('on a Redis Cluster with a password, and on one with TLS only', () => {
  /** A folder with one session in it, and a DATA_DIR, for `run`. */
  function runFolder(): { folder: string; dataDir: string; cleanup(): void } {
    const tmp = tempDir('ccai-csec');
    const folder = join(tmp.path, 'drop');
    mkdirSync(folder);
    copyFileSync(join(FIXTURES, 'sessions/metadata_call-987.json'), join(folder, 'metadata_call-987.json'));
    return { folder, dataDir: join(tmp.path, 'data'), cleanup: tmp.cleanup };
  }

  /** The seeds without the node that holds `prefix`'s slot: the client finds it, with the same login and TLS. */
  async function seedsAvoiding(cluster: RedisCluster, prefix: string): Promise<string> {
    const owner = await ownerOf(cluster, prefix);
    const seeds = cluster.nodes.filter((n) => n !== owner);
    assert.equal(seeds.length, 2);
    return seeds.join(',');
  }

  it('a password on every node: given once in the seeds, it reaches the nodes found; a wrong or missing one is a setting to fix', async () => {
    const password = 'cluster-secret-1418';
    const cluster = await startRedisCluster({ password });
    const dir = runFolder();
    try {
      const prefix = taggedPrefix('cpass');
      const env = { REDIS_CLUSTER: 'true', REDIS_URL: await seedsAvoiding(cluster, prefix), QUEUE_PREFIX: prefix, DATA_DIR: dir.dataDir };
      const r = await runCli(['run', '--json', dir.folder], env, { timeoutMs: 90_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual((JSON.parse(r.stdout) as { results: Array<{ status: string }> }).results.map((x) => x.status), ['delivered']);
      assert.equal((await keysPerNode(cluster, prefix)).byNode.size, 1);

      const wrong = await runCli(['status', '--json'], { ...env, REDIS_URL: env.REDIS_URL.replaceAll(password, 'not-it') });
      assert.equal(wrong.code, 2, wrong.stderr);
      assert.match(wrong.stderr, /refused the password \(REDIS_URL\)/);
      assert.doesNotMatch(wrong.stderr, /not-it|cluster-secret/);
      const none = await runCli(['status', '--json'], { ...env, REDIS_URL: env.REDIS_URL.replaceAll(`:${password}@`, '') });
      assert.equal(none.code, 2, none.stderr);
      assert.match(none.stderr, /requires a password \(REDIS_URL\)/);
    } finally {
      dir.cleanup();
      await cluster.stop();
    }
  });

  it('TLS only (rediss://): the seeds and the nodes found are reached over TLS', async () => {
    const cluster = await startRedisCluster({ tls: true });
    const dir = runFolder();
    try {
      const prefix = taggedPrefix('ctls');
      const seeds = await seedsAvoiding(cluster, prefix);
      assert.match(seeds, /^rediss:\/\//);
      const env = { REDIS_CLUSTER: 'true', REDIS_URL: seeds, QUEUE_PREFIX: prefix, DATA_DIR: dir.dataDir, NODE_EXTRA_CA_CERTS: cluster.caFile! };
      const r = await runCli(['run', '--json', dir.folder], env, { timeoutMs: 90_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual((JSON.parse(r.stdout) as { results: Array<{ status: string }> }).results.map((x) => x.status), ['delivered']);
      assert.equal((await keysPerNode(cluster, prefix)).byNode.size, 1);
      // the same seeds over plain TCP: no node answers (TLS only), said so
      const plain = await runCli(['status', '--json'], { ...env, REDIS_URL: seeds.replaceAll('rediss://', 'redis://') });
      assert.equal(plain.code, 3, plain.stderr);
      assert.match(plain.stderr, /cannot reach any seed node of the Redis Cluster/);
    } finally {
      dir.cleanup();
      await cluster.stop();
    }
  });
});
