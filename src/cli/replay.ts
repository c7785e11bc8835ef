// `replay [kind-id...]`: re-queue failed sessions (all, or the ones named) after a fix. With
// CRM=email that includes e-mails that came back after they were sent (a bounce, a NEW ticket):
// their jobs completed, so they are found through the e-mail target's memory.
import type { Config } from '../config.ts';
import { parseOurMessageId } from '../domain/mail/message-id.ts';
import { isErrorCode } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { createApp } from '../app/app.ts';
import type { App } from '../app/app.ts';
import type { FailedJob } from '../queue/session-queue.ts';
import { EXIT, printJson } from './context.ts';

export async function replayCommand(config: Config, log: Logger, keys: string[], opts: { json?: boolean; list?: boolean }): Promise<number> {
  const app = await createApp(config, log, { worker: false, allowPrivateRedis: true });
  try {
    const wanted = new Set(keys);
    const filter = (f: { sessionKey: string }) => wanted.size === 0 || wanted.has(f.sessionKey);
    const returned = config.CRM === 'email' ? await returnedEmails(app) : null;
    const comeBack = (returned?.jobs ?? []).filter(filter);
    let jobs: FailedJob[];
    if (opts.list) {
      jobs = [...(await app.queue.failed()).filter(filter), ...comeBack];
    } else {
      jobs = await app.queue.replay(filter);
      for (const f of comeBack) {
        // the next run of the job sends the e-mail again, under the next generation of its Message-ID
        await returned!.store.forgetReturned(f.jobId, returned!.entries.get(f.jobId)!);
        if (await app.queue.rerunCompleted(f.jobId)) jobs.push(f);
      }
      for (const f of jobs) {
        await app.status.record(f.sessionKey, { state: 'queued', version: f.version, ticket: f.ticketId, reason: 'replayed', code: null, source: f.source, jobId: f.jobId });
      }
    }
    const expired = returned?.expired ?? 0;
    if (opts.json) printJson({ [opts.list ? 'failed' : 'replayed']: jobs, ...(expired ? { expired } : {}) });
    else {
      if (expired) process.stdout.write(`${expired} returned e-mail(s) could not be replayed: their jobs expired (KEEP_COMPLETED_DAYS); submit their files again\n`);
      process.stdout.write(opts.list ? `${jobs.length} failed job(s)\n` : `replayed ${jobs.length} failed job(s); a running worker picks them up\n`);
      for (const f of jobs) process.stdout.write(`  ${f.sessionKey.padEnd(14)} ${f.ticketId.padEnd(20)} ${f.reason}\n`);
    }
    return EXIT.ok;
  } finally {
    await app.close();
  }
}

/** E-mails that came back (their jobs completed), with the code and reason `status` shows for their session. */
async function returnedEmails(app: App) {
  const store = app.mailStore;
  const entries = await store.returned();
  const reasons = new Map<string, { code: ErrorCode | null; reason: string }>();
  for (const [jobId, r] of entries) {
    const key = parseOurMessageId(r.baseId)?.sessionKey;
    const latest = key ? (await app.status.get(key))?.latest : null;
    reasons.set(
      jobId,
      latest?.code && latest.jobId === jobId
        ? { code: isErrorCode(latest.code) ? latest.code : null, reason: `${latest.code}: ${latest.reason}` }
        : { code: null, reason: 'the e-mail came back (bounce or new ticket)' },
    );
  }
  const { jobs, gone } = await app.queue.completedJobs(reasons);
  // a job removed after KEEP_COMPLETED_DAYS cannot run again: forget it, and say so
  for (const jobId of gone) await store.dropReturned(jobId);
  return { store, entries, jobs, expired: gone.length };
}
