// The BullMQ queue of session versions to write. Only src/queue imports bullmq.
import { Queue, QueueEvents } from 'bullmq';
import type { Job } from 'bullmq';
import type { RedisClient } from '../store/redis.ts';
import { JOB_NAME, JobFailedError, failureOf, jobIdFor } from './jobs.ts';
import type { JobFailure, JobOutcome, SessionJobData } from './jobs.ts';
import type { Session } from '../domain/types.ts';
import type { ErrorCode } from '../errors.ts';

export interface QueueOptions {
  prefix: string;
  attempts: number;
  backoffMs: number;
  keepCompletedDays: number;
}

export interface EnqueueResult {
  jobId: string;
  /** false when a job for this exact session version is already waiting or running */
  added: boolean;
  /** when added: what the job id held before (a finished job of an earlier copy), else null */
  previous: 'completed' | 'failed' | null;
  state: string;
}

export interface FailedJob {
  jobId: string;
  sessionKey: string;
  version: string;
  ticketId: string;
  source: string;
  /** why, as a code: the job's typed failure (failureOf); null for an e-mail that came back and whose status no longer says why */
  code: ErrorCode | null;
  /** why, for people: the failed reason (`CODE: message`), or what came back */
  reason: string;
  attempts: number;
  failedAt: string | null;
}

/** The fallback look at a waiter's job starts this long after it began waiting. */
const POLL_AFTER_MS = 5_000;
/** Waiters looked at per second by the fallback. */
const POLL_PER_TICK = 100;

type Waiter = { resolve: (o: JobOutcome) => void; reject: (e: Error) => void; since: number };

export class SessionQueue {
  readonly queue: Queue<SessionJobData, JobOutcome>;
  readonly name: string;
  private events: QueueEvents | null = null;
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly connection: RedisClient;
  private readonly blocking: () => RedisClient;
  private eventsConnection: RedisClient | null = null;
  private poller: NodeJS.Timeout | null = null;
  private polling = false;
  private pollCursor = 0;

  /**
   * `connection` fails fast (producer, getters); `blocking` makes connections that wait
   * forever, which QueueEvents needs. `name` is the queue's name (one per target).
   */
  constructor(connection: RedisClient, blocking: () => RedisClient, name: string, opts: QueueOptions, onError: (err: Error) => void) {
    this.connection = connection;
    this.blocking = blocking;
    this.name = name;
    this.queue = new Queue<SessionJobData, JobOutcome>(name, {
      connection,
      prefix: opts.prefix,
      defaultJobOptions: {
        attempts: opts.attempts,
        backoff: { type: 'sync', delay: opts.backoffMs },
        removeOnComplete: { age: Math.max(1, opts.keepCompletedDays) * 86_400 },
        // Failed jobs stay until replayed or removed by an admin: they are the failed-job list.
        removeOnFail: false,
      },
    });
    this.queue.on('error', onError);
  }

  /**
   * Adds a job for this session version unless one exists: a waiting, running or finished
   * job with the same id means the same file came twice (one job). A failed one is queued
   * again: the file was sent once more, presumably after a fix.
   */
  async enqueue(session: Session, data: SessionJobData, beforeAdd?: () => Promise<void>): Promise<EnqueueResult> {
    const jobId = jobIdFor(session);
    // Most documents are new, and the job's hash alone says so: one EXISTS, the very check
    // BullMQ's add makes for a duplicate id. Only an existing job has its state read (a script
    // that, for a waiting job, scans the waiting list: as long as the backlog). The state, not
    // the job: its data is the whole document.
    const exists = await this.connection.exists(this.queue.toKey(jobId));
    const state = exists ? await this.queue.getJobState(jobId) : 'unknown';
    let previous: EnqueueResult['previous'] = null;
    if (state !== 'unknown') {
      if (state !== 'failed') return { jobId, added: false, previous: null, state };
      previous = 'failed';
      await this.queue.remove(jobId).catch(() => undefined); // another submitter may be re-adding it too
    }
    await beforeAdd?.();
    // Two submitters racing on the same version: BullMQ keeps one job under the id.
    await this.queue.add(JOB_NAME, data, { jobId });
    return { jobId, added: true, previous, state: 'waiting' };
  }

