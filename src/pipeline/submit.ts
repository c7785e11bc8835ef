// Submitting a document from any source: intake (pure), then either queue it, or say why not.
// Sources decide what to do with their original afterwards (move, copy, answer HTTP).
import { posix } from 'node:path';
import { intake } from '../domain/intake.ts';
import type { IntakeOptions, IntakeResult } from '../domain/intake.ts';
import type { InputWarning } from '../domain/types.ts';
import { documentText } from '../domain/session/decode.ts';
import { withoutCredentials } from '../domain/ticket/match.ts';
import type { Logger } from '../logger.ts';
import type { SessionQueue } from '../queue/session-queue.ts';
import type { StatusStore } from '../store/status-store.ts';
import { jobIdFor } from '../queue/jobs.ts';
import type { IntakeCache } from './intake-cache.ts';

export type SubmitStatus = 'queued' | 'duplicate' | 'skipped' | 'ignored' | 'rejected';

export interface SubmitResult {
  source: string;
  status: SubmitStatus;
  session: string | null;
  version: string | null;
  ticket: string | null;
  reason: string | null;
  code: string | null;
  field: string | null;
  jobId: string | null;
  /** for duplicates: the existing job's state */
  jobState: string | null;
  /** when queued again: how the earlier job for this same version had ended */
  previous: 'completed' | 'failed' | null;
  /** what the parser corrected or dropped in the document */
  warnings: InputWarning[];
  intake: IntakeResult;
}

export interface SubmitDeps {
  intake: IntakeOptions;
  /** when the same process runs the jobs: hands them the intake result (see intake-cache.ts) */
  cache?: IntakeCache;
  queue: SessionQueue;
  status: StatusStore;
  log: Logger;
}

export interface SubmitOptions {
  /** found by scanning a folder rather than handed over explicitly (see IntakeOptions) */
  discovered?: boolean;
  /** the caller logs a rejection itself, with what it did about it (the inbox may wait for more bytes) */
  quiet?: boolean;
  /**
   * the names of the files beside the document in its folder, as the source listed them: the
   * session's own recording and transcript among them (`call-1418.mp3`, `chat-135.txt`) are
   * named on its note
   */
  siblings?: readonly string[];
}

/**
 * Names grouped by their folder (`a/b/call-1.mp3` -> `a/b` => `call-1.mp3`): what a source
 * passes as `siblings` for each document it lists. A name without a folder is in `.`.
 */
export function namesByFolder(paths: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of paths) {
    const folder = posix.dirname(p);
    const list = out.get(folder);
    if (list === undefined) out.set(folder, [posix.basename(p)]);
    else list.push(posix.basename(p));
  }
  return out;
}

/** The session's own files among a folder's names: `<kind>-<id>.txt|mp3|wav`, as CCAI names them. */
export function sessionFiles(sessionKey: string, siblings: readonly string[] | undefined): string[] {
  if (siblings === undefined) return [];
  const own = new Set([`${sessionKey}.txt`, `${sessionKey}.mp3`, `${sessionKey}.wav`]);
  return [...new Set(siblings.filter((n) => own.has(n.toLowerCase())))].sort();
}

/** The document's text with out_ticket_url's user name and password removed, when it has any. */
function withoutLinkCredentials(text: string, url: string | null): string {
  if (url === null || withoutCredentials(url) === url) return text;
  const doc = JSON.parse(text) as Record<string, unknown>;
  if (typeof doc.out_ticket_url === 'string') doc.out_ticket_url = withoutCredentials(doc.out_ticket_url);
  return JSON.stringify(doc);
}

export async function submitDocument(deps: SubmitDeps, bytes: Uint8Array, source: string, opts: SubmitOptions = {}): Promise<SubmitResult> {
  const r = intake(bytes, { ...deps.intake, discovered: opts.discovered ?? false });
  const none = { version: null, ticket: null, reason: null, code: null, field: null, jobId: null, jobState: null, previous: null, warnings: [] };
  const warnings = r.status === 'ignored' ? [] : r.warnings;
  if (warnings.length > 0) {
    // once per submitted document, from whichever source. The messages name fields and the
    // kind of value found; they quote only timestamps, ids and numbers the parser read, never
    // free text (domain/session/schema.ts describeKind)
    deps.log.warn({ source, session: r.status === 'ignored' ? null : (r.session?.key ?? null), warnings }, 'document corrected: values dropped or read differently');
  }
  switch (r.status) {
    case 'ignored':
      return { ...none, source, status: 'ignored', session: null, reason: r.reason, intake: r };
    case 'rejected': {
      const key = r.session?.key ?? null;
      if (key) {
        await deps.status.record(key, { state: 'rejected', version: r.session!.version, ticket: null, reason: r.problem.message, code: r.problem.code, source, jobId: null, warnings });
      }
      if (!opts.quiet) deps.log.warn({ source, code: r.problem.code, field: r.problem.field, session: key }, 'document rejected');
      return { ...none, source, status: 'rejected', session: key, version: r.session?.version ?? null, reason: r.problem.message, code: r.problem.code, field: r.problem.field ?? null, warnings, intake: r };
    }
    case 'skipped':
      await deps.status.record(r.session.key, { state: 'skipped', version: r.session.version, ticket: null, reason: r.reason, code: null, source, jobId: null, warnings });
      return { ...none, source, status: 'skipped', session: r.session.key, version: r.session.version, reason: r.reason, warnings, intake: r };
    case 'accepted': {
      // the job reads this text again: decoded as intake decoded it (UTF-16 too), not as UTF-8,
      // and without credentials in the ticket link (the job's data stays in Redis for days)
      const text = withoutLinkCredentials(documentText(bytes), r.session.ticket.url);
      const session = r.session;
      const files = sessionFiles(session.key, opts.siblings);
      const q = await deps.queue.enqueue(
        session,
        {
          source,
          document: text,
          sessionKey: session.key,
          version: session.version,
          ticketId: r.ticket.id,
          receivedAt: new Date().toISOString(),
          ...(warnings.length > 0 ? { warnings } : {}),
          ...(files.length > 0 ? { files } : {}),
        },
        // Before the job exists: a fast worker's "delivered" is never overwritten, and the
        // job finds the parsed document if this process takes it.
        () => {
          deps.cache?.put(jobIdFor(session), text, r);
          return deps.status.record(session.key, { state: 'queued', version: session.version, ticket: r.ticket.id, reason: null, code: null, source, jobId: jobIdFor(session), warnings });
        },
      );
      return {
        ...none,
        source,
        status: q.added ? 'queued' : 'duplicate',
        session: r.session.key,
        version: r.session.version,
        ticket: r.ticket.id,
        reason: q.added ? null : `the same session version is already job ${q.jobId} (${q.state})`,
        jobId: q.jobId,
        jobState: q.state,
        previous: q.previous,
        warnings,
        intake: r,
      };
    }
  }
}
