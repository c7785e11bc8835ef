// Benchmark: N generated sessions through the real queue (Redis) and worker into the
// Salesforce test double with a fixed per-request latency, batched target against a naive
// baseline that makes one request per record. One run, one machine; reports ratios and counts.
//
//   npm run bench                      # N = 1,000 and 20,000, 50 ms latency
//   npm run bench -- --n 5000 --latency 50 --only batched
//
// Needs Redis (REDIS_URL or 127.0.0.1:6379). Uses its own key prefix and removes it after.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Connection } from 'jsforce';
import { loadConfig } from '../src/config.ts';
import { toSyncError } from '../src/errors.ts';
import type { TicketUpdate, RenderedNote } from '../src/domain/types.ts';
import { createLogger } from '../src/logger.ts';
import { createApp } from '../src/app/app.ts';
import { salesforceAuthOf } from '../src/app/targets.ts';
import { DEFAULT_MAPPING } from '../src/targets/salesforce/mapping.ts';
import { planWrite } from '../src/targets/salesforce/plan.ts';
import { quoteAll } from '../src/targets/salesforce/salesforce-target.ts';
import { connect } from '../src/targets/salesforce/connection.ts';
import { fromJsforceError } from '../src/targets/salesforce/errors.ts';
import type { ApplyResult, Target } from '../src/targets/target.ts';
import { fork } from 'node:child_process';
import { dropPrefix } from '../test/helpers/env.ts';
import { RemoteDouble } from './remote-double.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', multiple: true },
    latency: { type: 'string', default: '50' },
    only: { type: 'string' },
    concurrency: { type: 'string', default: '400' },
    submitters: { type: 'string', default: '32' },
    child: { type: 'string' },
    'gc-probe': { type: 'boolean', default: false },
    // V8 limits for the worker process, as the Dockerfile sets them: without them V8 keeps
    // hundreds of MB of garbage around under load (the retained heap is ~50 MB, see --gc-probe).
    'node-flags': { type: 'string', default: '--max-old-space-size=160 --max-semi-space-size=8' },
  },
});
const SIZES = (values.n ?? ['1000', '20000']).map(Number);
const LATENCY = Number(values.latency);
const CONCURRENCY = Number(values.concurrency);
const SUBMITTERS = Number(values.submitters);

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TEMPLATE = JSON.parse(readFileSync(new URL('../samples/metadata_call-1418.json', import.meta.url), 'utf8')) as Record<string, unknown>;

/** One request per record: look for the Task, then create it. What a straightforward integration does. */
class NaiveTarget implements Target {
  readonly name = 'salesforce';
  private readonly conn: Connection;
  constructor(conn: Connection) {
    this.conn = conn;
  }
  async apply(e: TicketUpdate, note: RenderedNote): Promise<ApplyResult> {
    const w = planWrite(e, note, DEFAULT_MAPPING);
    try {
      const found = await this.conn.query(`SELECT Id FROM Task WHERE CallObject IN (${quoteAll([w.callObject])})`);
      if (found.totalSize > 0) return { status: 'delivered', detail: 'already there' };
      await this.conn.sobject('Task').create(w.task as never);
      return { status: 'delivered', detail: 'created' };
    } catch (err) {
      throw fromJsforceError(err, 'naive');
    }
  }
  async close(): Promise<void> {}
}

