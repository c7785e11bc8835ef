// Benchmark: N generated sessions through the real queue (Redis) and K worker processes into
// the Salesforce test double with a fixed per-request latency, batched target against a naive
// baseline that makes one request per record. One run, one machine; reports ratios and counts,
// and from the double's state what went wrong: session versions written twice, sessions lost.
//
//   npm run bench                      # N = 1,000 and 20,000, 50 ms latency, one worker process
//   npm run bench -- --n 5000 --latency 50 --only batched
//   npm run bench -- --n 4000 --only batched --workers 3 --kill-one
//
// Each (variant, N) runs with a fresh double and fresh worker processes, so one run's memory
// never counts in the next. The parent process only conducts: it starts the double and the
// workers, waits until every worker is ready (a barrier), has each submit its share of the
// documents from inside itself (as the inbox and HTTP sources do), watches the queue in Redis
// until every job has ended, then reads what was written from the double.
//
// Needs Redis (REDIS_URL or 127.0.0.1:6379). Uses its own key prefix and removes it after.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { Connection } from 'jsforce';
import { loadConfig } from '../src/config.ts';
import type { Config } from '../src/config.ts';
import { toSyncError } from '../src/errors.ts';
import type { TicketUpdate, RenderedNote } from '../src/domain/types.ts';
import { createLogger } from '../src/logger.ts';
import { createApp } from '../src/app/app.ts';
import { queueName } from '../src/queue/jobs.ts';
import type { ApplyResult, Target } from '../src/targets/target.ts';
import { dropPrefix } from '../test/helpers/env.ts';
import { ledgerRunningSince } from '../test/helpers/salesforce-ledger.ts';
import { RemoteDouble } from './remote-double.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', multiple: true },
    latency: { type: 'string', default: '50' },
    only: { type: 'string' },
    /** WORKER_CONCURRENCY of each worker process; unset: the worker's default */
    concurrency: { type: 'string' },
    submitters: { type: 'string', default: '32' },
    /** worker processes on one queue, against one Redis and one double */
    workers: { type: 'string', default: '1' },
    /** SIGKILL one worker once a third of the sessions are done, and start a replacement */
    'kill-one': { type: 'boolean', default: false },
    'old-files': { type: 'boolean', default: false },
    'new-ledger': { type: 'boolean', default: false },
    /** documents the submitters keep ahead of the workers, at most (all processes together) */
    ahead: { type: 'string', default: '5000' },
    child: { type: 'string' },
    'gc-probe': { type: 'boolean', default: false },
    // V8 limits for the worker process, as the Dockerfile sets them: without them V8 keeps
    // hundreds of MB of garbage around under load (the retained heap is ~50 MB, see --gc-probe).
    'node-flags': { type: 'string', default: '--max-old-space-size=160 --max-semi-space-size=8' },
  },
});
const SIZES = (values.n ?? ['1000', '20000']).map(Number);
const LATENCY = Number(values.latency);
const CONCURRENCY = values.concurrency;
const SUBMITTERS = Number(values.submitters);
const WORKERS = Number(values.workers);
const KILL_ONE = values['kill-one'];
const AHEAD = Number(values.ahead);
// A killed worker's jobs come back to the queue once their lock lapses (JOB_LOCK_MS, 30 s by
// default): the bench with --kill-one makes that 5 s unless JOB_LOCK_MS says otherwise.
const LOCK_MS = process.env.JOB_LOCK_MS ?? (KILL_ONE ? '5000' : undefined);
/** no job ended for this long: the run has stalled, stop it */
const STALL_MS = 120_000;

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TEMPLATE = JSON.parse(readFileSync(new URL('../samples/metadata_call-1418.json', import.meta.url), 'utf8')) as Record<string, unknown>;

/** Wall-clock time in ms with sub-ms precision, comparable between processes on one machine. */
const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (b: number) => Math.round(b / 1048576);
/** The session key of the i-th generated document (its `id` is 100,000 + i). */
const keyOf = (i: number): string => `call-${100_000 + i}`;

/**
 * Files as CCAI writes them: a quarter of an hour after the session (with --old-files, last
 * spring's, as in a backfill: the ledger does not know them and looks for each first).
 */
const UPDATED_AT = values['old-files'] ? (TEMPLATE.updated_at as string) : new Date(Date.now() - 15 * 60_000).toISOString();

