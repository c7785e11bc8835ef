// `worker`: the long-running service. Workers process the shared queue; the inbox folder
// (INBOX_DIR), the mailbox (IMAP_URL) and the HTTP endpoint (HTTP_PORT) feed it; /healthz
// and /metrics report.
// SIGINT/SIGTERM: stop taking input, let active jobs finish, then exit. A job cut off by a
// harder stop is not lost: its lock expires and another worker runs it again (idempotently).
import { join } from 'node:path';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { createApp } from '../main.ts';
import type { MailboxReader } from '../sources/imap/mailbox.ts';
import { createMetrics } from '../metrics.ts';
import { startHttp } from '../sources/http.ts';
import { startInbox } from '../sources/inbox.ts';
import type { InboxSource } from '../sources/inbox.ts';
import { EXIT } from './context.ts';
import { ensureWritableDir } from './writable-dir.ts';

export async function workerCommand(config: Config, log: Logger): Promise<number> {
  // before Redis and the target: the local CRM, rejected copies and the inbox's
  // processed/ and rejected/ folders are written while the worker runs
  ensureWritableDir('DATA_DIR', config.dataDir);
  if (config.INBOX_DIR) ensureWritableDir('INBOX_DIR', config.INBOX_DIR);
  const app = await createApp(config, log, { worker: true, allowPrivateRedis: false });
  const metrics = createMetrics(() => app.queue.counts(), () => (app.threads ? { size: app.threads.size, restarts: app.threads.restarts } : null));
  app.worker?.on('completed', (job) => metrics.jobs.inc({ outcome: (job.returnvalue as { status?: string } | undefined)?.status ?? 'delivered' }));
  app.worker?.on('failed', (job) => {
    // finishedOn is set only when the job has ended for good (permanent error or last attempt)
    metrics.jobs.inc({ outcome: !job || job.finishedOn ? 'failed' : 'retrying' });
  });

  let inbox: InboxSource | null = null;
  if (config.INBOX_DIR) {
    inbox = startInbox({
      dir: config.INBOX_DIR,
      pollMs: config.INBOX_POLL_MS,
      settleMs: config.INBOX_SETTLE_MS,
      incompleteGraceMs: config.INBOX_INCOMPLETE_GRACE_MS,
      maxBytes: config.MAX_FILE_BYTES,
      submit: app.submit,
      onDocument: (outcome) => metrics.documents.inc({ source: 'inbox', outcome }),
      log: log.child({ component: 'inbox' }),
    });
  }
  let mailbox: MailboxReader | null = null;
  if (config.imap) {
    // loaded only when a mailbox is configured (imapflow and mailparser are not small)
    const { startMailReader } = await import('../mail-reader.ts');
    mailbox = startMailReader(app, (d) => metrics.mail.inc({ kind: d.kind, action: d.action }));
  }
  const startedAt = new Date().toISOString();
  const http = await startHttp(
    {
      token: config.HTTP_TOKEN,
      maxBytes: config.MAX_FILE_BYTES,
      timeouts: { requestMs: config.HTTP_REQUEST_TIMEOUT_MS, headersMs: config.HTTP_HEADERS_TIMEOUT_MS, keepAliveMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS },
      rejectedDir: join(config.dataDir, 'rejected'),
      submit: app.submit,
      status: (key) => app.status.get(key),
      onDocument: (outcome) => metrics.documents.inc({ source: 'http', outcome }),
      async health() {
        const redisOk = await Promise.race([
          app.connection.ping().then((p) => p === 'PONG').catch(() => false),
          new Promise<boolean>((r) => setTimeout(() => r(false), 2_000).unref()),
        ]);
        const workerOk = Boolean(app.worker?.isRunning());
        const counts = redisOk ? await app.queue.counts().catch(() => null) : null;
        // a mailbox the watchdog could not bring back for several polls makes the service unhealthy
        const mailboxOk = mailbox ? mailbox.healthy() : true;
        return {
          ok: redisOk && workerOk && mailboxOk,
          redis: redisOk ? 'up' : 'down',
          worker: workerOk ? 'running' : 'stopped',
          target: app.target?.name ?? null,
          jobThreads: app.threads ? { size: app.threads.size, restarts: app.threads.restarts } : null,
          inbox: inbox ? { dir: config.INBOX_DIR, lastScanAt: inbox.lastScanAt() } : null,
          // the server only: the login is nobody's business on an HTTP endpoint
          mailbox: mailbox ? { ok: mailboxOk, server: `${config.imap!.host}:${config.imap!.port}`, folders: mailbox.health() } : null,
          queue: counts,
          startedAt,
        };
      },
      async metrics() {
        return { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() };
      },
      log: log.child({ component: 'http' }),
    },
    config.HTTP_PORT,
    config.HTTP_HOST,
  );
  log.info({ target: app.target?.name, inbox: config.INBOX_DIR ?? null, mailbox: config.imap ? config.imap.folders : null, http: `${config.HTTP_HOST}:${http.port}` }, 'worker started');

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping: finishing active jobs');
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await inbox?.close();
  await mailbox?.close();
  await http.close();
  await app.close();
  log.info('stopped');
  return EXIT.ok;
}