function sessionDoc(i: number, caseId: string): Buffer {
  const doc = { ...TEMPLATE, id: 100_000 + i, out_ticket_id: caseId, out_ticket_url: `https://crm.example.com/lightning/r/Case/${caseId}/view` };
  return Buffer.from(JSON.stringify(doc));
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Row {
  variant: string;
  n: number;
  apiCalls: number;
  callsPer1000: number;
  perSecond: number;
  p50: number;
  p99: number;
  peakRssMb: number;
  /** with --gc-probe: the largest heap still in use right after a full GC (what is really retained) */
  liveHeapMb: number | null;
  failed: number;
}

async function runOnce(variant: 'batched' | 'naive', n: number, sf: RemoteDouble): Promise<Row> {
  const info = await sf.ask<{ url: string; token: string; apiVersion: string }>('info');
  const prefix = `ccaibench-${randomBytes(3).toString('hex')}`;
  const log = createLogger('error');
  const config = loadConfig({
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    DATA_DIR: '/tmp/ccai-bench',
    CRM: 'salesforce',
    SF_INSTANCE_URL: info.url,
    SF_ACCESS_TOKEN: info.token,
    SF_API_VERSION: info.apiVersion,
    WORKER_CONCURRENCY: String(CONCURRENCY),
    KEEP_COMPLETED_DAYS: '0',
    SF_BATCH_WAIT_MS: process.env.SF_BATCH_WAIT_MS,
    JOB_THREADS: process.env.JOB_THREADS ?? 'auto',
  });
  const { conn } = await connect(salesforceAuthOf(config));
  // batched: the worker's own Salesforce target, built by the app from the settings (with the
  // ledger in Redis); naive: the baseline
  const target: Target | undefined = variant === 'batched' ? undefined : new NaiveTarget(conn);
  const cases = await sf.ask<string[]>('insertCases', Math.min(n, 2000));

  const submittedAt = new Map<string, number>();
  const latencies: number[] = [];
  let done = 0;
  let failed = 0;
  let peakRss = process.memoryUsage().rss;
  let peakHeap = 0;
  let atPeak = '';
  const mb = (b: number) => Math.round(b / 1048576);
  const startRss = peakRss;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    if (m.rss > peakRss - 1 && process.env.BENCH_DEBUG) atPeak = `rss ${mb(m.rss)}: heap total ${mb(m.heapTotal)} used ${mb(m.heapUsed)}, external ${mb(m.external)}, array buffers ${mb(m.arrayBuffers)}, ${process.platform === 'linux' ? readFileSync('/proc/self/status', 'utf8').match(/Rss\w+:\s+\d+ kB/g)?.join(', ') : ''}`;
  }, 50);
  // --gc-probe: every 2 s a full GC, then the heap left is what the worker really retains.
  const gc = (globalThis as { gc?: () => void }).gc;
  let liveHeap = 0;
  const probe = gc
    ? setInterval(() => {
        gc();
        liveHeap = Math.max(liveHeap, process.memoryUsage().heapUsed);
      }, 2_000)
    : null;
  let finishAll: () => void = () => {};
  const allDone = new Promise<void>((r) => (finishAll = r));
  const app = await createApp(config, log, {
    worker: true,
    allowPrivateRedis: false,
    target,
    onOutcome: (o) => {
      const t0 = submittedAt.get(o.sessionKey);
      if (t0 !== undefined) {
        latencies.push(performance.now() - t0);
        submittedAt.delete(o.sessionKey);
      }
      if (++done + failed >= n) finishAll();
    },
  });
  app.worker!.onFailed((final, _data, err) => {
    if (final) {
      failed++;
      if (failed <= 3) process.stderr.write(`failed: ${toSyncError(err).message}\n`);
      if (done + failed >= n) finishAll();
    }
  });
  await sf.ask('reset');
  const callsBefore = await sf.ask<number>('apiCalls');
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  let gcMs = 0;
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });
  if (process.env.BENCH_DEBUG) gcObserver.observe({ entryTypes: ['gc'] });
  // Feed the queue like files arriving from several sources at once (SUBMITTERS in parallel),
  // never more than 5,000 ahead of the worker.
  let nextDoc = 0;
  const submitter = async () => {
    for (let i = nextDoc++; i < n; i = nextDoc++) {
      while (i - done - failed > 5_000) await new Promise((r) => setTimeout(r, 20));
      const doc = sessionDoc(i, cases[i % cases.length]!);
      submittedAt.set(`call-${100_000 + i}`, performance.now());
      const r = await app.submit(doc, `bench:${i}`);
      if (r.status !== 'queued') throw new Error(`bench document ${i} not queued: ${r.status} ${r.reason}`);
    }
  };
  await Promise.all(Array.from({ length: SUBMITTERS }, submitter));
  await allDone;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  gcObserver.disconnect();
  clearInterval(sampler);
  if (probe) clearInterval(probe);
  const apiCalls = (await sf.ask<number>('apiCalls')) - callsBefore;
  const tasks = await sf.ask<number>('taskCount');
  if (process.env.BENCH_DEBUG) {
    // CPU time of this process per session (all threads) and how busy the main thread was:
    // steadier than sessions/s on a shared machine.
    const perSession = (us: number) => (us / n).toFixed(0);
    process.stderr.write(
      `at peak ${atPeak}\nstart rss ${Math.round(startRss / 1048576)} MB, peak heap ${Math.round(peakHeap / 1048576)} MB, ` +
        `CPU ${perSession(cpu.user + cpu.system)} µs/session (user ${perSession(cpu.user)}, system ${perSession(cpu.system)}), event loop busy ${Math.round(elu.utilization * 100)} %, GC pauses ${perSession(gcMs * 1000)} µs/session\n`,
    );
  }
  if (tasks !== n) throw new Error(`${variant}: expected ${n} Tasks in the double, found ${tasks}`);
  await app.close();
  await dropPrefix(prefix, REDIS_URL);
  latencies.sort((a, b) => a - b);
  return {
    variant,
    n,
    apiCalls,
    callsPer1000: Math.round((apiCalls / n) * 1000 * 10) / 10,
    perSecond: Math.round(n / seconds),
    p50: Math.round(percentile(latencies, 50)),
    p99: Math.round(percentile(latencies, 99)),
    peakRssMb: Math.round(peakRss / 1024 / 1024),
    liveHeapMb: gc ? Math.round(liveHeap / 1024 / 1024) : null,
    failed,
  };
}

