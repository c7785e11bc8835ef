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

/**
 * What a target can tell about itself, for the admin console: this process's view (each worker
 * has its own connection, and its own pause).
 */
export interface TargetState {
  /** the org's daily API usage as Salesforce last reported it (Sforce-Limit-Info), when known */
  apiUsage?: { used: number; limit: number } | null;
  /** writes are held until then (API usage past the threshold, refused credentials) */
  pause?: { until: string; why: string } | null;
  /** the mail server refused e-mails (a reply code, or refused credentials) since this process started */
  refusals?: { count: number; lastAt: string | null; last: string | null };
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
  /** the target's state as this process sees it (the admin console's overview) */
  state?(): TargetState;
}
