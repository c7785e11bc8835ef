// The worker as the rest of the program sees it: run, pause, resume, stop, and hear what each
// job came to. BullMQ's Worker stays behind this in src/queue/ (no other folder names it).
import type { Worker } from 'bullmq';
import type { JobOutcome, SessionJobData } from './jobs.ts';

export interface SessionWorker {
  isRunning(): boolean;
  /** stop taking jobs (the active ones finish) */
  pause(): Promise<void>;
  resume(): void;
  /** graceful: waits for the active jobs */
  close(): Promise<void>;
  /** each job that completed (delivered or skipped), once BullMQ has stored it as completed */
  onCompleted(fn: (outcome: JobOutcome | undefined, jobId: string) => void): void;
  /** each failed attempt; `final` when the job has ended for good */
  onFailed(fn: (final: boolean, data: SessionJobData | undefined, error: Error, jobId: string) => void): void;
  onError(fn: (err: Error) => void): void;
  /**
   * a job that stalled too often (the workers running it kept dying): BullMQ fails it without
   * it reaching the processor, so no SyncError says so
   */
  onStalledTooOften(fn: (data: SessionJobData, jobId: string, message: string) => void): void;
}

export function sessionWorker(worker: Worker<SessionJobData, JobOutcome>): SessionWorker {
  return {
    isRunning: () => worker.isRunning(),
    pause: () => worker.pause(),
    resume: () => worker.resume(),
    close: () => worker.close(),
    onCompleted: (fn) => void worker.on('completed', (job) => fn(job.returnvalue, job.id ?? '')),
    // finishedOn is set only when the job has ended for good (permanent error or last attempt)
    onFailed: (fn) => void worker.on('failed', (job, err) => fn(!job || Boolean(job.finishedOn), job?.data, err, job?.id ?? '')),
    onError: (fn) => void worker.on('error', fn),
    // BullMQ says so only in words ("job stalled more than allowable limit"); this is the one
    // place that reads them
    onStalledTooOften: (fn) =>
      void worker.on('failed', (job, err) => {
        if (job && /stalled/i.test(err.message)) fn(job.data, job.id ?? '', err.message);
      }),
  };
}
