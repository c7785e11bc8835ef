// What the status store's writes cost Redis: N events recorded as the worker records them
// (batches of one turn of the event loop, B events each, one script call per 256), against a
// private redis-server started for this run, so that INFO commandstats counts only ours.
// Prints Redis's time in the script per event (commandstats usec) and the wall time, then
// what the admin console's reads take over what was recorded. The events: 15,000 sessions
// (N = 30,000), two events each, 3,000 tickets, a code on retries and failures.
//
//   sh scripts/node.sh bench/status-store.ts [--n 10000] [--batch 250]
//
// Measured on a shared 2-core machine, Redis 7.0, N = 30,000, the best of six runs each:
// 7.7 µs per event before the console's index, ticket sets and counters, 12.0 µs with them
// (without tickets on the events: 7.1 and 9.1). The ticket sets are most of the difference:
// nearly every event of a call is on a ticket of its own, so one SADD and one EXPIRE each.
// The index and the counters take a few commands per call (one ZADD of all its sessions), yet
// about 2 µs per event (the ZADD's inserts). search: the newest 50 in 3 ms; 15,000 entries
// looked at (a state no session is in) in 180 ms. activity: 1 ms.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { connectClient, ping } from '../src/store/redis.ts';
import { StatusStore } from '../src/store/status-store.ts';
import type { SessionState } from '../src/store/status-store.ts';
import { freePort, stopChild, tempDir, waitFor } from '../test/helpers/env.ts';

const { values } = parseArgs({ options: { n: { type: 'string', default: '10000' }, batch: { type: 'string', default: '250' } } });
const N = Number(values.n);
const B = Number(values.batch);
const port = await freePort();
const dir = tempDir('ccai-bench-status');
const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir.path], { stdio: 'ignore' });
try {
  const url = `redis://127.0.0.1:${port}`;
  await waitFor('the bench redis-server', () => ping(url, 500), 10_000);
  const redis = await connectClient(url);
  const store = new StatusStore(redis, '{bench}');
  const states: SessionState[] = ['queued', 'delivered', 'delivered', 'retrying', 'failed'];
  // a warm-up turn loads the script
  await store.record('call-0', { state: 'queued', version: null, ticket: null, reason: null, code: null, source: 'bench', jobId: null });
  const usec = async () => Number(/cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(String(await redis.info('commandstats')))?.[1] ?? 0);
  const before = await usec();
  const t0 = performance.now();
  for (let i = 0; i < N; i += B) {
    const turn: Array<Promise<void>> = [];
    for (let j = i; j < Math.min(N, i + B); j++) {
      const state = states[j % states.length]!;
      turn.push(
        store.record(`call-${1 + (j % (N / 2))}`, {
          state,
          version: '2026-03-23T20:16:58.000Z',
          ticket: `500ak0000${String(j % 3000).padStart(6, '0')}AAA`,
          reason: state === 'delivered' ? null : 'something went wrong',
          code: state === 'failed' ? 'TARGET_NOT_FOUND' : state === 'retrying' ? 'TARGET_BUSY' : null,
          source: 'bench',
          jobId: `job-${j}`,
        }),
      );
    }
    await Promise.all(turn);
  }
  const wall = performance.now() - t0;
  const cpu = (await usec()) - before;
  console.log(`${N} events in turns of ${B}: Redis ${(cpu / N).toFixed(2)} µs per event in the script (${(cpu / 1000).toFixed(0)} ms in all), wall ${((wall * 1000) / N).toFixed(1)} µs per event (${wall.toFixed(0)} ms)`);
  let t = performance.now();
  const page = await store.search({ limit: 50 });
  console.log(`search, the newest 50: ${(performance.now() - t).toFixed(1)} ms (${page.scanned} looked at)`);
  t = performance.now();
  const failed = await store.search({ limit: 50, state: 'failed', code: 'TARGET_NOT_FOUND' });
  console.log(`search, 50 failed with a code: ${(performance.now() - t).toFixed(1)} ms (${failed.scanned} looked at)`);
  t = performance.now();
  const none = await store.search({ limit: 50, state: 'skipped' });
  console.log(`search, a state no session is in: ${(performance.now() - t).toFixed(1)} ms (${none.scanned} looked at, truncated: ${none.truncated})`);
  t = performance.now();
  await store.activity();
  console.log(`activity: ${(performance.now() - t).toFixed(1)} ms`);
  redis.disconnect();
} finally {
  await stopChild(server);
  dir.cleanup();
}