function sessionDoc(i: number, caseId: string): Buffer {
  const doc = { ...TEMPLATE, id: 100_000 + i, updated_at: UPDATED_AT, out_ticket_id: caseId, out_ticket_url: `https://crm.example.com/lightning/r/Case/${caseId}/view` };
  return Buffer.from(JSON.stringify(doc));
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

type Variant = 'batched' | 'naive';
interface DoubleInfo { url: string; token: string; apiVersion: string }

// ---- messages between the parent and a worker process -----------------------------------------
type ToWorker =
  | { type: 'init'; variant: Variant; info: DoubleInfo; prefix: string; cases: string[]; workers: number; lockMs: string | undefined }
  | { type: 'submit'; indices: number[] }
  | { type: 'progress'; finished: number }
  | { type: 'finish' };
interface WorkerStats {
  /** with --gc-probe: the largest heap still in use right after a full GC */
  liveHeapMb: number | null;
  /** the largest RSS seen by the process's own sampling (where /proc is missing) */
  sampledPeakRssMb: number;
  /** jobs this process completed, its CPU time (µs) and event loop use since the start signal */
  completedHere: number;
  cpuUs: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  eluPercent: number;
  gcMs: number;
  startRssMb: number;
  peakHeapMb: number;
  atPeak: string;
}
type FromWorker =
  | { type: 'ready' }
  /** subs: [document index, time before submit] of each document this process queued; dones: [session, time] of each job it completed; fails: [session, message] of each job that failed for good here */
  | { type: 'reports'; subs: Array<[number, number]>; dones: Array<[string, number]>; fails: Array<[string, string]> }
  | { type: 'submitted'; queued: number; duplicate: number }
  | { type: 'result'; stats: WorkerStats }
  | { type: 'fatal'; message: string };

// =================================================================================================
// A worker process: the app with its worker, submitting the documents it is told to.
// =================================================================================================

/** One request per record: look for the Task, then create it. What a straightforward integration does. */
async function naiveTarget(config: Config): Promise<Target> {
  // loaded only for this variant: the batched one sees the Salesforce target only through the app
  const [{ connect }, { planWrite }, { DEFAULT_MAPPING }, { fromJsforceError }, { salesforceAuthOf }] = await Promise.all([
    import('../src/targets/salesforce/connection.ts'),
    import('../src/targets/salesforce/plan.ts'),
    import('../src/targets/salesforce/mapping.ts'),
    import('../src/targets/salesforce/errors.ts'),
    import('../src/app/targets.ts'),
  ]);
  const { conn } = (await connect(salesforceAuthOf(config))) as { conn: Connection };
  const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return {
    name: 'salesforce',
    async apply(e: TicketUpdate, note: RenderedNote): Promise<ApplyResult> {
      const w = planWrite(e, note, DEFAULT_MAPPING);
      try {
        const found = await conn.query(`SELECT Id FROM Task WHERE CallObject IN (${quote(w.callObject)})`);
        if (found.totalSize > 0) return { status: 'delivered', detail: 'already there' };
        await conn.sobject('Task').create(w.task as never);
        return { status: 'delivered', detail: 'created' };
      } catch (err) {
        throw fromJsforceError(err, 'naive');
      }
    },
    async close() {},
  };
}

async function workerMain(): Promise<void> {
  // The parent went away (Ctrl-C, a crash, SIGKILL): this process does not outlive it.
  process.on('disconnect', () => process.exit(1));
  const send = (m: FromWorker, cb: () => void = () => {}) => {
    if (process.connected) process.send!(m, undefined, undefined, () => cb());
    else cb();
  };
  const fatal = (err: unknown) => {
    send({ type: 'fatal', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }, () => process.exit(1));
    setTimeout(() => process.exit(1), 1_000).unref();
  };

  let init: Extract<ToWorker, { type: 'init' }> | null = null;
  let app: Awaited<ReturnType<typeof createApp>> | null = null;
  // what this process has to tell the parent, sent every 50 ms
  let subs: Array<[number, number]> = [];
  let dones: Array<[string, number]> = [];
  let fails: Array<[string, string]> = [];
  const flush = () => {
    if (subs.length + dones.length + fails.length === 0) return;
    send({ type: 'reports', subs, dones, fails });
    subs = [];
    dones = [];
    fails = [];
  };
  let localFinished = 0;
  let completedHere = 0;
  let globalFinished = 0;
  let failedShown = 0;

  // memory: sampled (BENCH_DEBUG says what the peak is made of), and with --gc-probe every 2 s a
  // full GC, after which the heap left is what the worker really retains
  let peakRss = process.memoryUsage().rss;
  const startRss = peakRss;
  let peakHeap = 0;
  let atPeak = '';
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    if (m.rss > peakRss - 1 && process.env.BENCH_DEBUG) atPeak = `rss ${mb(m.rss)}: heap total ${mb(m.heapTotal)} used ${mb(m.heapUsed)}, external ${mb(m.external)}, array buffers ${mb(m.arrayBuffers)}, ${process.platform === 'linux' ? readFileSync('/proc/self/status', 'utf8').match(/Rss\w+:\s+\d+ kB/g)?.join(', ') : ''}`;
  }, 50);
  const gc = (globalThis as { gc?: () => void }).gc;
  let liveHeap = 0;
  const probe = gc
    ? setInterval(() => {
        gc();
        liveHeap = Math.max(liveHeap, process.memoryUsage().heapUsed);
      }, 2_000)
    : null;
  const flusher = setInterval(flush, 50);

  // from the start signal (the first documents to submit) to the end
  let cpu0: NodeJS.CpuUsage | null = null;
  let elu0: ReturnType<typeof performance.eventLoopUtilization> | null = null;
  let gcMs = 0;
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });

  async function start(m: Extract<ToWorker, { type: 'init' }>): Promise<void> {
    init = m;
    const log = createLogger('error');
    const config = loadConfig({
      REDIS_URL,
      QUEUE_PREFIX: m.prefix,
      DATA_DIR: '/tmp/ccai-bench',
      CRM: 'salesforce',
      SF_INSTANCE_URL: m.info.url,
      SF_ACCESS_TOKEN: m.info.token,
      SF_API_VERSION: m.info.apiVersion,
      // the naive baseline keeps the concurrency it was measured with (one request per job)
      WORKER_CONCURRENCY: CONCURRENCY ?? (m.variant === 'naive' ? '400' : undefined),
      KEEP_COMPLETED_DAYS: '0',
      SF_BATCH_WAIT_MS: process.env.SF_BATCH_WAIT_MS,
      JOB_THREADS: process.env.JOB_THREADS ?? 'auto',
      JOB_LOCK_MS: m.lockMs,
      // the double's daily limit is far away; never slow down for it
      SF_API_USAGE_SLOWDOWN: '1',
      SF_API_USAGE_PAUSE: '1',
    });
    // batched: the target the worker builds from its configuration (CRM=salesforce), as in production
    const target = m.variant === 'naive' ? await naiveTarget(config) : undefined;
    app = await createApp(config, log, { worker: true, allowPrivateRedis: false, target });
    // A job ends when BullMQ has stored it as completed: that is when its session counts as done,
    // whichever process submitted it (the parent joins submit and completion times by session).
    app.worker!.onCompleted((outcome) => {
      localFinished++;
      completedHere++;
      if (outcome?.sessionKey) dones.push([outcome.sessionKey, now()]);
    });
    app.worker!.onFailed((final, data, err) => {
      if (!final) return;
      localFinished++;
      const message = toSyncError(err).message;
      fails.push([data?.sessionKey ?? '?', message]);
      if (++failedShown <= 3) process.stderr.write(`failed: ${message}\n`);
    });
    send({ type: 'ready' });
  }

  async function submitAll(indices: number[]): Promise<void> {
    if (!app || !init) throw new Error('submit before init');
    if (!cpu0) {
      cpu0 = process.cpuUsage();
      elu0 = performance.eventLoopUtilization();
      if (process.env.BENCH_DEBUG) gcObserver.observe({ entryTypes: ['gc'] });
    }
    const { cases, workers } = init;
    const a = app;
    // Feed the queue like files arriving from several sources at once (SUBMITTERS in parallel),
    // never more than AHEAD documents ahead of the workers: every process submits its share at
    // about the same pace, so this one keeps to its part of the allowance (with one process,
    // exactly the documents submitted minus the jobs ended).
    let queued = 0;
    let duplicate = 0;
    let next = 0;
    const submitter = async () => {
      for (let p = next++; p < indices.length; p = next++) {
        while (p * workers - Math.max(globalFinished, localFinished) > AHEAD) await sleep(20);
        const i = indices[p]!;
        const doc = sessionDoc(i, cases[i % cases.length]!);
        const t = now();
        const r = await a.submit(doc, `bench:${i}`);
        if (r.session !== keyOf(i)) throw new Error(`bench document ${i} read as session ${r.session}, expected ${keyOf(i)}`);
        if (r.status === 'queued') {
          subs.push([i, t]);
          queued++;
        } else if (r.status === 'duplicate') {
          duplicate++; // a document of a killed worker submitted again: its job was already there
        } else throw new Error(`bench document ${i} not queued: ${r.status} ${r.reason}`);
      }
    };
    await Promise.all(Array.from({ length: SUBMITTERS }, submitter));
    flush();
    send({ type: 'submitted', queued, duplicate });
  }

  async function finish(): Promise<void> {
    clearInterval(sampler);
    clearInterval(flusher);
    if (probe) clearInterval(probe);
    gcObserver.disconnect();
    const cpu = cpu0 ? process.cpuUsage(cpu0) : { user: 0, system: 0 };
    const elu = elu0 ? performance.eventLoopUtilization(elu0) : { utilization: 0 };
    flush();
    const stats: WorkerStats = {
      liveHeapMb: gc ? mb(liveHeap) : null,
      sampledPeakRssMb: mb(peakRss),
      completedHere,
      cpuUs: cpu.user + cpu.system,
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      eluPercent: Math.round(elu.utilization * 100),
      gcMs,
      startRssMb: mb(startRss),
      peakHeapMb: mb(peakHeap),
      atPeak,
    };
    await new Promise<void>((resolve) => send({ type: 'result', stats }, () => resolve()));
    await app?.close();
    process.exit(0);
  }

  process.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'init':
        return void start(m).catch(fatal);
      case 'submit':
        return void submitAll(m.indices).catch(fatal);
      case 'progress':
        globalFinished = Math.max(globalFinished, m.finished);
        return;
      case 'finish':
        return void finish().catch(fatal);
    }
  });
}

