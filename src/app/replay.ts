// Replaying failed sessions after a fix, for `replay` and the admin console alike: failed jobs
// go back to waiting (attempts reset), and with CRM=email so do e-mails that came back after
// they were sent (a bounce, a NEW ticket), whose jobs completed and are found through the
// e-mail target's memory. Each replayed session's status says so. Nothing is written twice: a
// job runs again under its own id, and the targets' idempotency keys (the Salesforce ledger,
// the e-mail's Message-ID generation) decide what its run writes.
import { parseOurMessageId } from '../domain/mail/message-id.ts';
import { isErrorCode } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import type { FailedJob } from '../queue/session-queue.ts';
import type { App } from './app.ts';

export type ReplayFilter = (f: FailedJob) => boolean;

export interface Replayable {
  /** failed jobs, and e-mails that came back, that the filter takes */
  jobs: FailedJob[];
  /** returned e-mails whose jobs were removed (KEEP_COMPLETED_DAYS): they cannot be replayed */
  expired: number;
}

/** What a replay with this filter would take, without changing anything. */
export async function replayable(app: App, filter: ReplayFilter = () => true): Promise<Replayable> {
  const returned = app.config.CRM === 'email' ? await returnedEmails(app, { forgetExpired: false }) : null;
  return { jobs: [...(await app.queue.failed()).filter(filter), ...(returned?.jobs ?? []).filter(filter)], expired: returned?.expired ?? 0 };
}

/**
 * The newest failed jobs, at most `limit` (each read whole: its data holds the metadata file),
 * and the e-mails that came back, for a summary (the console's overview); nothing changed.
 */
export async function failedSample(app: App, limit: number): Promise<Replayable & { complete: boolean }> {
  const jobs = await app.queue.failed(limit + 1);
  const returned = app.config.CRM === 'email' ? await returnedEmails(app, { forgetExpired: false }) : null;
  return { jobs: [...jobs.slice(0, limit), ...(returned?.jobs ?? [])], expired: returned?.expired ?? 0, complete: jobs.length <= limit };
}

/** Replays what the filter takes; answers the jobs replayed. */
export async function replay(app: App, filter: ReplayFilter = () => true): Promise<Replayable> {
  const returned = app.config.CRM === 'email' ? await returnedEmails(app, { forgetExpired: true }) : null;
  const jobs = await app.queue.replay(filter);
  for (const f of (returned?.jobs ?? []).filter(filter)) {
    // the next run of the job sends the e-mail again, under the next generation of its Message-ID
    await returned!.store.forgetReturned(f.jobId, returned!.entries.get(f.jobId)!);
    if (await app.queue.rerunCompleted(f.jobId)) jobs.push(f);
  }
  for (const f of jobs) {
    await app.status.record(f.sessionKey, { state: 'queued', version: f.version, ticket: f.ticketId, reason: 'replayed', code: null, source: f.source, jobId: f.jobId });
  }
  return { jobs, expired: returned?.expired ?? 0 };
}

/** E-mails that came back (their jobs completed), with the code and reason `status` shows for their session. */
async function returnedEmails(app: App, opts: { forgetExpired: boolean }) {
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
  // a job removed after KEEP_COMPLETED_DAYS cannot run again: said by every listing, and
  // forgotten by a replay (a listing changes nothing)
  if (opts.forgetExpired) for (const jobId of gone) await store.dropReturned(jobId);
  return { store, entries, jobs, expired: gone.length };
}
