// The admin console's queue board (src/queue/board.ts, bull-board) on a node:http server,
// against the real Redis: its page and the assets the page names, the queue and its counts
// through its API, an action refused when read-only and done when not, and a failing request
// answered without the error's words. Each test has its own key prefix.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { Worker } from 'bullmq';
import { createQueueBoard } from '../../src/queue/board.ts';
import { JOB_NAME } from '../../src/queue/jobs.ts';
import type { JobOutcome, SessionJobData } from '../../src/queue/jobs.ts';
import { SessionQueue } from '../../src/queue/session-queue.ts';
import { connectBlocking, connectClient } from '../../src/store/redis.ts';
import type { RedisClient } from '../../src/store/redis.ts';
import { TEST_REDIS_URL, dropPrefix, uniquePrefix, waitFor } from '../helpers/env.ts';

const BASE = '/admin/queues';
const QUEUE = 'sessions-local';
const DELIVERED = 'call-1418-1774297018000';
const FAILED = 'call-1419-1774297019000';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

function jobData(jobId: string): SessionJobData {
  const [kind, id] = jobId.split('-');
  return {
    source: `/inbox/metadata_${kind}-${id}.json`,
    document: '{}',
    sessionKey: `${kind}-${id}`,
    version: jobId.split('-')[2]!,
    ticketId: '500ak000024vx4uAAA',
    receivedAt: '2026-03-23T20:16:58.000Z',
  };
}

/**
 * A session queue with two finished jobs, one delivered and one failed (a worker ran them and
 * is gone), and a server whose handler hands /admin/queues/... to the board.
 */
async function start(opts: { readOnly: boolean }) {
  const prefix = uniquePrefix('board');
  const client = await connectClient(TEST_REDIS_URL);
  const blocking: RedisClient[] = [];
  const newBlocking = () => {
    const c = connectBlocking(TEST_REDIS_URL);
    blocking.push(c);
    return c;
  };
  const queue = new SessionQueue(client, newBlocking, QUEUE, { prefix, attempts: 1, backoffMs: 10, keepCompletedDays: 1 }, () => undefined);
  cleanups.push(async () => {
    await queue.close();
    client.disconnect();
    for (const c of blocking) c.disconnect();
    await dropPrefix(prefix);
  });

  for (const jobId of [DELIVERED, FAILED]) await queue.queue.add(JOB_NAME, jobData(jobId), { jobId });
  const worker = new Worker<SessionJobData, JobOutcome>(
    QUEUE,
    async (job) => {
      if (job.id === FAILED) throw new Error('TARGET_UNAVAILABLE: the CRM did not answer');
      return { status: 'delivered', reason: 'note added', sessionKey: job.data.sessionKey, version: job.data.version, ticketId: job.data.ticketId, target: 'local' };
    },
    { connection: newBlocking(), prefix },
  );
  try {
    await waitFor('both jobs finished', async () => {
      const c = await queue.counts();
      return c.completed === 1 && c.failed === 1;
    });
  } finally {
    await worker.close();
  }

  const errors: Error[] = [];
  const board = createQueueBoard([queue], { basePath: BASE, readOnly: opts.readOnly, onError: (err) => errors.push(err) });
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === BASE || path.startsWith(`${BASE}/`)) return board.handle(req, res);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  );
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { queue, errors, origin };
}

/** The board's answer to the UI's own listing call. */
interface QueuesAnswer {
  queues: Array<{
    name: string;
    counts: Record<string, number>;
    readOnlyMode: boolean;
    allowRetries: boolean;
    jobs: Array<{ id: string; failedReason: string }>;
  }>;
}

