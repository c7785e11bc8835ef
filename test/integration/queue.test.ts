// The queue against the real Redis: duplicates, versions out of order, retries, permanent
// failures and replay, graceful shutdown. Each test has its own key prefix and data folder.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import type { ErrorCode } from '../../src/errors.ts';
import { JobFailedError } from '../../src/queue/jobs.ts';
import { createLogger } from '../../src/logger.ts';
import { createApp } from '../../src/app/app.ts';
import type { App } from '../../src/app/app.ts';
import { LocalCrm } from '../../src/targets/local/local-crm.ts';
import type { Target } from '../../src/targets/target.ts';
import { call1418Version } from '../helpers/documents.ts';
import { FIXTURES, TEST_REDIS_URL, dropPrefix, tempDir, uniquePrefix, waitFor } from '../helpers/env.ts';
import { FaultyTarget } from '../helpers/faulty-target.ts';

const CALL_1418 = readFileSync(join(FIXTURES, 'sessions/metadata_call-1418.json'));
const TICKET = '500ak000024vx4uAAA';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function start(opts: { target?: (dataDir: string) => Target; env?: Record<string, string> } = {}) {
  const prefix = uniquePrefix('q');
  const tmp = tempDir('ccai-q');
  const config = loadConfig({ REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: tmp.path, JOB_BACKOFF_MS: '50', WORKER_CONCURRENCY: '4', ...opts.env });
  const app: App = await createApp(config, createLogger('silent'), {
    worker: true,
    allowPrivateRedis: false,
    target: opts.target?.(config.dataDir),
  });
  const crm = new LocalCrm(config.dataDir);
  cleanups.push(async () => {
    await app.close();
    await crm.close();
    await dropPrefix(prefix);
    tmp.cleanup();
  });
  return { app, crm, config };
}