// =================================================================================================
// The parent: the double, the worker processes, the queue in Redis, the report.
// =================================================================================================

interface ProcRss { label: string; mb: number | null; note: string }
interface Row {
  variant: Variant;
  workers: number;
  kill: boolean;
  n: number;
  apiCalls: number;
  callsPer1000: number;
  perSecond: number;
  p50: number;
  p99: number;
  /** sessions with both a submit and a completion time (every completed one: what a killed process did not report comes from the queue) */
  latencySamples: number;
  peakRss: ProcRss[];
  liveHeapMb: number | null;
  /** session versions (Task.CallObject) with more than one Task, plus posts written twice */
  duplicates: number;
  /** Tasks beyond the first of each session version */
  extraTasks: number;
  /** submitted sessions with no Task */
  lost: number;
  failed: number;
}

interface WorkerProc {
  label: string;
  child: ChildProcess;
  /** document indices it submits */
  share: number[];
  /** of those, the ones it reported queued */
  acked: Set<number>;
  ready: Promise<void>;
  result: Promise<WorkerStats>;
  exited: Promise<void>;
  /** it was killed on purpose, or told to finish: its exit is no error */
  expectedExit: boolean;
  peakRssMb: number | null;
  note: string;
}

// everything a Ctrl-C or an error must stop
const liveChildren = new Set<ChildProcess>();
let liveDouble: RemoteDouble | null = null;
let livePrefix: string | null = null;

