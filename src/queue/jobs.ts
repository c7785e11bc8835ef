// What a queued job carries and how its id is derived from the business key, so the same
// file twice is one job: (kind, id, updated_at) -> `call-1418-1774297018000`.
import type { InputWarning, Session } from '../domain/types.ts';

/** One queue per target: a `run --crm local` never takes jobs meant for a Salesforce worker. */
export function queueName(target: string): string {
  return `sessions-${target}`;
}
export const JOB_NAME = 'enrich';

export interface SessionJobData {
  /** where the document came from (path, `http:<addr>`, `imap:<folder>/<uid>`) */
  source: string;
  /** the document as UTF-8 JSON text (BOM removed); the worker re-reads it with the current config */
  document: string;
  sessionKey: string;
  version: string;
  ticketId: string;
  receivedAt: string;
  /**
   * what intake corrected, when anything: the job reads the document again from its UTF-8 text,
   * which no longer shows how the file was decoded (UTF-16), so these travel with it
   */
  warnings?: InputWarning[];
}

export type JobStatus = 'delivered' | 'skipped';

export interface JobOutcome {
  status: JobStatus;
  reason: string;
  sessionKey: string;
  version: string;
  ticketId: string;
  target: string;
  /** what was corrected or cut on the way (intake, fields, the note), when anything */
  warnings?: InputWarning[];
}

/** Warnings of several steps as one list, each once (the job re-reads what intake read). */
export function mergeWarnings(...lists: Array<readonly InputWarning[] | undefined>): InputWarning[] {
  const seen = new Set<string>();
  const out: InputWarning[] = [];
  for (const list of lists) {
    for (const w of list ?? []) {
      const k = `${w.field}\u0000${w.message}`;
      if (!seen.has(k)) {
        seen.add(k);
        out.push(w);
      }
    }
  }
  return out;
}

export function jobIdFor(session: Pick<Session, 'key' | 'versionMs'>): string {
  // BullMQ custom ids must not contain ':' and must not be plain integers.
  return `${session.key}-${session.versionMs}`;
}

/** `CODE: message`, the form failed jobs keep their reason in. */
export function formatFailure(code: string, message: string): string {
  return `${code}: ${message}`;
}

export function parseFailure(reason: string | undefined): { code: string; message: string } {
  const m = /^([A-Z][A-Z_]+): ([\s\S]*)$/.exec(reason ?? '');
  return m ? { code: m[1]!, message: m[2]! } : { code: 'INTERNAL', message: reason ?? 'unknown failure' };
}