describe('queue and local CRM', () => {
  it('the same file twice is one job and one note', async () => {
    const { app, crm } = await start();
    await app.worker!.pause(); // both copies arrive while the first is still waiting
    const a = await app.submit(CALL_1418, 'a.json');
    const b = await app.submit(CALL_1418, 'copy-of-a.json');
    app.worker!.resume();
    assert.equal(a.status, 'queued');
    assert.equal(b.status, 'duplicate');
    assert.equal(a.jobId, b.jobId);
    const outcome = await app.queue.waitFor(a.jobId!);
    assert.equal(outcome.status, 'delivered');
    assert.equal(crm.get(TICKET)?.notes.length, 1);
    // The same file once more, after it was delivered: still the one job.
    const c = await app.submit(CALL_1418, 'again.json');
    assert.equal(c.status, 'duplicate');
    assert.match(c.reason ?? '', /completed/);
    assert.equal(crm.get(TICKET)?.notes.length, 1);
  });

  it('a newer version adds its note and replaces the fields; an older one after it changes nothing', async () => {
    const { app, crm } = await start();
    const v1 = await app.submit(CALL_1418, 'v1.json');
    await app.queue.waitFor(v1.jobId!);
    const v3 = await app.submit(call1418Version(30, 'customer called back, resolved'), 'v3.json');
    assert.equal((await app.queue.waitFor(v3.jobId!)).status, 'delivered');
    const v2 = await app.submit(call1418Version(10, 'older correction that arrived late'), 'v2.json');
    const late = await app.queue.waitFor(v2.jobId!);
    assert.equal(late.status, 'skipped');
    assert.match(late.reason, /superseded/);
    const rec = crm.get(TICKET)!;
    assert.equal(rec.notes.length, 2);
    assert.match(String(rec.fields.disposition_notes), /customer called back, resolved/);
    assert.doesNotMatch(JSON.stringify(rec), /older correction/);
  });

  it('retries a transient CRM error with backoff and then delivers', async () => {
    let faulty: FaultyTarget | undefined;
    const { app, crm } = await start({
      target: (dir) => (faulty = new FaultyTarget(new LocalCrm(dir), 'TARGET_UNAVAILABLE', 2)),
    });
    const s = await app.submit(CALL_1418, 'a.json');
    const outcome = await app.queue.waitFor(s.jobId!);
    assert.equal(outcome.status, 'delivered');
    assert.equal(faulty!.calls, 3);
    assert.equal(crm.get(TICKET)?.notes.length, 1);
  });

  it('fails a permanent error at once, keeps the reason, and replays after a fix', async () => {
    let faulty: FaultyTarget | undefined;
    const { app, crm } = await start({
      target: (dir) => (faulty = new FaultyTarget(new LocalCrm(dir), 'TARGET_DELETED', 1)),
    });
    const s = await app.submit(CALL_1418, 'a.json');
    await assert.rejects(app.queue.waitFor(s.jobId!), /TARGET_DELETED/);
    // the code travels as a typed field (the job's data), the failed reason stays text for people
    await assert.rejects(app.queue.waitFor(s.jobId!), (err: JobFailedError) => err instanceof JobFailedError && err.failure.code === 'TARGET_DELETED' && /^injected/.test(err.failure.message));
    assert.deepEqual((await app.queue.getJob(s.jobId!))?.data.failure, { code: 'TARGET_DELETED', message: `injected: the CRM answered TARGET_DELETED for ${TICKET}` });
    assert.equal(faulty!.calls, 1, 'not retried');
    const failed = await app.queue.failed();
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.sessionKey, 'call-1418');
    assert.equal(failed[0]!.code, 'TARGET_DELETED');
    assert.match(failed[0]!.reason, /^TARGET_DELETED: injected/);
    const st = await app.status.get('call-1418');
    assert.equal(st?.latest.state, 'failed');
    assert.equal(st?.latest.code, 'TARGET_DELETED');
    assert.equal(crm.get(TICKET), null);

    // Sending the same file again after a failure queues it again (the cause may be fixed)...
    faulty!.failures = 1;
    const again = await app.submit(CALL_1418, 'a-again.json');
    assert.equal(again.status, 'queued');
    assert.equal(again.previous, 'failed');
    await assert.rejects(app.queue.waitFor(again.jobId!), /TARGET_DELETED/);
    // ...and `replay` re-queues what failed. Two replays at once (two admins, the console and
    // the CLI): the job is replayed once, and neither fails on the one the other took.
    const both = await Promise.all([app.queue.replay(), app.queue.replay()]);
    assert.equal(both[0].length + both[1].length, 1);
    await waitFor('replayed job delivered', async () => crm.get(TICKET)?.notes.length === 1);
    assert.equal((await app.queue.failed()).length, 0);
  });

  /** Submits a job the target fails once as given; resolves when the worker holds the queue: its remaining hold, and the job. */
  async function heldBy(code: ErrorCode, options: { retryAfterMs?: number; hold?: boolean } = {}) {
    let faulty: FaultyTarget | undefined;
    const { app } = await start({ target: (dir) => (faulty = new FaultyTarget(new LocalCrm(dir), code, 1, options)) });
    const s = await app.submit(CALL_1418, 'a.json');
    await waitFor('the job tried and put back', async () => faulty!.calls > 0 && (await app.queue.getJob(s.jobId!))?.isWaiting());
    const job = (await app.queue.getJob(s.jobId!))!;
    return { ttl: await app.queue.queue.getRateLimitTtl(), job, calls: faulty!.calls };
  }

  for (const [code, ms] of [
    ['TARGET_AUTH', 5 * 60_000],
    ['TARGET_RATE_LIMITED', 15 * 60_000],
  ] as const) {
    it(`${code} holds the queue for the time the registry declares, and puts the job back without using an attempt`, async () => {
      const { ttl, job, calls } = await heldBy(code);
      assert.ok(ttl > ms - 30_000 && ttl <= ms, `held for ${ttl} ms`);
      assert.equal(calls, 1);
      assert.equal(job.attemptsMade, 0, 'no attempt used');
      assert.equal(job.failedReason, undefined);
    });
  }

  it('the time the target gives wins over the declared hold', async () => {
    const { ttl } = await heldBy('TARGET_RATE_LIMITED', { retryAfterMs: 120_000 });
    assert.ok(ttl > 90_000 && ttl <= 120_000, `held for ${ttl} ms`);
  });

  it('an error that does not hold by itself (one record’s) fails like any other: TARGET_AUTH at once', async () => {
    const { app } = await start({ target: (dir) => new FaultyTarget(new LocalCrm(dir), 'TARGET_AUTH', 1, { hold: false }) });
    const s = await app.submit(CALL_1418, 'a.json');
    await assert.rejects(app.queue.waitFor(s.jobId!), /TARGET_AUTH: injected/);
    // (the limiter BullMQ needs for the manual hold keeps a key of one second for every job)
    assert.ok((await app.queue.queue.getRateLimitTtl()) <= 1_000, 'not held');
  });

  it('writes the same note when jobs are prepared on a job thread (JOB_THREADS)', async () => {
    const { app, crm } = await start({ env: { JOB_THREADS: '1' } });
    const s = await app.submit(CALL_1418, 'a.json');
    assert.equal((await app.queue.waitFor(s.jobId!)).status, 'delivered');
    const n = crm.get(TICKET)!.notes[0]!;
    assert.match(n.text, /No Resolution - followup needed/);
    assert.match(n.html, /<strong>Disposition: <\/strong>/);
    assert.match(n.subject, /^Call 1418/);
  });

  it('shutting down lets an active job finish instead of losing it', async () => {
    const { app, crm } = await start({ env: { LOCAL_CRM_LATENCY_MS: '800' } });
    const s = await app.submit(CALL_1418, 'a.json');
    await waitFor('job active', async () => (await app.queue.getJob(s.jobId!))?.isActive());
    await app.worker!.close();
    const job = await app.queue.getJob(s.jobId!);
    assert.equal(await job?.getState(), 'completed');
    assert.equal(crm.get(TICKET)?.notes.length, 1);
  });
});