function killAll(): void {
  for (const c of liveChildren) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  liveChildren.clear();
  liveDouble?.kill();
  liveDouble = null;
}

/** The kernel's high-water mark of the process's resident memory (VmHWM), in MB; null without /proc. */
function vmHwmMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** Counts from the double's state: session versions written more than once, sessions never written. */
function countState(
  n: number,
  state: { tasks: Array<[string, string | null, string | null]>; caseComments: Array<[string | null, string]>; feedItems: Array<[string | null, string]> },
) {
  const perVersion = new Map<string, number>();
  const sessionsWithTask = new Set<string>();
  let unattributed = 0;
  for (const [, callObject] of state.tasks) {
    if (!callObject) {
      unattributed++;
      continue;
    }
    perVersion.set(callObject, (perVersion.get(callObject) ?? 0) + 1);
    // CallObject is `<session key>@<version>`: the session is what comes before the version
    const session = /^((?:call|chat)-\d+)(?:@|$)/.exec(callObject)?.[1];
    if (session) sessionsWithTask.add(session);
    else unattributed++;
  }
  let duplicateTasks = 0;
  let extraTasks = 0;
  for (const c of perVersion.values()) {
    if (c > 1) {
      duplicateTasks++;
      extraTasks += c - 1;
    }
  }
  // a post is found again by its record and the marker on its first line: two alike are one written twice
  const twice = (posts: Array<[string | null, string]>) => {
    const seen = new Map<string, number>();
    for (const [parent, line] of posts) seen.set(`${parent}|${line}`, (seen.get(`${parent}|${line}`) ?? 0) + 1);
    return [...seen.values()].filter((c) => c > 1).length;
  };
  const duplicatePosts = twice(state.caseComments) + twice(state.feedItems);
  let lost = 0;
  const lostSample: string[] = [];
  for (let i = 0; i < n; i++) {
    if (!sessionsWithTask.has(keyOf(i))) {
      lost++;
      if (lostSample.length < 5) lostSample.push(keyOf(i));
    }
  }
  return {
    tasks: state.tasks.length,
    versions: perVersion.size,
    duplicateTasks,
    extraTasks,
    duplicatePosts,
    posts: state.caseComments.length + state.feedItems.length,
    duplicates: duplicateTasks + duplicatePosts,
    lost,
    lostSample,
    unattributed,
    perVersion,
  };
}

