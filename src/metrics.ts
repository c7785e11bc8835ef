// Prometheus metrics (prom-client): what an admin graphs and alerts on.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  documents: Counter<'source' | 'outcome'>;
  jobs: Counter<'outcome'>;
  queue: Gauge<'state'>;
  mail: Counter<'kind' | 'action'>;
  remote: Counter<'source' | 'outcome'>;
}

/** What the remote sources report (bucket, SFTP folder): their health as this worker sees it. */
export type RemoteInfo = () => Array<{ source: string; lastOkAt: string | null; oldestPendingAt: string | null }>;

/** What the job threads report (null without threads). */
export type ThreadsInfo = () => { size: number; restarts: number } | null;

export function createMetrics(queueCounts: () => Promise<Record<string, number>>, threads: ThreadsInfo = () => null, remoteInfo: RemoteInfo = () => []): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ccai_' });
  const documents = new Counter({
    name: 'ccai_documents_total',
    help: 'Documents received, by source (inbox, http) and intake outcome (queued, duplicate, skipped, ignored, rejected)',
    labelNames: ['source', 'outcome'] as const,
    registers: [registry],
  });
  const jobs = new Counter({
    name: 'ccai_jobs_total',
    help: 'Jobs finished by this worker process, by outcome (delivered, skipped, retrying, failed)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const queue = new Gauge({
    name: 'ccai_queue_jobs',
    help: 'Jobs in the shared queue by state (all workers)',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const counts = await queueCounts();
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  const mail = new Counter({
    name: 'ccai_mail_total',
    help: 'Mailbox messages handled, by kind (metadata, bounce, delay, notification, thread-miss, too-large, other) and action (done, reject, leave)',
    labelNames: ['kind', 'action'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'ccai_job_threads',
    help: 'Job threads of this worker process (JOB_THREADS)',
    registers: [registry],
    collect() {
      this.set(threads()?.size ?? 0);
    },
  });
  let restartsSeen = 0;
  new Counter({
    name: 'ccai_job_thread_restarts_total',
    help: 'Job threads started in place of one that stopped (each failed the job it was on, as retryable)',
    registers: [registry],
    collect() {
      const now = threads()?.restarts ?? 0;
      if (now > restartsSeen) this.inc(now - restartsSeen);
      restartsSeen = now;
    },
  });
  const remote = new Counter({
    name: 'ccai_remote_objects_total',
    help: 'Objects of a remote source (gs://…, sftp://…) this worker accounted for, by outcome (queued, duplicate, skipped, ignored, rejected, gone, elsewhere)',
    labelNames: ['source', 'outcome'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'ccai_remote_lag_seconds',
    help: 'Age of the oldest object a remote source still has to take (0: none), as of its last sweep on this worker',
    labelNames: ['source'] as const,
    registers: [registry],
    collect() {
      for (const r of remoteInfo()) this.set({ source: r.source }, r.oldestPendingAt ? Math.max(0, (Date.now() - Date.parse(r.oldestPendingAt)) / 1000) : 0);
    },
  });
  new Gauge({
    name: 'ccai_remote_last_ok_timestamp_seconds',
    help: 'When a remote source was last read completely (a sweep or a notification), Unix time; 0: never on this worker',
    labelNames: ['source'] as const,
    registers: [registry],
    collect() {
      for (const r of remoteInfo()) this.set({ source: r.source }, r.lastOkAt ? Date.parse(r.lastOkAt) / 1000 : 0);
    },
  });
  return { registry, documents, jobs, queue, mail, remote };
}
