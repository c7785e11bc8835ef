// The CPU part of a job: the document read again with the current configuration (so a replay
// after a config fix uses the fix), the write decided and the note rendered. Synchronous and
// free of I/O, so it runs the same on the worker's main thread or on a job thread
// (job-threads.ts); only what the target needs comes out of it.
import { enrich } from '../domain/enrich/enrich.ts';
import type { EnrichOptions } from '../domain/enrich/options.ts';
import { intake } from '../domain/intake.ts';
import type { IntakeOptions, IntakeResult } from '../domain/intake.ts';
import type { InputWarning, RenderedNote, TicketUpdate } from '../domain/types.ts';
import { SyncError } from '../errors.ts';
import { fitNote, renderNote } from '../render/templates.ts';
import type { NoteTemplates } from '../render/templates.ts';

export interface PrepareOptions {
  intake: IntakeOptions;
  enrich: EnrichOptions;
  templates: NoteTemplates;
}

/** A job ready for its target, or the reason there is nothing to write. */
export type Prepared = (
  | { skip: string }
  | { skip: null; ticketId: string; update: TicketUpdate; note: RenderedNote }
) & { /** what the parser corrected or dropped, for the job's status */ warnings: InputWarning[] };

/**
 * Throws SyncError with the intake's code (and field) when the document is no longer
 * acceptable, e.g. after a configuration change between submission and the job.
 * `parsed` is this very document's intake when the caller still has it (intake-cache.ts).
 */
export function prepareJob(o: PrepareOptions, document: string, html: boolean, parsed: IntakeResult | null = null, files: readonly string[] = []): Prepared {
  const r = parsed ?? intake(Buffer.from(document, 'utf8'), o.intake);
  if (r.status === 'rejected') throw new SyncError(r.problem.code, r.problem.message, { field: r.problem.field });
  if (r.status === 'ignored') throw new SyncError('INPUT_NOT_SESSION', r.reason);
  if (r.status === 'skipped') return { skip: r.reason, warnings: r.warnings };
  const e = enrich(r.session, r.ticket, o.enrich, files);
  const fitted = fitNote(renderNote(o.templates, e, { html }));
  const { view: _rendered, warnings: cut, ...update } = e;
  const warnings = cut.length + fitted.warnings.length > 0 ? [...r.warnings, ...cut, ...fitted.warnings] : r.warnings;
  return { skip: null, ticketId: r.ticket.id, update, note: fitted.note, warnings };
}
