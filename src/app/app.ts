// The composition root: from the parsed configuration to every adapter, built once. Redis
// connections and the stores on them, the queue, the target (loaded by CRM), the templates,
// the job threads and the worker. The service (service.ts) adds the sources; every command
// asks this for what it needs instead of wiring its own. No other folder builds an adapter.
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Config } from '../config.ts';
import type { EnrichOptions } from '../domain/enrich/options.ts';
import type { IntakeOptions } from '../domain/intake.ts';
import type { Logger } from '../logger.ts';
import { createSessionProcessor } from '../pipeline/process-session.ts';
import { submitDocument } from '../pipeline/submit.ts';
import { IntakeCache } from '../pipeline/intake-cache.ts';
import type { SubmitOptions, SubmitResult } from '../pipeline/submit.ts';
import { JobThreads } from '../pipeline/job-threads.ts';
import type { JobOutcome, SessionJobData } from '../queue/jobs.ts';
import { queueName } from '../queue/jobs.ts';
import { SessionQueue } from '../queue/session-queue.ts';
import { sessionWorker } from '../queue/session-worker.ts';
import type { SessionWorker } from '../queue/session-worker.ts';
import { startWorker } from '../queue/worker.ts';
import { loadTemplates } from '../render/templates.ts';
import type { NoteSettings } from '../render/templates.ts';
import type { NoteTemplates } from '../render/templates.ts';
import { openConnections } from '../store/connections.ts';
import type { RedisConnections } from '../store/connections.ts';
import { MailStore } from '../store/mail-store.ts';
import { RedisSalesforceLedger } from '../store/salesforce-ledger.ts';
import { RedisMailboxState } from '../store/mailbox-state.ts';
import { ensureRedis } from '../store/redis.ts';
import { RedisRemoteState } from '../store/remote-state.ts';
import type { RedisHandle } from '../store/redis.ts';
import { StatusStore } from '../store/status-store.ts';
import type { Target } from '../targets/target.ts';
import { createTarget } from './targets.ts';

export interface App {
  config: Config;
  log: Logger;
  /** the Redis server (REDIS_URL, the local one, or a private one this command started), or the Redis Cluster (REDIS_CLUSTER) */
  redis: RedisHandle;
  /** Redis answers, within a couple of seconds (for /healthz) */
  ping(): Promise<boolean>;
  queue: SessionQueue;
  /** where each session is and why */
  status: StatusStore;
  /** where the mailbox reader keeps its place, and each folder's health */
  mailboxState: RedisMailboxState;
  /** what the e-mail target sent and claimed (read by the mailbox reader and `replay` too) */
  mailStore: MailStore;
  /** what the remote sources (bucket, SFTP folder) took, their sweep lease and health */
  remoteState: RedisRemoteState;
  intakeOptions: IntakeOptions;
  submit(bytes: Uint8Array, source: string, opts?: SubmitOptions): Promise<SubmitResult>;
  /** present when started with a worker */
  worker: SessionWorker | null;
  /** the worker's job threads (JOB_THREADS), when it has any */
  threads: JobThreads | null;
  target: Target | null;
  /** the note templates, loaded when started with a worker */
  templates: NoteTemplates | null;
  close(): Promise<void>;
}

/**
 * The queue of the configured target. The local CRM lives in DATA_DIR, so its queue is tied to
 * that folder: a fresh DATA_DIR is a fresh CRM, and its files are not "already processed".
 */
export function queueNameFor(config: Config): string {
  if (config.CRM !== 'local') return queueName(config.CRM);
  return queueName(`local-${createHash('sha256').update(config.dataDir).digest('hex').slice(0, 8)}`);
}

export function intakeOptionsOf(config: Config): IntakeOptions {
  return { maxBytes: config.MAX_FILE_BYTES, allowedHosts: config.allowedHosts };
}

export function enrichOptionsOf(config: Config): EnrichOptions {
  return { recordingLink: config.RECORDING_LINK, includeSecuredCustomData: config.INCLUDE_SECURED_CUSTOM_DATA };
}

/**
 * Job threads of a worker (JOB_THREADS): `auto` is one for Salesforce, whose batches keep a
 * worker busy enough to use a second core, when the machine has one. An e-mail worker sends
 * a few messages a second and the local CRM is for trying things out: a thread would only
 * cost memory (about 40 MB).
 */
/** NOTE_LANGUAGE and NOTE_TIME_ZONE, for loadTemplates. */
export function noteSettingsOf(config: Config): NoteSettings {
  return { language: config.NOTE_LANGUAGE ?? null, timeZone: config.NOTE_TIME_ZONE ?? null };
}

export function jobThreadsFor(config: Config): number {
  if (config.JOB_THREADS !== 'auto') return config.JOB_THREADS;
  return config.CRM === 'salesforce' && availableParallelism() > 1 ? 1 : 0;
}

