// The BullMQ queue of session versions to write. Only src/queue imports bullmq.
import { Queue, QueueEvents } from 'bullmq';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { JOB_NAME, QUEUE_NAME, jobIdFor } from './jobs.ts';
import type { JobOutcome, SessionJobData } from './jobs.ts';
import type { Session } from '../domain/types.ts';

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
  reason: string;
  attempts: number;
  failedAt: string | null;
}

export class SessionQueue {
  readonly queue: Queue<SessionJobData, JobOutcome>;
  private events: QueueEvents | null = null;
  private eventsConnection: Redis | null = null;
  private readonly connection: Redis;

  constructor(connection: Redis, opts: QueueOptions) {
    this.connection = connection;
    this.queue = new Queue<SessionJobData, JobOutcome>(QUEUE_NAME, {
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
  }

  async enqueue(session: Session, data: SessionJobData): Promise<EnqueueResult> {
    const jobId = jobIdFor(session);
    // In flight: the same version is one job. Finished: run it again and let the target's
    // idempotency decide (the ticket is the truth: a version already there is not written twice,
    // and a failed one gets another chance after whatever was fixed).
    const existing = await this.queue.getJob(jobId);
    let previous: EnqueueResult['previous'] = null;
    if (existing) {
      const state = await existing.getState();
      if (state !== 'completed' && state !== 'failed') return { jobId, added: false, previous: null, state };
      previous = state;
      await existing.remove().catch(() => undefined); // another worker may be re-adding it too
    }
    // Two submitters racing on the same version: BullMQ keeps one job under the id.
    await this.queue.add(JOB_NAME, data, { jobId });
    return { jobId, added: true, previous, state: 'waiting' };
  }

  /** Resolves with the job's outcome when it completes; rejects with its failed reason. */
  async waitFor(jobId: string): Promise<JobOutcome> {
    if (!this.events) {
      this.eventsConnection = this.connection.duplicate();
      this.events = new QueueEvents(QUEUE_NAME, { connection: this.eventsConnection, prefix: this.queue.opts.prefix });
      await this.events.waitUntilReady();
    }
    const job = (await this.queue.getJob(jobId)) as Job<SessionJobData, JobOutcome> | undefined;
    if (!job) throw new Error(`job ${jobId} is gone`);
    return (await job.waitUntilFinished(this.events)) as JobOutcome;
  }

  async getJob(jobId: string): Promise<Job<SessionJobData, JobOutcome> | undefined> {
    return (await this.queue.getJob(jobId)) as Job<SessionJobData, JobOutcome> | undefined;
  }

  async failed(limit = 1000): Promise<FailedJob[]> {
    const jobs = (await this.queue.getFailed(0, limit - 1)) as Array<Job<SessionJobData, JobOutcome>>;
    return jobs.filter(Boolean).map((j) => ({
      jobId: j.id ?? '',
      sessionKey: j.data.sessionKey,
      version: j.data.version,
      ticketId: j.data.ticketId,
      source: j.data.source,
      reason: j.failedReason,
      attempts: j.attemptsMade,
      failedAt: j.finishedOn ? new Date(j.finishedOn).toISOString() : null,
    }));
  }

  /** Moves failed jobs back to waiting; returns the ids replayed. */
  async replay(filter: (f: FailedJob) => boolean = () => true): Promise<FailedJob[]> {
    const replayed: FailedJob[] = [];
    for (const f of await this.failed()) {
      if (!filter(f)) continue;
      const job = await this.getJob(f.jobId);
      if (!job) continue;
      await job.retry('failed', { resetAttemptsMade: true });
      replayed.push(f);
    }
    return replayed;
  }

  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
  }

  async close(): Promise<void> {
    await this.events?.close();
    this.eventsConnection?.disconnect();
    await this.queue.close();
  }
}