async function listing(origin: string, query = ''): Promise<QueuesAnswer> {
  const res = await fetch(`${origin}${BASE}/api/queues${query}`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return (await res.json()) as QueuesAnswer;
}

/** An action as the UI sends it (axios: PUT, no body, its page's Origin). */
function act(origin: string, path: string): Promise<Response> {
  return fetch(`${origin}${BASE}/api${path}`, { method: 'PUT', headers: { origin } });
}

describe('queue board (bull-board under /admin/queues)', () => {
  it('answers its page, the assets the page names (from this server only), and the queue with its counts', async () => {
    const { origin } = await start({ readOnly: true });

    const page = await fetch(`${origin}${BASE}`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const html = await page.text();
    assert.match(html, /<base href="\/admin\/queues\/" \/>/);
    assert.match(html, /<title>ccai-crm-sync queues<\/title>/);
    // relative to <base>: under /admin/queues/static/
    const scripts = [...html.matchAll(/<script defer src="(static\/js\/[^"]+\.js)"/g)].map((m) => m[1]!);
    const styles = [...html.matchAll(/<link href="(static\/css\/[^"]+\.css)" rel="stylesheet"/g)].map((m) => m[1]!);
    assert.ok(scripts.some((s) => /^static\/js\/main\.[0-9a-f]+\.js$/.test(s)), html);
    assert.equal(styles.length, 1, html);
    for (const asset of [...scripts, ...styles]) {
      const res = await fetch(new URL(asset, `${origin}${BASE}/`));
      assert.equal(res.status, 200, asset);
      assert.match(res.headers.get('content-type') ?? '', asset.endsWith('.js') ? /javascript/ : /^text\/css/, asset);
      assert.ok((await res.arrayBuffer()).byteLength > 1_000, asset);
    }
    // The one thing the template takes from elsewhere is a Google Fonts stylesheet; the policy
    // lets the browser load from this server only, so it does not even try.
    const external = [...html.matchAll(/(?:href|src)="(https?:[^"]+)"/g)].map((m) => new URL(m[1]!).host);
    assert.deepEqual(external, ['fonts.googleapis.com']);
    const policy = page.headers.get('content-security-policy') ?? '';
    assert.match(policy, /(^|; )default-src 'self'(;|$)/);
    assert.match(policy, /(^|; )style-src 'self' 'unsafe-inline'(;|$)/);
    assert.doesNotMatch(policy, /https?:|googleapis|\*/);
    // a page the UI links to (a queue's own) is the same page
    const deep = await fetch(`${origin}${BASE}/queue/${QUEUE}`);
    assert.equal(deep.status, 200);
    assert.match(await deep.text(), /<base href="\/admin\/queues\/" \/>/);

    const { queues } = await listing(origin);
    assert.equal(queues.length, 1);
    assert.equal(queues[0]!.name, QUEUE);
    assert.equal(queues[0]!.counts.completed, 1);
    assert.equal(queues[0]!.counts.failed, 1);
    assert.equal(queues[0]!.counts.waiting, 0);
    assert.equal(queues[0]!.counts.active, 0);
    const failed = await listing(origin, `?activeQueue=${QUEUE}&status=failed&page=1&jobsPerPage=10`);
    assert.deepEqual(
      failed.queues[0]!.jobs.map((j) => [j.id, j.failedReason]),
      [[FAILED, 'TARGET_UNAVAILABLE: the CRM did not answer']],
    );

    const missing = await fetch(`${origin}${BASE}/no-such-page`);
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /^text\/plain/);
  });

  it('read-only: the UI is told so, and every action is refused (405); the failed job stays failed', async () => {
    const { origin, queue } = await start({ readOnly: true });
    const { queues } = await listing(origin);
    assert.equal(queues[0]!.readOnlyMode, true);
    assert.equal(queues[0]!.allowRetries, false);

    for (const path of [`/queues/${QUEUE}/retry/failed`, `/queues/${QUEUE}/${FAILED}/retry`, `/queues/${QUEUE}/clean/failed`, `/queues/${QUEUE}/pause`, '/queues/pause']) {
      const res = await act(origin, path);
      assert.equal(res.status, 405, path);
      assert.equal(res.headers.get('allow'), 'GET, HEAD', path);
      assert.deepEqual(await res.json(), { error: { key: 'ERRORS.QUEUE_READ_ONLY' }, message: 'Method Not Allowed' }, path);
    }
    assert.equal(await queue.queue.getJobState(FAILED), 'failed');
    assert.equal(await queue.queue.isPaused(), false);
    const counts = await queue.counts();
    assert.equal(counts.failed, 1);
    assert.equal(counts.completed, 1);
  });

  it('not read-only: "retry all failed" takes the failed job out of failed', async () => {
    const { origin, queue } = await start({ readOnly: false });
    const before = await listing(origin);
    assert.equal(before.queues[0]!.readOnlyMode, false);
    assert.equal(before.queues[0]!.allowRetries, true);

    const res = await act(origin, `/queues/${QUEUE}/retry/failed`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { retried: 1, skipped: 0 });
    assert.equal(await queue.queue.getJobState(FAILED), 'waiting'); // no worker runs it here
    assert.equal(await queue.queue.getJobState(DELIVERED), 'completed');
    const { queues } = await listing(origin);
    assert.equal(queues[0]!.counts.failed, 0);
    assert.equal(queues[0]!.counts.waiting, 1);
  });

  it('a request that fails answers a short error: no stack, not the error’s words (a Redis address)', async () => {
    const env = process.env.NODE_ENV;
    // bull-board's own error answer carries the stack in development, express's error page too
    process.env.NODE_ENV = 'development';
    cleanups.push(() => {
      if (env === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = env;
    });
    const { origin, queue, errors } = await start({ readOnly: false });
    const secret = 'redis://:hunter2@10.9.8.7:6390';
    queue.queue.getJobCounts = async () => {
      throw new Error(`connect ECONNREFUSED ${secret}`);
    };

    const res = await fetch(`${origin}${BASE}/api/queues`);
    assert.equal(res.status, 500);
    const text = await res.text();
    assert.deepEqual(JSON.parse(text), { error: { key: 'ERRORS.INTERNAL_SERVER_ERROR' }, message: 'Internal Server Error' });
    assert.doesNotMatch(text, /hunter2|10\.9\.8\.7|ECONNREFUSED|\bat /);
    // the caller's log hears of it, with the words
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.message, `connect ECONNREFUSED ${secret}`);

    // outside the API (the page's routes): a client's bad path is a short text, not express's HTML page
    const bad = await fetch(`${origin}${BASE}/queue/%E0%A4%A`);
    assert.equal(bad.status, 400);
    assert.match(bad.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(await bad.text(), 'Bad Request\n');
    assert.equal(errors.length, 1); // a client's mistake is not ours to log
  });
});