async function runOnce(variant: Variant, n: number): Promise<Row> {
  const sf = await RemoteDouble.start(LATENCY);
  liveDouble = sf;
  const prefix = `ccaibench-${randomBytes(3).toString('hex')}`;
  livePrefix = prefix;
  // steady state: the Salesforce ledger has been running for a day (with --new-ledger it begins
  // now, and looks for everything first, as on the day it is installed)
  if (!values['new-ledger']) await ledgerRunningSince(prefix, Date.now() - 86_400_000, REDIS_URL);
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  const procs: WorkerProc[] = [];
  let abort: Error | null = null;
  try {
    const info = await sf.ask<DoubleInfo>('info');
    const cases = await sf.ask<string[]>('insertCases', Math.min(n, 2000));
    const flags = (values['node-flags'] ?? '').split(/\s+/).filter(Boolean);
    const execArgv = [...process.execArgv, ...flags, ...(values['gc-probe'] ? ['--expose-gc'] : [])];

    // the parent's join: when each session was submitted (first queued) and when its job completed
    const submittedAt = new Map<string, number>();
    const completedAt = new Map<string, number>();
    const failures = new Map<string, string>();

    const startWorker = (label: string, share: number[]): WorkerProc => {
      const child = fork(process.argv[1]!, ['--child', 'worker', ...(CONCURRENCY ? ['--concurrency', CONCURRENCY] : []), '--submitters', String(SUBMITTERS), '--ahead', String(AHEAD)], {
        execArgv,
        // as the bin, the npm scripts and the Docker image start the worker
        env: { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' },
        // the workers' own output (logs, errors) goes to stderr, the report alone to stdout
        stdio: ['ignore', 2, 2, 'ipc'],
      });
      liveChildren.add(child);
      const acked = new Set<number>();
      let readyOk: () => void = () => {};
      let readyFail: (e: Error) => void = () => {};
      let resultOk: (s: WorkerStats) => void = () => {};
      let resultFail: (e: Error) => void = () => {};
      const ready = new Promise<void>((res, rej) => ((readyOk = res), (readyFail = rej)));
      const result = new Promise<WorkerStats>((res, rej) => ((resultOk = res), (resultFail = rej)));
      ready.catch(() => undefined);
      result.catch(() => undefined);
      const fail = (e: Error) => {
        readyFail(e);
        resultFail(e);
      };
      const p: WorkerProc = {
        label,
        child,
        share,
        acked,
        ready,
        result,
        exited: new Promise<void>((res) => child.once('exit', () => res())),
        expectedExit: false,
        peakRssMb: null,
        note: '',
      };
      child.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'ready':
            return readyOk();
          case 'reports':
            for (const [i, t] of m.subs) {
              acked.add(i);
              const prev = submittedAt.get(keyOf(i));
              if (prev === undefined || t < prev) submittedAt.set(keyOf(i), t);
            }
            for (const [key, t] of m.dones) completedAt.set(key, Math.max(t, completedAt.get(key) ?? 0));
            for (const [key, message] of m.fails) failures.set(key, message);
            return;
          case 'submitted':
            if (m.duplicate > 0) process.stderr.write(`${label}: ${m.queued} documents queued, ${m.duplicate} already had their job\n`);
            return;
          case 'result':
            return resultOk(m.stats);
          case 'fatal':
            abort ??= new Error(`worker ${label}: ${m.message}`);
            return fail(abort);
        }
      });
      child.once('exit', (code, signal) => {
        liveChildren.delete(child);
        if (!p.expectedExit) {
          abort ??= new Error(`worker ${label} (pid ${child.pid}) exited unexpectedly (${signal ?? `code ${code}`})`);
        }
        fail(abort ?? new Error(`worker ${label} exited`));
      });
      child.send({ type: 'init', variant, info, prefix, cases, workers: WORKERS, lockMs: LOCK_MS } satisfies ToWorker);
      procs.push(p);
      return p;
    };

    // K workers, each with its share of the documents (disjoint, contiguous), all ready before any submits
    for (let k = 0; k < WORKERS; k++) {
      const from = Math.floor((k * n) / WORKERS);
      const to = Math.floor(((k + 1) * n) / WORKERS);
      startWorker(`w${k + 1}`, Array.from({ length: to - from }, (_, j) => from + j));
    }
    const startUp = sleep(60_000).then(() => 'timeout' as const);
    if ((await Promise.race([Promise.all(procs.map((p) => p.ready)), startUp])) === 'timeout') throw new Error('the workers were not all ready within 60 s');
    await sf.ask('reset');
    const callsBefore = await sf.ask<number>('apiCalls');
    const t0 = now();
    for (const p of procs) p.child.send({ type: 'submit', indices: p.share } satisfies ToWorker);

    // Watch the queue in Redis until every job has ended (completed, or failed for good): the
    // workers' own reports may miss what a killed process completed just before it died.
    const queueKey = `${prefix}:${queueName('salesforce')}`;
    let finished = 0;
    let lastFinished = -1;
    let lastProgressAt = now();
    let killed = false;
    let doneAt = 0;
    for (;;) {
      await sleep(100);
      if (abort) throw abort;
      const [[, completed], [, failed]] = (await redis.multi().zcard(`${queueKey}:completed`).zcard(`${queueKey}:failed`).exec()) as [[null, number], [null, number]];
      finished = completed + failed;
      for (const p of procs) if (p.child.connected && !p.expectedExit) p.child.send({ type: 'progress', finished } satisfies ToWorker);
      if (finished >= n) {
        doneAt = now();
        break;
      }
      if (finished !== lastFinished) {
        lastFinished = finished;
        lastProgressAt = now();
      } else if (now() - lastProgressAt > STALL_MS) {
        throw new Error(`no job ended for ${STALL_MS / 1000} s: ${finished} of ${n} finished`);
      }
      if (KILL_ONE && !killed && finished >= n / 3) {
        killed = true;
        const victim = procs[WORKERS - 1]!;
        victim.peakRssMb = vmHwmMb(victim.child.pid);
        victim.note = 'killed';
        victim.expectedExit = true;
        victim.child.kill('SIGKILL');
        await victim.exited;
        // its last messages are in before its channel closes
        if (victim.child.connected) await new Promise((r) => victim.child.once('disconnect', r));
        // The replacement works the queue like the others, and submits what the killed one had
        // not (yet) reported queued: a document that was queued all the same finds its job there.
        const rest = victim.share.filter((i) => !victim.acked.has(i));
        process.stderr.write(
          `killed ${victim.label} (pid ${victim.child.pid}) with SIGKILL at ${finished} of ${n} finished; it had reported ${victim.acked.size} of its ${victim.share.length} documents queued; a replacement submits the other ${rest.length}\n`,
        );
        const r = startWorker('r', rest);
        r.note = 'replacement';
        r.ready.then(
          () => r.child.send({ type: 'submit', indices: rest } satisfies ToWorker),
          () => undefined,
        );
      }
    }
    const apiCalls = (await sf.ask<number>('apiCalls')) - callsBefore;
    if (KILL_ONE && !killed) process.stderr.write(`--kill-one: every job ended before a third were done (${finished} of ${n} at once): no worker was killed\n`);

    // Stop the workers (each flushes its last reports first); peak RSS is read just before.
    const live = procs.filter((p) => !p.expectedExit);
    for (const p of live) {
      p.peakRssMb = vmHwmMb(p.child.pid);
      p.expectedExit = true;
      p.child.send({ type: 'finish' } satisfies ToWorker);
    }
    const stats = new Map<WorkerProc, WorkerStats>();
    const timeout = sleep(30_000).then(() => 'timeout' as const);
    for (const p of live) {
      const s = await Promise.race([p.result, timeout]);
      if (s === 'timeout') throw new Error(`worker ${p.label} did not finish within 30 s`);
      stats.set(p, s);
      if (p.peakRssMb === null) p.peakRssMb = s.sampledPeakRssMb;
    }
    await Promise.race([Promise.all(live.map((p) => p.exited)), timeout]);

    // What the double holds, whatever the workers said.
    const state = await sf.ask<Parameters<typeof countState>[1]>('state');
    const counted = countState(n, state);
    const [[, failedJobs]] = (await redis.multi().zcard(`${queueKey}:failed`).exec()) as [[null, number]];

    // Checks of the figures above, by other means (stderr).
    const queueTimes = await readQueueTimes(redis, queueKey);
    await crossCheck(sf, info, n, counted, state, queueTimes);

    // A session's latency: from the moment its document was handed to submit (in the process that
    // submitted it) to its job's completion (in the process that completed it), joined here by
    // session. What a killed process had not yet reported comes from the queue's own record of
    // the job, written by the same processes: when it was added, when it finished.
    let filledSubmit = 0;
    let filledDone = 0;
    for (const t of queueTimes.values()) {
      if (!completedAt.has(t.session) && t.finished) {
        completedAt.set(t.session, t.finished);
        filledDone++;
      }
      if (!submittedAt.has(t.session) && t.added) {
        submittedAt.set(t.session, t.added);
        filledSubmit++;
      }
    }
    if (filledSubmit + filledDone > 0) {
      process.stderr.write(`latency: ${filledSubmit} submit and ${filledDone} completion times the workers did not report (a killed process's last reports die with it) taken from the queue's record of the job\n`);
    }
    const latencies: number[] = [];
    for (const [key, t1] of completedAt) {
      const ts = submittedAt.get(key);
      if (ts !== undefined) latencies.push(t1 - ts);
    }
    latencies.sort((a, b) => a - b);
    const completedJobs = n - failedJobs;
    if (latencies.length !== completedJobs) process.stderr.write(`latency from ${latencies.length} sessions, ${completedJobs} completed\n`);
    // the end: the last job completed, else when the queue said all had ended
    const tEnd = completedAt.size > 0 ? Math.max(...completedAt.values()) : doneAt;
    const seconds = (tEnd - t0) / 1000;

    if (failures.size > 0) process.stderr.write(`${failures.size} sessions failed for good, e.g. ${[...failures.entries()].slice(0, 3).map(([k, m]) => `${k}: ${m}`).join('; ')}\n`);
    if (process.env.BENCH_DEBUG) {
      let totalCpu = 0;
      for (const [p, s] of stats) {
        totalCpu += s.cpuUs;
        const per = (us: number) => (s.completedHere ? (us / s.completedHere).toFixed(0) : '-');
        process.stderr.write(
          `${p.label}: at peak ${s.atPeak}\n${p.label}: start rss ${s.startRssMb} MB, peak heap ${s.peakHeapMb} MB, ${s.completedHere} jobs completed here, ` +
            `CPU ${per(s.cpuUs)} µs per job completed here (user ${per(s.cpuUserUs)}, system ${per(s.cpuSystemUs)}), event loop busy ${s.eluPercent} %, GC pauses ${per(s.gcMs * 1000)} µs per job\n`,
        );
      }
      process.stderr.write(`CPU of the workers that finished, per session: ${(totalCpu / n).toFixed(0)} µs\n`);
    }

    const liveHeaps = [...stats.values()].map((s) => s.liveHeapMb).filter((v): v is number => v !== null);
    return {
      variant,
      workers: WORKERS,
      kill: killed,
      n,
      apiCalls,
      callsPer1000: Math.round((apiCalls / n) * 1000 * 10) / 10,
      perSecond: Math.round(n / seconds),
      p50: Math.round(percentile(latencies, 50)),
      p99: Math.round(percentile(latencies, 99)),
      latencySamples: latencies.length,
      peakRss: procs.map((p) => ({ label: p.label, mb: p.peakRssMb, note: p.note })),
      liveHeapMb: liveHeaps.length ? Math.max(...liveHeaps) : null,
      duplicates: counted.duplicates,
      extraTasks: counted.extraTasks,
      lost: counted.lost,
      failed: failedJobs,
    };
  } finally {
    for (const p of procs) p.expectedExit = true;
    for (const p of procs) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    }
    await Promise.all(procs.map((p) => Promise.race([p.exited, sleep(5_000)])));
    redis.disconnect();
    await dropPrefix(prefix, REDIS_URL).catch((e: Error) => process.stderr.write(`could not drop the Redis prefix ${prefix}: ${e.message}\n`));
    livePrefix = null;
    await Promise.race([sf.ask('close'), sleep(5_000)]).catch(() => undefined);
    sf.kill();
    liveDouble = null;
  }
}

