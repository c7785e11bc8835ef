// What a queued job carries and how its id is derived from the business key, so the same
// file twice is one job: (kind, id, updated_at) -> `call-1418-1774297018000`.
import type { InputWarning, Session } from '../domain/types.ts';
import { isErrorCode } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';

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
  /**
   * the session's own files CCAI stored beside the metadata (`chat-135.txt`, `call-1418.wav`),
   * as the source listed them; named on the note, never read
   */
  files?: string[];
  /**
   * why the last attempt failed, written by the worker (worker.ts) before the job fails or is
   * retried: the code as a typed field, read with failureOf()
   */
  failure?: JobFailure;
}

/** Why a job failed: one of our codes and its message. */
export interface JobFailure {
  code: ErrorCode;
  message: string;
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

/**
 * `CODE: message`: the failed reason BullMQ keeps for a failure of ours, for people (`status`,
 * bull-board). Programs read the typed record instead (failureOf).
 */
export function formatFailure(f: JobFailure): string {
  return `${f.code}: ${f.message}`;
}

/**
 * A job's failure, from the typed record the worker wrote into its data. The record counts only
 * when it is the one behind the job's failed reason: a job failed by a version before the record
 * (none), or by BullMQ itself (stalled too often; a record, if any, is an earlier attempt's),
 * reads as INTERNAL with its failed reason, as it is, as the message. No code is parsed back out
 * of the text. `fallback`: the message when there is no failed reason either.
 */
export function failureOf(data: Pick<SessionJobData, 'failure'> | undefined, failedReason: string | undefined, fallback = 'unknown failure'): JobFailure {
  const f = data?.failure;
  if (f && isErrorCode(f.code) && typeof f.message === 'string' && formatFailure(f) === failedReason) return { code: f.code, message: f.message };
  return { code: 'INTERNAL', message: failedReason ?? fallback };
}

/** A job's failure as an Error: its message is the failed reason (`CODE: message`), `failure` the typed record. */
export class JobFailedError extends Error {
  readonly failure: JobFailure;

  constructor(failure: JobFailure, options?: ErrorOptions) {
    super(formatFailure(failure), options);
    this.name = 'JobFailedError';
    this.failure = failure;
  }
}
