// The admin console's wiring: what src/admin/ reads and does, from the app's stores, queue,
// target and templates and the service's sources. Loaded only when ADMIN_PASSWORD is set
// (bull-board and express are not small).
import { createConsole } from '../admin/console.ts';
import type { AdminConsole } from '../admin/console.ts';
import { BASE } from '../admin/pages.ts';
import type { SourceRow } from '../admin/pages.ts';
import { prepareJob } from '../pipeline/prepare.ts';
import { failureOf } from '../queue/jobs.ts';
import { staleAfterMs } from '../store/mailbox-state.ts';
import { answering } from '../store/source-health.ts';
import type { InboxSource } from '../sources/inbox.ts';
import type { App } from './app.ts';
import { enrichOptionsOf } from './app.ts';
import { failedSample, replay, replayable } from './replay.ts';

/** where the console is served (its pages link within it) */
export const ADMIN_BASE = BASE;

export interface ConsoleContext {
  inbox: InboxSource | null;
  startedAt: string;
}

/** The console, or null when it is off (no ADMIN_PASSWORD): the log says which. */
export async function startConsole(app: App, ctx: ConsoleContext): Promise<AdminConsole | null> {
  const { config, log } = app;
  const clog = log.child({ component: 'admin' });
  if (!config.ADMIN_PASSWORD) {
    clog.info('admin console off: set ADMIN_PASSWORD (or ADMIN_PASSWORD_FILE) to serve it under /admin on the HTTP port');
    return null;
  }
  const { createQueueBoard } = await import('../queue/board.ts');
  const board = createQueueBoard([app.queue], {
    basePath: `${ADMIN_BASE}/queues`,
    readOnly: config.ADMIN_READ_ONLY,
    // the board answers a short 500; what went wrong goes to the log
    onError: (err) => clog.error({ err: err.message }, 'queue internals: a request failed'),
  });
  const templates = app.templates;
  const inboxStaleMs = Math.max(60_000, config.INBOX_POLL_MS * 5);
  return createConsole({
    credentials: { user: config.ADMIN_USER, password: config.ADMIN_PASSWORD },
    readOnly: config.ADMIN_READ_ONLY,
    queueName: app.queue.name,
    log: clog,
    async health() {
      return { redis: await app.ping(), worker: Boolean(app.worker?.isRunning()), startedAt: ctx.startedAt };
    },
    counts: () => app.queue.counts(),
    activity: () => app.status.activity(),
    async sources() {
      const rows: SourceRow[] = [];
      if (ctx.inbox) {
        const last = ctx.inbox.lastScanAt();
        rows.push({
          kind: 'inbox',
          name: config.INBOX_DIR ?? '',
          ok: last !== null && Date.now() - Date.parse(last) < inboxStaleMs,
          state: 'watching',
          lastOkAt: last,
          lastError: null,
          detail: `this worker's inbox folder, looked at every ${config.INBOX_POLL_MS / 1000} s`,
        });
      }
      // the mailbox and remote sources as every worker of this queue prefix saved them
      for (const f of await app.mailboxState.health()) {
        rows.push({
          kind: 'mailbox',
          name: f.folder,
          ok: answering(f, staleAfterMs(config.IMAP_POLL_MS)),
          state: f.state,
          lastOkAt: f.lastOkAt,
          lastError: f.lastError,
          detail: `last UID ${f.lastUid}, ${f.reconnects} reconnect(s)${f.idle === false ? ', no IDLE (polled)' : ''}`,
        });
      }
      for (const r of await app.remoteState.health()) {
        rows.push({
          kind: r.source.startsWith('gs://') ? 'bucket' : 'SFTP',
          name: r.source,
          ok: answering(r, r.staleAfterMs),
          state: r.state,
          lastOkAt: r.lastOkAt,
          lastError: r.lastError,
          detail: `${r.taken} taken, ${r.skipped} skipped, ${r.rejected} rejected${r.oldestPendingAt ? `; the oldest waiting since ${r.oldestPendingAt}` : ''}`,
        });
      }
      return rows;
    },
    target: () => ({ name: app.target?.name ?? null, ...(app.target?.state?.() ?? {}) }),
    search: (q) => app.status.search(q),
    status: (key) => app.status.get(key),
    async job(jobId) {
      const job = await app.queue.getJob(jobId);
      if (!job) return null;
      const failedReason = job.failedReason || null;
      return {
        id: job.id ?? jobId,
        state: await job.getState(),
        attemptsMade: job.attemptsMade,
        failedReason,
        failure: failedReason ? failureOf(job.data, failedReason) : null,
        document: job.data.document,
        files: job.data.files ?? [],
      };
    },
    note(document, files) {
      if (!templates) return { error: 'this process has no templates loaded' };
      try {
        const p = prepareJob({ intake: app.intakeOptions, enrich: enrichOptionsOf(config), templates }, document, true, null, files);
        if (p.skip !== null) return { skip: p.skip };
        return { subject: p.note.subject, text: p.note.text, html: p.note.html, ticketUrl: p.update.ticket.url, ticketSystem: p.update.ticket.system };
      } catch (err) {
        return { error: (err as Error).message };
      }
    },
    // a FailedJob is a FailedView with more in it
    replayable: (filter) => replayable(app, filter),
    failedSample: (limit) => failedSample(app, limit),
    replay: (filter) => replay(app, filter),
    board,
  });
}