/**
 * The figures checked by other means, on stderr: (1) the double's Tasks read back through its
 * REST query (what jsforce would see) agree with its state; (2) the counting itself, on a
 * Task written behind the workers' back for one version and one session's Task taken away;
 * (3) the latencies against the queue's own times (job added, job finished).
 */
async function crossCheck(
  sf: RemoteDouble,
  info: DoubleInfo,
  n: number,
  counted: ReturnType<typeof countState>,
  state: Parameters<typeof countState>[1],
  queueTimes: Map<string, { added: number; finished: number }>,
): Promise<void> {
  const say = (s: string) => process.stderr.write(`check: ${s}\n`);
  say(`${counted.tasks} Tasks for ${counted.versions} session versions of ${n} sessions; ${counted.duplicateTasks} versions with more than one Task (${counted.extraTasks} Tasks too many), ${counted.lost} sessions without a Task${counted.lostSample.length ? ` (${counted.lostSample.join(', ')}${counted.lost > counted.lostSample.length ? ', ...' : ''})` : ''}; ${counted.posts} CaseComments/FeedItems, ${counted.duplicatePosts} written twice${counted.unattributed ? `; ${counted.unattributed} Tasks with a CallObject naming no bench session` : ''}`);

  // (1) through the REST API, after the API calls were counted; the double answers in pages
  // (as Salesforce does, 2,000 records at most): nextRecordsUrl is followed to the end
  const q = encodeURIComponent('SELECT Id, CallObject FROM Task');
  type Page = { totalSize: number; done: boolean; nextRecordsUrl?: string; records: Array<{ Id: string; CallObject: string | null }> };
  let url: string | null = `${info.url}/services/data/v${info.apiVersion}/query?q=${q}`;
  let totalSize = 0;
  const records: Page['records'] = [];
  let failed: number | null = null;
  while (url !== null) {
    const res = await fetch(url, { headers: { Authorization: `Bearer ${info.token}` } });
    if (!res.ok) {
      failed = res.status;
      break;
    }
    const page = (await res.json()) as Page;
    totalSize = page.totalSize;
    records.push(...page.records);
    url = !page.done && page.nextRecordsUrl ? `${info.url}${page.nextRecordsUrl}` : null;
  }
  if (failed !== null) {
    say(`REST query of the Tasks failed: HTTP ${failed}`);
  } else {
    const perVersion = new Map<string, number>();
    for (const r of records) if (r.CallObject) perVersion.set(r.CallObject, (perVersion.get(r.CallObject) ?? 0) + 1);
    const dupRest = [...perVersion.values()].filter((c) => c > 1).length;
    const agree = totalSize === counted.tasks && records.length === totalSize && perVersion.size === counted.versions && dupRest === counted.duplicateTasks;
    say(`the double's REST query finds ${totalSize} Tasks (${records.length} read over its pages), ${perVersion.size} CallObjects, ${dupRest} with more than one Task: ${agree ? 'agrees' : 'DISAGREES with its state'}`);
  }

  // (2) plant one duplicate and one lost session, count again from the double's state
  const single = [...counted.perVersion.entries()].filter(([, c]) => c === 1).map(([v]) => v);
  if (single.length < 2) {
    say('counting self-check skipped (fewer than two session versions with exactly one Task)');
  } else {
    const [dupVersion, lostVersion] = [single[0]!, single[single.length - 1]!];
    const lostTask = state.tasks.find(([, c]) => c === lostVersion)!;
    const whatId = state.tasks.find(([, c]) => c === dupVersion)![2];
    await sf.ask('insertTask', undefined, { CallObject: dupVersion, WhatId: whatId, Subject: 'planted by the bench', Status: 'Completed' });
    await sf.ask('removeTask', undefined, lostTask[0]);
    const again = countState(n, await sf.ask<Parameters<typeof countState>[1]>('state'));
    const ok = again.duplicates === counted.duplicates + 1 && again.lost === counted.lost + 1 && again.extraTasks === counted.extraTasks + 1;
    say(`counting self-check (one Task added for ${dupVersion}, the Task of ${lostVersion} removed): duplicates ${counted.duplicates} -> ${again.duplicates}, lost ${counted.lost} -> ${again.lost}: ${ok ? 'ok' : 'WRONG'}`);
  }

  // (3) latency from the queue's own times alone: job added (in the submitting process) to job
  // finished (in the completing one)
  const lat = [...queueTimes.values()].filter((t) => t.added && t.finished).map((t) => t.finished - t.added).sort((a, b) => a - b);
  say(`the queue's own times (job added -> job finished) for ${lat.length} completed jobs: p50 ${Math.round(percentile(lat, 50))} ms, p99 ${Math.round(percentile(lat, 99))} ms`);
}

