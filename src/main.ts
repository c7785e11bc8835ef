// Composition root: config -> logger -> Redis -> queue, status, target, templates -> worker.
// Commands and sources get what they need from here; nothing else wires adapters together.
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import type { EnrichOptions } from './domain/enrichment.ts';
import type { IntakeOptions } from './domain/intake.ts';
import type { Logger } from './logger.ts';
import { createSessionProcessor } from './pipeline/process-session.ts';
import { submitDocument } from './pipeline/submit.ts';
import type { SubmitOptions, SubmitResult } from './pipeline/submit.ts';
import type { JobOutcome } from './queue/jobs.ts';
import { connectRedis, ensureRedis } from './queue/redis.ts';
import type { RedisHandle } from './queue/redis.ts';
import { SessionQueue } from './queue/session-queue.ts';
import { StatusStore } from './queue/status-store.ts';
import { startWorker } from './queue/worker.ts';
import { loadTemplates } from './render/templates.ts';
import type { NoteTemplates } from './render/templates.ts';
import { createTarget } from './targets/index.ts';
import type { Target } from './targets/target.ts';

export interface App {
  config: Config;
  log: Logger;
  redis: RedisHandle;
  connection: Redis;
  queue: SessionQueue;
  status: StatusStore;
  intakeOptions: IntakeOptions;
  submit(bytes: Uint8Array, source: string, opts?: SubmitOptions): Promise<SubmitResult>;
  /** present when started with a worker */
  worker: Worker | null;
  target: Target | null;
  close(): Promise<void>;
}

export function intakeOptionsOf(config: Config): IntakeOptions {
  return { maxBytes: config.MAX_FILE_BYTES, allowedHosts: config.allowedHosts };
}

export function enrichOptionsOf(config: Config): EnrichOptions {
  return { recordingLink: config.RECORDING_LINK, includeSecuredCustomData: config.INCLUDE_SECURED_CUSTOM_DATA };
}

export async function createApp(
  config: Config,
  log: Logger,
  opts: { worker: boolean; allowPrivateRedis: boolean; onOutcome?: (o: JobOutcome) => void; target?: Target },
): Promise<App> {
  // Fail on broken templates or target config before touching the queue.
  let templates: NoteTemplates | null = null;
  let target: Target | null = null;
  if (opts.worker) {
    templates = await loadTemplates(config.TEMPLATES_DIR);
    target = opts.target ?? createTarget(config);
  }
  const redis = await ensureRedis({ url: config.redisUrl, dataDir: config.dataDir, log, allowPrivate: opts.allowPrivateRedis });
  const connection = connectRedis(redis.url);
  connection.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
  const queue = new SessionQueue(connection, {
    prefix: config.QUEUE_PREFIX,
    attempts: config.JOB_ATTEMPTS,
    backoffMs: config.JOB_BACKOFF_MS,
    keepCompletedDays: config.KEEP_COMPLETED_DAYS,
  });
  const status = new StatusStore(connection, config.QUEUE_PREFIX);
  const intakeOptions = intakeOptionsOf(config);

  let worker: Worker | null = null;
  let workerConnection: Redis | null = null;
  if (opts.worker && templates && target) {
    const processor = createSessionProcessor({
      intake: intakeOptions,
      enrich: enrichOptionsOf(config),
      templates,
      target,
      status,
      log: log.child({ component: 'worker' }),
      onOutcome: opts.onOutcome,
    });
    workerConnection = connection.duplicate();
    worker = startWorker(workerConnection, processor, {
      prefix: config.QUEUE_PREFIX,
      concurrency: config.WORKER_CONCURRENCY,
      backoffMs: config.JOB_BACKOFF_MS,
      lockDurationMs: config.JOB_LOCK_MS,
      stalledIntervalMs: config.JOB_LOCK_MS,
      onFinalFailure: async (data, err, meta) => {
        log.warn({ session: data.sessionKey, job: meta.jobId, code: err.code }, 'job failed');
        await status.record(data.sessionKey, { state: 'failed', version: data.version, ticket: data.ticketId, reason: err.message, code: err.code, source: data.source, jobId: meta.jobId });
      },
      onRetry: async (data, err, meta) => {
        await status.record(data.sessionKey, { state: 'retrying', version: data.version, ticket: data.ticketId, reason: `attempt ${meta.attempt} of ${meta.maxAttempts} failed: ${err.message}`, code: err.code, source: data.source, jobId: meta.jobId });
      },
    });
    worker.on('error', (err) => log.error({ err: err.message }, 'worker error'));
  }

  const submitLog = log.child({ component: 'submit' });
  return {
    config,
    log,
    redis,
    connection,
    queue,
    status,
    intakeOptions,
    worker,
    target,
    submit: (bytes, source, o) => submitDocument({ intake: intakeOptions, queue, status, log: submitLog }, bytes, source, o),
    async close() {
      // Graceful: a worker's close() waits for its active jobs to finish.
      await worker?.close();
      await queue.close();
      await target?.close();
      workerConnection?.disconnect();
      connection.disconnect();
      await redis.close();
    },
  };
}