  /**
   * Resolves with the job's outcome when it completes; rejects with a JobFailedError (its
   * typed failure; the message is the failed reason, `CODE: message`). Listens to queue events
   * without holding the job (memory stays flat).
   */
  async waitFor(jobId: string): Promise<JobOutcome> {
    await this.ensureEvents();
    const done = new Promise<JobOutcome>((resolve, reject) => {
      const list = this.waiters.get(jobId) ?? [];
      list.push({ resolve, reject, since: Date.now() });
      this.waiters.set(jobId, list);
    });
    // Settled early (by an event while we look below) before the caller holds it: not unhandled.
    done.catch(() => undefined);
    // It may have finished before we listened.
    await this.check(jobId);
    return done;
  }

  /** Settles a waiter from the job's stored state when the job has ended. */
  private async check(jobId: string): Promise<void> {
    const state = await this.queue.getJobState(jobId);
    if (state === 'completed' || state === 'failed') {
      const job = await this.getJob(jobId);
      if (state === 'completed') this.settle(jobId, { ok: true, value: job?.returnvalue as JobOutcome });
      else this.settle(jobId, { ok: false, failure: failureOf(job?.data, job?.failedReason, 'failed') });
    } else if (state === 'unknown') {
      this.settle(jobId, { ok: false, failure: { code: 'INTERNAL', message: `job ${jobId} is gone from the queue` } });
    }
  }

  private async ensureEvents(): Promise<void> {
    if (this.events) return;
    this.eventsConnection = this.blocking();
    this.events = new QueueEvents(this.name, { connection: this.eventsConnection, prefix: this.queue.opts.prefix });
    this.events.on('error', () => undefined);
    this.events.on('completed', ({ jobId, returnvalue }) => this.settle(jobId, { ok: true, value: returnvalue as JobOutcome }));
    this.events.on('failed', ({ jobId, failedReason }) => {
      // A failed attempt that will be retried is not the end: only settle when it stays failed
      // (its typed failure is in the job: read it there).
      void this.queue.getJobState(jobId).then(async (s) => {
        if (s !== 'failed') return;
        const job = await this.getJob(jobId).catch(() => undefined);
        this.settle(jobId, { ok: false, failure: failureOf(job?.data, failedReason) });
      });
    });
    await this.events.waitUntilReady();
    // Events are fast but not guaranteed (one that fires before the event reader's first read
    // is never seen, or while Redis restarts): a slow look at the waiters' stored state settles
    // what events missed. Only waiters older than a few seconds (events settle the others), a
    // hundred a second in turn, so thousands of waiters cost Redis little.
    this.poller = setInterval(() => {
      if (this.polling || this.waiters.size === 0) return;
      this.polling = true;
      void (async () => {
        const old = Date.now() - POLL_AFTER_MS;
        const due = [...this.waiters.entries()].filter(([, list]) => list[0]!.since < old).map(([jobId]) => jobId);
        if (this.pollCursor >= due.length) this.pollCursor = 0;
        const turn = due.slice(this.pollCursor, this.pollCursor + POLL_PER_TICK);
        this.pollCursor += turn.length;
        for (const jobId of turn) await this.check(jobId).catch(() => undefined);
      })().finally(() => {
        this.polling = false;
      });
    }, 1_000);
  }

  /**
   * A job this process's worker has just completed: its waiter is settled at once, without
   * waiting for the event stream (which still settles waiters of jobs other workers ran).
   */
  completedHere(jobId: string, outcome: JobOutcome): void {
    this.settle(jobId, { ok: true, value: outcome });
  }

  private settle(jobId: string, r: { ok: true; value: JobOutcome } | { ok: false; failure: JobFailure }): void {
    const list = this.waiters.get(jobId);
    if (!list) return;
    this.waiters.delete(jobId);
    for (const w of list) {
      if (r.ok) w.resolve(r.value);
      else w.reject(new JobFailedError(r.failure));
    }
  }