/** Each completed job's session, when it was added and when it finished, as BullMQ keeps them. */
async function readQueueTimes(redis: Redis, queueKey: string): Promise<Map<string, { session: string; added: number; finished: number }>> {
  const ids = await redis.zrange(`${queueKey}:completed`, 0, -1);
  const out = new Map<string, { session: string; added: number; finished: number }>();
  for (let i = 0; i < ids.length; i += 1000) {
    const chunk = ids.slice(i, i + 1000);
    const pipe = redis.pipeline();
    for (const id of chunk) pipe.hmget(`${queueKey}:${id}`, 'timestamp', 'finishedOn');
    const replies = (await pipe.exec()) ?? [];
    chunk.forEach((id, j) => {
      const [added, finished] = ((replies[j]?.[1] ?? [null, null]) as [string | null, string | null]).map(Number);
      // the job id is `<session key>-<version in ms>`
      out.set(id, { session: id.replace(/-\d+$/, ''), added: added ?? 0, finished: finished ?? 0 });
    });
  }
  return out;
}

// =================================================================================================

if (values.child === 'worker') {
  await workerMain();
} else {
  if (!Number.isInteger(WORKERS) || WORKERS < 1) throw new Error(`--workers must be a whole number from 1, not ${values.workers}`);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\n${sig}: stopping the workers and the double\n`);
      killAll();
      const prefix = livePrefix;
      void (prefix ? dropPrefix(prefix, REDIS_URL) : Promise.resolve()).catch(() => undefined).finally(() => process.exit(130));
    });
  }
  const rows: Row[] = [];
  try {
    for (const n of SIZES) {
      for (const variant of ['naive', 'batched'] as const) {
        if (values.only && values.only !== variant) continue;
        const row = await runOnce(variant, n);
        rows.push(row);
        process.stderr.write(`${variant} n=${n} workers=${WORKERS}${KILL_ONE ? ' kill-one' : ''}: ${JSON.stringify(row)}\n`);
      }
    }
  } catch (err) {
    killAll();
    throw err;
  }

  const lock = LOCK_MS ? `JOB_LOCK_MS ${LOCK_MS}` : 'JOB_LOCK_MS default (30 s)';
  console.log(
    `\nccai-crm-sync Salesforce benchmark: ${LATENCY} ms per Salesforce request (double in its own process), ` +
      `${WORKERS} worker process${WORKERS > 1 ? 'es on one queue' : ''}, each with concurrency ${CONCURRENCY ?? 'the default (WORKER_CONCURRENCY)'}, ${SUBMITTERS} parallel submitters and V8 flags "${values['node-flags']}", ${lock}` +
      `${KILL_ONE ? `, one worker killed with SIGKILL once a third of the sessions were done and replaced by a new process` : ''}, Node ${process.version}\n`,
  );
  console.log('| variant | workers | N | API calls | calls / 1,000 sessions | sessions/s | p50 ms | p99 ms | peak RSS MB (max) | peak RSS MB per process | live heap MB | duplicates | lost | failed |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const rss = r.peakRss.map((p) => p.mb).filter((v): v is number => v !== null);
    const perProcess = r.peakRss.map((p) => `${p.mb ?? '?'}${p.note ? ` (${p.note})` : ''}`).join(', ');
    console.log(
      `| ${r.variant} | ${r.workers}${r.kill ? ', one killed' : ''} | ${r.n} | ${r.apiCalls} | ${r.callsPer1000} | ${r.perSecond} | ${r.p50} | ${r.p99} | ${rss.length ? Math.max(...rss) : '?'} | ${perProcess} | ${r.liveHeapMb ?? '-'} | ${r.duplicates} | ${r.lost} | ${r.failed} |`,
    );
  }
  console.log(
    '\nduplicates: session versions (Task.CallObject) with more than one Task in the double, plus CaseComments or FeedItems written twice for one version (the default mapping the bench uses writes none); ' +
      'lost: submitted sessions with no Task in the double. Case fields: n/a (the bench maps none).',
  );
  for (const n of SIZES) {
    const b = rows.find((r) => r.variant === 'batched' && r.n === n);
    const v = rows.find((r) => r.variant === 'naive' && r.n === n);
    if (b && v) console.log(`\nN=${n}: batched makes ${(v.apiCalls / Math.max(1, b.apiCalls)).toFixed(1)}x fewer API calls and is ${(b.perSecond / Math.max(1, v.perSecond)).toFixed(1)}x faster than the naive baseline.`);
  }
  process.exit(0);
}
