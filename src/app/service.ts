// The long-running service around an app: the sources that feed the queue (the inbox folder,
// the mailbox, the HTTP endpoint) and what reports on it (/healthz, /metrics), each built from
// its slice of the configuration. `worker` runs it; tests can too.
import { join } from 'node:path';
import { createMetrics } from '../metrics.ts';
import { startHttp } from '../sources/http.ts';
import type { HttpSource } from '../sources/http.ts';
import type { MailboxReader } from '../sources/imap/mailbox.ts';
import { startInbox } from '../sources/inbox.ts';
import type { InboxSource } from '../sources/inbox.ts';
import type { AdminConsole } from '../admin/console.ts';
import { ADMIN_BASE, startConsole } from './admin.ts';
import type { App } from './app.ts';
import type { RemoteSources } from './remote.ts';

export interface Service {
  http: HttpSource;
  /** the admin console's address, when it is on */
  adminUrl: string | null;
  /** stops taking input (inbox, mailbox, HTTP); the app is closed by its owner */
  close(): Promise<void>;
}

export async function startService(app: App): Promise<Service> {
  const { config, log } = app;
  let remote: RemoteSources | null = null;
  const metrics = createMetrics(
    () => app.queue.counts(),
    () => (app.threads ? { size: app.threads.size, restarts: app.threads.restarts } : null),
    () => remote?.pollers.map((p) => p.health()) ?? [],
  );
  app.worker?.onCompleted((outcome) => metrics.jobs.inc({ outcome: outcome?.status ?? 'delivered' }));
  app.worker?.onFailed((final) => metrics.jobs.inc({ outcome: final ? 'failed' : 'retrying' }));

  let inbox: InboxSource | null = null;
  if (config.INBOX_DIR) {
    inbox = startInbox({
      dir: config.INBOX_DIR,
      pollMs: config.INBOX_POLL_MS,
      settleMs: config.INBOX_SETTLE_MS,
      incompleteGraceMs: config.INBOX_INCOMPLETE_GRACE_MS,
      claimStaleMs: config.INBOX_CLAIM_STALE_MS,
      maxBytes: config.MAX_FILE_BYTES,
      submit: app.submit,
      onDocument: (outcome) => metrics.documents.inc({ source: 'inbox', outcome }),
      log: log.child({ component: 'inbox' }),
    });
  }
  let mailbox: MailboxReader | null = null;
  if (config.imap) {
    // loaded only when a mailbox is configured (imapflow and mailparser are not small)
    const { startMailReader } = await import('./mail-reader.ts');
    mailbox = startMailReader(app, (d) => metrics.mail.inc({ kind: d.kind, action: d.action }));
  }
  if (config.GCS_BUCKET || config.SFTP_URL) {
    // loaded only when configured (the Google Cloud and SSH libraries are not small)
    const { startRemoteSources } = await import('./remote.ts');
    try {
      remote = await startRemoteSources(app, (source, t) => metrics.remote.inc({ source, outcome: t.status }));
    } catch (err) {
      await inbox?.close();
      await mailbox?.close();
      throw err;
    }
  }
  const startedAt = new Date().toISOString();
  let admin: AdminConsole | null = null;
  try {
    admin = await startConsole(app, { inbox, startedAt });
  } catch (err) {
    await remote?.close();
    await inbox?.close();
    await mailbox?.close();
    throw err;
  }
  const http = await startHttp(
    {
      token: config.HTTP_TOKEN,
      maxBytes: config.MAX_FILE_BYTES,
      timeouts: { requestMs: config.HTTP_REQUEST_TIMEOUT_MS, headersMs: config.HTTP_HEADERS_TIMEOUT_MS, keepAliveMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS },
      rejectedDir: join(config.dataDir, 'rejected'),
      submit: app.submit,
      status: (key) => app.status.get(key),
      onDocument: (outcome) => metrics.documents.inc({ source: 'http', outcome }),
      admin: admin ? (req, res, url) => admin.handle(req, res, url) : null,
      async health() {
        const redisOk = await app.ping();
        const workerOk = Boolean(app.worker?.isRunning());
        const counts = redisOk ? await app.queue.counts().catch(() => null) : null;
        // a mailbox the watchdog could not bring back for several polls makes the service unhealthy
        const mailboxOk = mailbox ? mailbox.healthy() : true;
        // and so does a bucket or SFTP folder not read for several sweeps (standing by is fine)
        const remoteOk = remote ? remote.pollers.every((p) => p.healthy()) : true;
        return {
          ok: redisOk && workerOk && mailboxOk && remoteOk,
          redis: redisOk ? 'up' : 'down',
          worker: workerOk ? 'running' : 'stopped',
          target: app.target?.name ?? null,
          jobThreads: app.threads ? { size: app.threads.size, restarts: app.threads.restarts } : null,
          inbox: inbox ? { dir: config.INBOX_DIR, lastScanAt: inbox.lastScanAt() } : null,
          // the server only: the login is nobody's business on an HTTP endpoint
          mailbox: mailbox ? { ok: mailboxOk, server: `${config.imap!.host}:${config.imap!.port}`, folders: mailbox.health() } : null,
          remote: remote ? remote.pollers.map((p) => ({ ok: p.healthy(), ...p.health() })) : null,
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
  const adminUrl = admin ? `http://${urlHost(config.HTTP_HOST)}:${http.port}${ADMIN_BASE}` : null;
  log.info({ target: app.target?.name, inbox: config.INBOX_DIR ?? null, mailbox: config.imap ? config.imap.folders : null, remote: remote?.pollers.map((p) => p.label) ?? null, http: `${config.HTTP_HOST}:${http.port}`, admin: adminUrl }, 'worker started');
  return {
    http,
    adminUrl,
    async close() {
      await remote?.close();
      await inbox?.close();
      await mailbox?.close();
      await http.close();
    },
  };
}

/** A host as it goes in a URL (an IPv6 address in brackets). */
function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