export async function createApp(
  config: Config,
  log: Logger,
  opts: { worker: boolean; allowPrivateRedis: boolean; onOutcome?: (o: JobOutcome) => void; target?: Target },
): Promise<App> {
  // Fail on broken templates before touching the queue; the target (which may keep state in
  // Redis, as the e-mail target does) is made once connected, before any job runs.
  const templates: NoteTemplates | null = opts.worker ? await loadTemplates(config.TEMPLATES_DIR, noteSettingsOf(config)) : null;
  // a catalog that lacks labels works (English stands in): said once, at start-up
  for (const notice of templates?.catalogs.notices ?? []) log.warn({ templates: templates?.dir }, notice);
  const redis = await ensureRedis({ url: config.redisUrl, cluster: config.REDIS_CLUSTER, dataDir: config.dataDir, log, allowPrivate: opts.allowPrivateRedis });
  const redisLog = log.child({ component: 'redis' });
  let connections: RedisConnections;
  try {
    connections = await openConnections(redis, redisLog);
  } catch (err) {
    await redis.close();
    throw err;
  }
  const status = new StatusStore(connections.client, config.QUEUE_PREFIX);
  const mailboxState = new RedisMailboxState(connections.client, config.QUEUE_PREFIX);
  const mailStore = new MailStore(connections.client, config.QUEUE_PREFIX, { claimLeaseMs: config.MAIL_CLAIM_LEASE_MS });
  const remoteState = new RedisRemoteState(connections.client, config.QUEUE_PREFIX);
  let target: Target | null = opts.worker ? (opts.target ?? null) : null;
  if (opts.worker && !target) {
    try {
      target = await createTarget(config, log, {
        mailStore: () => mailStore,
        salesforceLedger: () =>
          new RedisSalesforceLedger(connections.client, config.QUEUE_PREFIX, { leaseMs: config.SF_CLAIM_LEASE_MS, keepMs: config.SF_LEDGER_DAYS * 86_400_000 }),
      });
    } catch (err) {
      connections.close();
      await redis.close();
      throw err;
    }
  }
  const queue = new SessionQueue(
    connections.client,
    () => connections.blocking(),
    queueNameFor(config),
    { prefix: config.QUEUE_PREFIX, attempts: config.JOB_ATTEMPTS, backoffMs: config.JOB_BACKOFF_MS, keepCompletedDays: config.KEEP_COMPLETED_DAYS },
    (err) => redisLog.warn({ err: err.message }, 'queue error'),
  );
  const intakeOptions = intakeOptionsOf(config);
  const threadCount = opts.worker ? jobThreadsFor(config) : 0;
  // only useful (and only filled) when this process also runs the jobs on this thread
  const cache = opts.worker && threadCount === 0 ? new IntakeCache() : undefined;

  let worker: SessionWorker | null = null;
  let threads: JobThreads | null = null;
  if (opts.worker && templates && target) {
    const wlog = log.child({ component: 'worker' });
    if (threadCount > 0) {
      try {
        threads = await JobThreads.start({ size: threadCount, templates, intake: intakeOptions, enrich: enrichOptionsOf(config), log: wlog });
      } catch (err) {
        await target.close().catch(() => undefined);
        await queue.close().catch(() => undefined);
        connections.close();
        await redis.close();
        throw err;
      }
    }
    const processor = createSessionProcessor({
      intake: intakeOptions,
      enrich: enrichOptionsOf(config),
      templates,
      threads,
      cache,
      target,
      status,
      log: wlog,
      onOutcome: opts.onOutcome,
    });
    const failed = (data: SessionJobData, code: string, message: string, jobId: string) =>
      status.record(data.sessionKey, { state: 'failed', version: data.version, ticket: data.ticketId, reason: message, code, source: data.source, jobId });
    worker = sessionWorker(
      startWorker(connections.blocking(), queueNameFor(config), processor, {
        prefix: config.QUEUE_PREFIX,
        concurrency: config.WORKER_CONCURRENCY,
        backoffMs: config.JOB_BACKOFF_MS,
        lockDurationMs: config.JOB_LOCK_MS,
        stalledIntervalMs: config.JOB_LOCK_MS,
        onFinalFailure: async (data, err, meta) => {
          wlog.warn({ session: data.sessionKey, job: meta.jobId, code: err.code }, 'job failed');
          await failed(data, err.code, err.message, meta.jobId);
        },
        onRetry: async (data, err, meta) => {
          await status.record(data.sessionKey, { state: 'retrying', version: data.version, ticket: data.ticketId, reason: `attempt ${meta.attempt} of ${meta.maxAttempts} failed: ${err.message}`, code: err.code, source: data.source, jobId: meta.jobId });
        },
      }),
    );
    worker.onError((err) => wlog.error({ err: err.message }, 'worker error'));
    // a job this process completed settles its waiters at once (others' wait for the event stream)
    worker.onCompleted((outcome, jobId) => {
      if (outcome) queue.completedHere(jobId, outcome);
    });
    // A job that stalled too often (its workers kept dying) fails without reaching the processor.
    worker.onStalledTooOften((data, jobId, message) => {
      void failed(data, 'INTERNAL', `the job stalled too many times (workers stopped while running it): ${message}`, jobId).catch(() => undefined);
    });
  }

  const submitLog = log.child({ component: 'submit' });
  return {
    config,
    log,
    redis,
    ping: () => connections.ping(),
    queue,
    status,
    mailboxState,
    mailStore,
    remoteState,
    intakeOptions,
    worker,
    threads,
    target,
    templates,
    submit: (bytes, source, o) => submitDocument({ intake: intakeOptions, queue, status, log: submitLog, cache }, bytes, source, o),
    async close() {
      // Graceful: a worker's close() waits for its active jobs to finish. Whatever fails on
      // the way, the connections and a private redis-server are still closed.
      try {
        await worker?.close();
        await queue.close();
        await target?.close();
        await threads?.close();
      } finally {
        connections.close();
        await redis.close();
      }
    },
  };
}
