// The job: one session version -> its ticket. Re-reads the document with the current
// configuration (so a replay after a config fix uses the fix), decides, renders, writes.
import { enrich } from '../domain/enrichment.ts';
import type { EnrichOptions } from '../domain/enrichment.ts';
import { intake } from '../domain/intake.ts';
import type { IntakeOptions } from '../domain/intake.ts';
import type { IntakeCache } from './intake-cache.ts';
import { SyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { JobOutcome, SessionJobData } from '../queue/jobs.ts';
import type { StatusStore } from '../queue/status-store.ts';
import type { JobMeta } from '../queue/worker.ts';
import { renderNote } from '../render/templates.ts';
import type { NoteTemplates } from '../render/templates.ts';
import type { RenderPool } from '../render/render-pool.ts';
import type { ApplyResult, Target } from '../targets/target.ts';

export interface ProcessDeps {
  intake: IntakeOptions;
  enrich: EnrichOptions;
  templates: NoteTemplates;
  cache?: IntakeCache;
  /** when set, notes are rendered on these threads */
  renderPool?: RenderPool | null;
  target: Target;
  status: StatusStore;
  log: Logger;
  onOutcome?: (o: JobOutcome) => void;
}

/** A job under way: a reason to skip it, or its write (pending) and the ticket it goes to. */
type Started = { skip: string } | { skip: null; ticketId: string; applied: Promise<ApplyResult> };

/**
 * Reads the job's document (or takes the intake this process made of it), decides what to
 * write, renders the note and hands it to the target. Synchronous and apart from the job's
 * async function on purpose: the parsed document (all of it, `session.raw`), the enrichment
 * and the note live only in this frame (and the target's), instead of staying reachable from
 * the job's suspended frame while the job waits for its batch (hundreds of jobs wait at a
 * time, and what they hold is what the garbage collector copies and promotes).
 */
function startJob(deps: ProcessDeps, data: SessionJobData, meta: JobMeta): Started {
  const r = deps.cache?.take(meta.jobId, data.document) ?? intake(Buffer.from(data.document, 'utf8'), deps.intake);
  if (r.status === 'rejected') {
    throw new SyncError(r.problem.code, r.problem.message, { field: r.problem.field });
  }
  if (r.status === 'ignored') throw new SyncError('INPUT_NOT_SESSION', r.reason);
  if (r.status === 'skipped') return { skip: r.reason };
  const enrichment = enrich(r.session, r.ticket, deps.enrich);
  const html = deps.target.usesHtml !== false;
  const ctx = { document: data.document, jobId: meta.jobId };
  const applied = deps.renderPool
    ? deps.renderPool.render(enrichment, { html }).then((note) => deps.target.apply(enrichment, note, ctx))
    : deps.target.apply(enrichment, renderNote(deps.templates, enrichment, { html }), ctx);
  return { skip: null, ticketId: r.ticket.id, applied };
}

export function createSessionProcessor(deps: ProcessDeps) {
  return async (data: SessionJobData, meta: JobMeta): Promise<JobOutcome> => {
    const base = { sessionKey: data.sessionKey, version: data.version, ticketId: data.ticketId, target: deps.target.name };
    const started = startJob(deps, data, meta);
    if (started.skip !== null) {
      const outcome: JobOutcome = { ...base, status: 'skipped', reason: started.skip };
      await deps.status.record(data.sessionKey, { state: 'skipped', version: data.version, ticket: null, reason: started.skip, code: null, source: data.source, jobId: meta.jobId });
      deps.onOutcome?.(outcome);
      return outcome;
    }
    const { ticketId } = started;
    const applied = await started.applied;
    const reason = applied.status === 'delivered' ? applied.detail : applied.reason;
    const outcome: JobOutcome = { ...base, ticketId, status: applied.status, reason };
    await deps.status.record(data.sessionKey, { state: applied.status, version: data.version, ticket: ticketId, reason, code: null, source: data.source, jobId: meta.jobId });
    // the same line a child logger with job, session and attempt would write, without making one per job
    deps.log.info({ job: meta.jobId, session: data.sessionKey, attempt: meta.attempt, ticket: ticketId, status: applied.status }, 'session processed');
    deps.onOutcome?.(outcome);
    return outcome;
  };
}
