// `status <kind-id>`: where a session is and why, from the status store and the queue.
import type { Config } from '../config.ts';
import { parseSessionKey } from '../domain/session/parse.ts';
import { SyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { createApp } from '../app/app.ts';
import { failureOf } from '../queue/jobs.ts';
import { staleAfterMs } from '../store/mailbox-state.ts';
import { answering } from '../store/source-health.ts';
import { EXIT, printJson, warningText } from './context.ts';

export async function statusCommand(config: Config, log: Logger, key: string | undefined, opts: { json?: boolean }): Promise<number> {
  if (key === undefined) return overview(config, log, opts);
  const parsed = parseSessionKey(key);
  if (!parsed) throw new SyncError('CONFIG_INVALID', `"${key}" is not a session key: use call-<id> or chat-<id>, e.g. call-1418`);
  const sessionKey = `${parsed.kind}-${parsed.id}`;
  const app = await createApp(config, log, { worker: false, allowPrivateRedis: true });
  try {
    const st = await app.status.get(sessionKey);
    const job = st?.latest.jobId ? await app.queue.getJob(st.latest.jobId) : undefined;
    // the last failure: its text for people, and its code as the job's typed record has it
    const jobInfo = job
      ? {
          id: job.id,
          state: await job.getState(),
          attemptsMade: job.attemptsMade,
          failedReason: job.failedReason || null,
          failure: job.failedReason ? failureOf(job.data, job.failedReason) : null,
        }
      : null;
    if (opts.json) {
      printJson({ session: sessionKey, found: Boolean(st), latest: st?.latest ?? null, job: jobInfo, history: st?.history ?? [] });
      return st ? EXIT.ok : EXIT.problems;
    }
    if (!st) {
      process.stdout.write(`${sessionKey}: not seen (no file for it has been submitted to this queue, or its record expired)\n`);
      return EXIT.problems;
    }
    const l = st.latest;
    process.stdout.write(`${sessionKey}: ${l.state}${l.ticket ? ` on ticket ${l.ticket}` : ''}${l.version ? ` (version ${l.version})` : ''}\n`);
    if (l.reason) process.stdout.write(`  why: ${l.code ? `${l.code}: ` : ''}${l.reason}\n`);
    if (l.source) process.stdout.write(`  from: ${l.source}\n`);
    for (const w of l.warnings ?? []) process.stdout.write(`  warning: ${warningText(w)}\n`);
    if (jobInfo) process.stdout.write(`  job ${jobInfo.id}: ${jobInfo.state}, ${jobInfo.attemptsMade} attempt(s)${jobInfo.failedReason ? `, last error ${jobInfo.failedReason}` : ''}\n`);
    process.stdout.write('  history (newest first):\n');
    for (const h of st.history.slice(0, 10)) {
      process.stdout.write(`    ${h.at}  ${h.state.padEnd(9)} ${h.version ?? ''} ${h.reason ? `- ${h.reason}` : ''}\n`);
    }
    return EXIT.ok;
  } finally {
    await app.close();
  }
}

/** `status` alone: the queue's counts and, when a mailbox is read, each folder's watchdog state (from any worker). */
async function overview(config: Config, log: Logger, opts: { json?: boolean }): Promise<number> {
  const app = await createApp(config, log, { worker: false, allowPrivateRedis: true });
  try {
    const queue = await app.queue.counts();
    const folders = (await app.mailboxState.health()).map((f) => ({
      ...f,
      // the reader's own limit (its IMAP_POLL_MS), as it saved it
      ok: answering(f, staleAfterMs(config.IMAP_POLL_MS)),
    }));
    const remote = (await app.remoteState.health()).map((r) => ({
      ...r,
      ok: answering(r, r.staleAfterMs),
    }));
    const ok = folders.every((f) => f.ok) && remote.every((r) => r.ok);
    if (opts.json) {
      printJson({ queue: { name: app.queue.name, ...queue }, mailbox: folders, remote, ok });
      return ok ? EXIT.ok : EXIT.problems;
    }
    process.stdout.write(`queue ${app.queue.name}: ${Object.entries(queue).map(([k, v]) => `${v} ${k}`).join(', ')}\n`);
    if (folders.length === 0) process.stdout.write('mailbox: none read (IMAP_URL not set on any worker of this queue prefix)\n');
    for (const f of folders) {
      const state = f.ok ? f.state : 'NOT ANSWERING';
      process.stdout.write(`mailbox ${f.mailbox}: ${state}, last read ${f.lastOkAt ?? 'never'}, last UID ${f.lastUid}, ${f.handled} handled, ${f.reconnects} reconnect(s)${f.lastError ? `, last error: ${f.lastError}` : ''}\n`);
    }
    for (const r of remote) {
      const state = r.ok ? r.state : 'NOT ANSWERING';
      const lag = r.oldestPendingAt ? `, oldest waiting since ${r.oldestPendingAt}` : '';
      process.stdout.write(`remote ${r.source}: ${state}, last read ${r.lastOkAt ?? 'never'}, ${r.taken} taken, ${r.skipped} skipped, ${r.rejected} rejected${lag}${r.lastError ? `, last error: ${r.lastError}` : ''}
`);
    }
    return ok ? EXIT.ok : EXIT.problems;
  } finally {
    await app.close();
  }
}