// Each (variant, N) runs in a fresh process, so one run's memory never counts in the next.
if (values.child) {
  const [variant, n] = values.child.split(':') as ['batched' | 'naive', string];
  const sf = await RemoteDouble.start(LATENCY);
  try {
    const row = await runOnce(variant, Number(n), sf);
    process.stdout.write(`${JSON.stringify(row)}\n`);
  } finally {
    await sf.ask('close');
  }
  process.exit(0);
}

const rows: Row[] = [];
for (const n of SIZES) {
  for (const variant of ['naive', 'batched'] as const) {
    if (values.only && values.only !== variant) continue;
    const flags = (values['node-flags'] ?? '').split(/\s+/).filter(Boolean);
    const execArgv = [...process.execArgv, ...flags, ...(values['gc-probe'] ? ['--expose-gc'] : [])];
    const args = [...execArgv, process.argv[1]!, '--child', `${variant}:${n}`, '--latency', String(LATENCY), '--concurrency', String(CONCURRENCY), '--submitters', String(SUBMITTERS), `--node-flags=${values['node-flags'] ?? ''}`];
    const out = await new Promise<string>((resolve, reject) => {
      const child = fork(process.argv[1]!, args.slice(execArgv.length + 1), { execArgv, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
      let text = '';
      child.stdout!.on('data', (d) => (text += d));
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`${variant} n=${n} exited ${code}`))));
    });
    const row = JSON.parse(out.trim().split('\n').pop()!) as Row;
    rows.push(row);
    process.stderr.write(`${variant} n=${n}: ${JSON.stringify(row)}\n`);
  }
}

console.log(`\nccai-crm-sync Salesforce benchmark: ${LATENCY} ms per Salesforce request (double in its own process), one worker process with concurrency ${CONCURRENCY} and V8 flags "${values['node-flags']}", ${SUBMITTERS} parallel submitters, Node ${process.version}\n`);
console.log('| variant | N | API calls | calls / 1,000 sessions | sessions/s | p50 ms | p99 ms | peak RSS MB | live heap MB | failed |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.variant} | ${r.n} | ${r.apiCalls} | ${r.callsPer1000} | ${r.perSecond} | ${r.p50} | ${r.p99} | ${r.peakRssMb} | ${r.liveHeapMb ?? '-'} | ${r.failed} |`);
for (const n of SIZES) {
  const b = rows.find((r) => r.variant === 'batched' && r.n === n);
  const v = rows.find((r) => r.variant === 'naive' && r.n === n);
  if (b && v) console.log(`\nN=${n}: batched makes ${(v.apiCalls / Math.max(1, b.apiCalls)).toFixed(1)}x fewer API calls and is ${(b.perSecond / Math.max(1, v.perSecond)).toFixed(1)}x faster than the naive baseline.`);
}
process.exit(0);
