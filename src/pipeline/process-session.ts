// The job: one session version -> its ticket. prepare.ts reads the document again with the
// current configuration (so a replay after a config fix uses the fix), decides and renders,
// on a job thread when the worker has one (JOB_THREADS); the target writes; the status records the outcome.
import type { InputWarning } from '../domain/types.ts';
import type { IntakeCache } from './intake-cache.ts';
import type { JobThreads } from './job-threads.ts';
import { prepareJob } from './prepare.ts';
import type { Prepared, PrepareOptions } from './prepare.ts';
import type { Logger } from '../logger.ts';
import { mergeWarnings } from '../queue/jobs.ts';
import type { JobOutcome, SessionJobData } from '../queue/jobs.ts';
import type { StatusStore } from '../store/status-store.ts';
import { redisErrorCode } from '../store/redis-errors.ts';
import type { JobMeta } from '../queue/worker.ts';
import type { ApplyResult, Target } from '../targets/target.ts';

export interface ProcessDeps extends PrepareOptions {
  /** intake results of documents this process submitted (used when jobs run on this thread) */
  cache?: IntakeCache;
  /** when set, jobs are prepared on these threads */
  threads?: JobThreads | null;
  target: Target;
  status: StatusStore;
  log: Logger;
  onOutcome?: (o: JobOutcome) => void;
}

/** A job under way: a reason to skip it, or its write (pending) and the ticket it goes to. */
type Started = ({ skip: string } | { skip: null; ticketId: string; applied: Promise<ApplyResult> }) & { warnings: InputWarning[] };

function write(deps: ProcessDeps, p: Prepared, data: SessionJobData, meta: JobMeta): Started {
  if (p.skip !== null) return { skip: p.skip, warnings: p.warnings };
  return { skip: null, ticketId: p.ticketId, applied: deps.target.apply(p.update, p.note, { document: data.document, jobId: meta.jobId }), warnings: p.warnings };
}

/**
 * Prepares the job and hands it to the target. Apart from the job's async function on
 * purpose: the parsed document (all of it) and the template data live only in this frame (or
 * on a job thread), instead of staying reachable from the job's suspended frame while the job
 * waits for its batch (hundreds of jobs wait at a time, and what they hold is what the garbage
 * collector copies and promotes).
 */
function startJob(deps: ProcessDeps, data: SessionJobData, meta: JobMeta): Started | Promise<Started> {
  const html = deps.target.usesHtml !== false;
  if (deps.threads) return deps.threads.prepare(data.document, html, data.files).then((p) => write(deps, p, data, meta));
  return write(deps, prepareJob(deps, data.document, html, deps.cache?.take(meta.jobId, data.document) ?? null, data.files), data, meta);
}

export function createSessionProcessor(deps: ProcessDeps) {
  return async (data: SessionJobData, meta: JobMeta): Promise<JobOutcome> => {
    const base = { sessionKey: data.sessionKey, version: data.version, ticketId: data.ticketId, target: deps.target.name };
    const started = await startJob(deps, data, meta);
    const warnings = data.warnings === undefined && started.warnings.length === 0 ? [] : mergeWarnings(data.warnings, started.warnings);
    const said = warnings.length > 0 ? { warnings } : {};
    if (started.skip !== null) {
      const outcome: JobOutcome = { ...base, status: 'skipped', reason: started.skip, ...said };
      await recordPatiently(deps, data.sessionKey, { state: 'skipped', version: data.version, ticket: null, reason: started.skip, code: null, source: data.source, jobId: meta.jobId, warnings });
      deps.onOutcome?.(outcome);
      return outcome;
    }
    const { ticketId } = started;
    const applied = await started.applied;
    const reason = applied.status === 'delivered' ? applied.detail : applied.reason;
    const outcome: JobOutcome = { ...base, ticketId, status: applied.status, reason, ...said };
    await recordPatiently(deps, data.sessionKey, { state: applied.status, version: data.version, ticket: ticketId, reason, code: null, source: data.source, jobId: meta.jobId, warnings });
    // the same line a child logger with job, session and attempt would write, without making one per job
    deps.log.info({ job: meta.jobId, session: data.sessionKey, attempt: meta.attempt, ticket: ticketId, status: applied.status }, 'session processed');
    deps.onOutcome?.(outcome);
    return outcome;
  };
}

/**
 * The job's outcome into the status store, riding out a short Redis outage (a restart): the
 * write is tried again while Redis does not answer, for up to a minute, then given up with a
 * warning. The ticket was written: failing the job now would only run it again to find that
 * out, and a retry scheduled while Redis is away is what left jobs behind before.
 */
async function recordPatiently(deps: ProcessDeps, sessionKey: string, event: Parameters<StatusStore['record']>[1]): Promise<void> {
  const until = Date.now() + STATUS_PATIENCE_MS;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      await deps.status.record(sessionKey, event);
      return;
    } catch (err) {
      if (redisErrorCode(err) !== 'QUEUE_UNAVAILABLE' || Date.now() + delay > until) {
        deps.log.warn({ session: sessionKey, job: event.jobId, state: event.state, err: (err as Error).message }, 'status not recorded (the job itself is done)');
        return;
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

const STATUS_PATIENCE_MS = 60_000;