  async getJob(jobId: string): Promise<Job<SessionJobData, JobOutcome> | undefined> {
    return (await this.queue.getJob(jobId)) as Job<SessionJobData, JobOutcome> | undefined;
  }

  /** Every failed job, read page by page. */
  async *failedJobs(pageSize = 500): AsyncGenerator<FailedJob> {
    for (let start = 0; ; start += pageSize) {
      const jobs = (await this.queue.getFailed(start, start + pageSize - 1)) as Array<Job<SessionJobData, JobOutcome>>;
      for (const j of jobs) if (j) yield describeFailed(j);
      if (jobs.length < pageSize) return;
    }
  }

  async failed(limit = Number.POSITIVE_INFINITY): Promise<FailedJob[]> {
    const out: FailedJob[] = [];
    for await (const f of this.failedJobs()) {
      if (out.length >= limit) break;
      out.push(f);
    }
    return out;
  }

  /** Moves failed jobs back to waiting; returns those replayed. */
  async replay(filter: (f: FailedJob) => boolean = () => true): Promise<FailedJob[]> {
    // Collect first: retrying while paging would shift the pages.
    const chosen: FailedJob[] = [];
    for await (const f of this.failedJobs()) if (filter(f)) chosen.push(f);
    const replayed: FailedJob[] = [];
    for (const f of chosen) {
      const job = await this.getJob(f.jobId);
      if (!job) continue;
      try {
        await job.retry('failed', { resetAttemptsMade: true });
      } catch (err) {
        // replayed meanwhile by someone else (another admin, `replay`, bull-board), or removed:
        // no longer failed, so not ours to replay; anything else is a real error
        if ((await job.getState().catch(() => 'unknown')) === 'failed') throw err;
        continue;
      }
      replayed.push(f);
    }
    return replayed;
  }

  /**
   * Completed jobs by id, described as replay candidates with the given codes and reasons
   * (e-mails that came back after they were sent), and the ids whose job is gone (removed after
   * KEEP_COMPLETED_DAYS).
   */
  async completedJobs(reasons: Map<string, { code: ErrorCode | null; reason: string }>): Promise<{ jobs: FailedJob[]; gone: string[] }> {
    const jobs: FailedJob[] = [];
    const gone: string[] = [];
    for (const [jobId, why] of reasons) {
      const job = await this.getJob(jobId);
      if (!job) gone.push(jobId);
      else if ((await job.getState()) === 'completed') jobs.push({ ...describeFailed(job), code: why.code, reason: why.reason });
    }
    return { jobs, gone };
  }

  /** Runs a completed job again; false when it is gone or not completed. */
  async rerunCompleted(jobId: string): Promise<boolean> {
    const job = await this.getJob(jobId);
    if (!job || (await job.getState()) !== 'completed') return false;
    await job.retry('completed', { resetAttemptsMade: true });
    return true;
  }

  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
  }

  /** Removes finished jobs (the demo starts from a clean slate with this). */
  async cleanFinished(): Promise<void> {
    await this.queue.clean(0, 0, 'completed');
    await this.queue.clean(0, 0, 'failed');
  }

  async close(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    for (const [jobId] of this.waiters) this.settle(jobId, { ok: false, failure: { code: 'INTERNAL', message: 'stopped before the job finished' } });
    await this.events?.close();
    this.eventsConnection?.disconnect();
    await this.queue.close();
  }
}

function describeFailed(j: Job<SessionJobData, JobOutcome>): FailedJob {
  return {
    jobId: j.id ?? '',
    sessionKey: j.data.sessionKey,
    version: j.data.version,
    ticketId: j.data.ticketId,
    source: j.data.source,
    code: failureOf(j.data, j.failedReason).code,
    reason: j.failedReason,
    attempts: j.attemptsMade,
    failedAt: j.finishedOn ? new Date(j.finishedOn).toISOString() : null,
  };
}
