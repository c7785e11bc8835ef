// The BullMQ worker loop: runs a processor for each job, turns permanent SyncErrors into
// UnrecoverableError (no retry) and retryable ones into retries with jittered exponential
// backoff (longer for rate limits). A failure is written into the job's data as a typed record
// (`failure`, read with failureOf) and kept as `CODE: message` in the failed reason for people.
import { UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { RedisClient } from '../store/redis.ts';
import { holdMs, toSyncError } from '../errors.ts';
import type { SyncError } from '../errors.ts';
import { JobFailedError, formatFailure } from './jobs.ts';
import type { JobFailure, JobOutcome, SessionJobData } from './jobs.ts';
import type { ErrorCode } from '../errors.ts';

export interface JobMeta {
  jobId: string;
  attempt: number;
  maxAttempts: number;
}

export type Processor = (data: SessionJobData, meta: JobMeta) => Promise<JobOutcome>;

export interface WorkerOptions {
  prefix: string;
  concurrency: number;
  backoffMs: number;
  /** ms a job may run without renewing its lock before another worker takes it over */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** called when a job ends for good (after its last attempt or a permanent error) */
  onFinalFailure?: (data: SessionJobData, err: SyncError, meta: JobMeta) => Promise<void>;
  /** called before a retry is scheduled */
  onRetry?: (data: SessionJobData, err: SyncError, meta: JobMeta) => Promise<void>;
}

const RATE_LIMIT_MIN_MS = 60_000;

/** `code`: the failed attempt's (undefined when BullMQ failed it, not us). */
export function backoffDelay(attemptsMade: number, baseMs: number, code: ErrorCode | undefined): number {
  const base = code === 'TARGET_RATE_LIMITED' ? Math.max(baseMs, RATE_LIMIT_MIN_MS) : baseMs;
  const exp = Math.min(base * 2 ** Math.max(0, attemptsMade - 1), 6 * 3_600_000);
  // full jitter in [exp/2, exp]: retries of many jobs do not arrive together
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

export function startWorker(connection: RedisClient, name: string, processor: Processor, opts: WorkerOptions): Worker<SessionJobData, JobOutcome> {
  const worker: Worker<SessionJobData, JobOutcome> = new Worker<SessionJobData, JobOutcome>(
    name,
    async (job: Job<SessionJobData, JobOutcome>) => {
      const meta: JobMeta = { jobId: job.id ?? '', attempt: job.attemptsMade + 1, maxAttempts: job.opts.attempts ?? 1 };
      try {
        return await processor(job.data, meta);
      } catch (raw) {
        const err = toSyncError(raw);
        const hold = holdMs(err);
        if (hold !== undefined) {
          // The whole target refused us (its API limit, our credentials; the hold the registry
          // declares for the code, or the time the target gave): pause this worker and put the
          // job back as it was (no attempt is used up), rather than burning retries against it.
          await worker.rateLimit(hold);
          throw Worker.RateLimitError();
        }
        const failure: JobFailure = { code: err.code, message: err.message };
        const last = !err.retryable || meta.attempt >= meta.maxAttempts;
        // Neither the typed record nor the status hooks may change how the job ends (a Redis
        // hiccup here would otherwise turn a permanent failure into a retry).
        try {
          await job.updateData({ ...job.data, failure });
        } catch {
          /* without it the job reads as INTERNAL with its failed reason (failureOf) */
        }
        try {
          if (last) await opts.onFinalFailure?.(job.data, err, meta);
          else await opts.onRetry?.(job.data, err, meta);
        } catch {
          /* the job's own failed reason still records it */
        }
        if (!err.retryable) throw new UnrecoverableError(formatFailure(failure));
        throw new JobFailedError(failure, { cause: err });
      }
    },
    {
      connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency,
      autorun: true,
      lockDuration: opts.lockDurationMs ?? 30_000,
      stalledInterval: opts.stalledIntervalMs ?? 30_000,
      maxStalledCount: 3,
      // No rate limit of our own; BullMQ needs a limiter configured for the manual one
      // (worker.rateLimit, used when the CRM tells us to hold off) to put jobs back.
      limiter: { max: 1_000_000, duration: 1_000 },
      settings: {
        // BullMQ hands over the error the processor threw: ours carries its failure
        backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) =>
          backoffDelay(attemptsMade, opts.backoffMs, err instanceof JobFailedError ? err.failure.code : undefined),
      },
    },
  );
  return worker;
}
