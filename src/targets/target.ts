// The interface every CRM target implements. A target receives what the pure domain decided
// to write and must apply it idempotently: the same (ticket, session, version) twice writes once.
import type { RenderedNote, TicketUpdate } from '../domain/types.ts';

export type ApplyResult =
  | { status: 'delivered'; detail: string }
  | { status: 'skipped'; reason: string };

/** What a target may need beyond the enrichment: the original document (e-mail attachment). */
export interface ApplyContext {
  document?: string;
  /** the queue job writing it (kept with what was sent, so later news of it finds the job) */
  jobId?: string;
}

export interface Target {
  readonly name: string;
  /** false when the target never writes the HTML note (saves rendering it) */
  readonly usesHtml?: boolean;
  /**
   * Writes the update and its note on the ticket. Throws SyncError (retryable or permanent)
   * on failure. Gets the enrichment without its template data (`view`): that is in the note.
   */
  apply(update: TicketUpdate, note: RenderedNote, ctx?: ApplyContext): Promise<ApplyResult>;
  close(): Promise<void>;
}
