// The embedded default CRM: records keyed by ticket id, holding the latest enriched fields and
// one note per session version, in a SQLite file under DATA_DIR (node:sqlite, WAL, one
// transaction per write, so several worker processes on one machine can share it safely).
// Like a real CRM it can refuse a write: a ticket an admin closed (`local-crm close`) takes no
// new note until it is reopened (TARGET_REJECTED), as a closed Salesforce Case or Zendesk
// ticket would; so a failure, its fix and a replay can be tried without a real CRM.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DatabaseSync } from 'node:sqlite';
import { decideWrite } from '../../domain/enrich/decide.ts';
import { matchTicket } from '../../domain/ticket/match.ts';
import type { TicketUpdate, FieldValue, RenderedNote } from '../../domain/types.ts';
import { SyncError } from '../../errors.ts';
import type { ApplyResult, Target } from '../target.ts';

export interface LocalNote {
  sessionKey: string;
  version: string;
  subject: string;
  text: string;
  html: string;
  createdAt: string;
}

export interface LocalRecord {
  ticketId: string;
  system: string;
  object: string | null;
  url: string | null;
  fields: Record<string, FieldValue>;
  createdAt: string;
  updatedAt: string;
  sessions: Array<{ sessionKey: string; version: string }>;
  notes: LocalNote[];
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS records (
  ticket_id TEXT PRIMARY KEY,
  system TEXT NOT NULL,
  object TEXT,
  url TEXT,
  fields TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
  ticket_id TEXT NOT NULL,
  session_key TEXT NOT NULL,
  version TEXT NOT NULL,
  PRIMARY KEY (ticket_id, session_key)
);
CREATE TABLE IF NOT EXISTS notes (
  ticket_id TEXT NOT NULL,
  session_key TEXT NOT NULL,
  version TEXT NOT NULL,
  subject TEXT NOT NULL,
  text TEXT NOT NULL,
  html TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (ticket_id, session_key, version)
);
CREATE TABLE IF NOT EXISTS closed_tickets (
  ticket_id TEXT PRIMARY KEY,
  reason TEXT NOT NULL,
  closed_at TEXT NOT NULL
);
`;

/** A ticket an admin closed: the local CRM refuses new notes on it until it is reopened. */
export interface ClosedTicket {
  ticketId: string;
  reason: string;
  closedAt: string;
  /** whether the local CRM holds a record for it (a ticket can be closed before any session reaches it) */
  hasRecord: boolean;
}

/**
 * The id the local CRM keeps a ticket under, as an admin may type it: the id a session naming
 * that ticket is written under (a 15-character Salesforce id in its 18-character form), else
 * the id as given, trimmed. `show` reads records the same way.
 */
export function localTicketId(input: string): string {
  const m = matchTicket({ id: input, url: null, isAccount: false }, { allowedHosts: [] });
  return m.outcome === 'matched' ? m.ticket.id : input.trim();
}

/** Longest ticket id and close reason the local CRM takes (a reason goes into every refusal). */
export const MAX_TICKET_ID = 255;
export const MAX_CLOSE_REASON = 500;

/**
 * Why `value` cannot be a ticket id (or a close reason, `what`) to close or reopen, or null when
 * it can: empty, a control character (it goes into messages, logs and a shell command line),
 * or too long.
 */
export function closeArgumentProblem(value: string, what: 'ticket id' | 'reason'): string | null {
  const max = what === 'ticket id' ? MAX_TICKET_ID : MAX_CLOSE_REASON;
  if (value.trim() === '') return `the ${what} is empty`;
  const control = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.exec(value);
  if (control) return `the ${what} holds a control character (U+${control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`;
  if (value.length > max) return `the ${what} is ${value.length} characters long (at most ${max})`;
  return null;
}

export class LocalCrm implements Target {
  readonly name = 'local';
  readonly path: string;
  private readonly db: DatabaseSync;
  private readonly latencyMs: number;

  constructor(dataDir: string, opts: { latencyMs?: number; readOnly?: boolean } = {}) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, 'local-crm.sqlite');
    this.db = new DatabaseSync(this.path, { timeout: 10_000 });
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
    this.db.exec(SCHEMA);
    this.latencyMs = opts.latencyMs ?? 0;
  }

  async apply(e: TicketUpdate, note: RenderedNote): Promise<ApplyResult> {
    const now = new Date().toISOString();
    let result: ApplyResult;
    try {
      result = this.transaction(() => {
        const cur = this.db
          .prepare('SELECT version FROM sessions WHERE ticket_id = ? AND session_key = ?')
          .get(e.ticket.id, e.sessionKey) as { version: string } | undefined;
        const decision = decideWrite(cur ?? null, e.version);
        if (decision.action === 'skip') {
          // The same version already on the ticket means an earlier attempt (or an earlier copy
          // of the file) delivered it: report that, and write nothing twice.
          if (decision.why === 'already-written') return { status: 'delivered', detail: `version ${e.version} was already on the ticket (written by an earlier attempt or copy); nothing written twice` } as const;
          return { status: 'skipped', reason: decision.reason } as const;
        }
        // Only a write that would write is refused: a version already on a ticket closed since
        // is still answered as delivered above, and a superseded one as skipped.
        const closed = this.closedRow(e.ticket.id);
        if (closed) {
          throw new SyncError(
            'TARGET_REJECTED',
            `the local CRM refused the note: ticket ${e.ticket.id} is closed (${closed.reason}); ` +
              `reopen it (ccai-crm-sync local-crm reopen ${shellWord(e.ticket.id)}) and replay the session (ccai-crm-sync replay ${e.sessionKey})`,
          );
        }

        const rec = this.db.prepare('SELECT fields FROM records WHERE ticket_id = ?').get(e.ticket.id) as
          | { fields: string }
          | undefined;
        // Latest-state fields follow the newest session written on the ticket: a session
        // whose version is older than the record's current session_version does not overwrite.
        const existing = rec ? (JSON.parse(rec.fields) as Record<string, FieldValue>) : null;
        const newerOnRecord =
          existing !== null &&
          typeof existing.session_version === 'string' &&
          existing.session_key !== e.sessionKey &&
          Date.parse(existing.session_version) > Date.parse(e.version);
        const fields = newerOnRecord ? existing : e.fields;
        this.db
          .prepare(
            `INSERT INTO records (ticket_id, system, object, url, fields, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (ticket_id) DO UPDATE SET system = excluded.system, object = excluded.object,
               url = COALESCE(excluded.url, records.url), fields = excluded.fields, updated_at = excluded.updated_at`,
          )
          .run(e.ticket.id, e.ticket.system, e.ticket.object, e.ticket.url, JSON.stringify(fields), now, now);
        this.db
          .prepare(
            `INSERT INTO sessions (ticket_id, session_key, version) VALUES (?, ?, ?)
             ON CONFLICT (ticket_id, session_key) DO UPDATE SET version = excluded.version`,
          )
          .run(e.ticket.id, e.sessionKey, e.version);
        this.db
          .prepare(
            `INSERT INTO notes (ticket_id, session_key, version, subject, text, html, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          )
          .run(e.ticket.id, e.sessionKey, e.version, note.subject, note.text, note.html, now);
        const detail = decision.replaces
          ? `note added for version ${e.version} (replaces ${decision.replaces} as latest)`
          : `note added for version ${e.version}`;
        return { status: 'delivered', detail } as const;
      });
    } catch (err) {
      throw translateSqliteError(err);
    }
    // Simulated CRM response time (LOCAL_CRM_LATENCY_MS): the write has happened, the answer
    // has not arrived yet. Useful for demos and for crash tests of that window.
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    return result;
  }

  get(ticketId: string): LocalRecord | null {
    const rec = this.db.prepare('SELECT * FROM records WHERE ticket_id = ?').get(ticketId) as
      | { ticket_id: string; system: string; object: string | null; url: string | null; fields: string; created_at: string; updated_at: string }
      | undefined;
    if (!rec) return null;
    const sessions = this.db
      .prepare('SELECT session_key, version FROM sessions WHERE ticket_id = ? ORDER BY session_key')
      .all(ticketId) as Array<{ session_key: string; version: string }>;
    const notes = this.db
      .prepare('SELECT * FROM notes WHERE ticket_id = ? ORDER BY version, session_key')
      .all(ticketId) as Array<{ session_key: string; version: string; subject: string; text: string; html: string; created_at: string }>;
    return {
      ticketId: rec.ticket_id,
      system: rec.system,
      object: rec.object,
      url: rec.url,
      fields: JSON.parse(rec.fields) as Record<string, FieldValue>,
      createdAt: rec.created_at,
      updatedAt: rec.updated_at,
      sessions: sessions.map((s) => ({ sessionKey: s.session_key, version: s.version })),
      notes: notes.map((n) => ({
        sessionKey: n.session_key,
        version: n.version,
        subject: n.subject,
        text: n.text,
        html: n.html,
        createdAt: n.created_at,
      })),
    };
  }

  /** Ticket ids that hold a note for this session key. */
  ticketsForSession(sessionKey: string): string[] {
    const rows = this.db.prepare('SELECT DISTINCT ticket_id FROM notes WHERE session_key = ?').all(sessionKey) as Array<{
      ticket_id: string;
    }>;
    return rows.map((r) => r.ticket_id);
  }

  /**
   * Closes a ticket: from now on the local CRM refuses new notes on it (TARGET_REJECTED). It
   * need not have a record yet. Closing a closed ticket again replaces its reason and keeps the
   * time it was closed. The id is read as a session's would be (localTicketId). Answers the
   * ticket as now closed, and whether it already was; CONFIG_INVALID for an id or a reason it
   * cannot take (closeArgumentProblem).
   */
  closeTicket(ticketId: string, reason: string): { ticket: ClosedTicket; alreadyClosed: boolean } {
    for (const [value, what] of [[ticketId, 'ticket id'], [reason, 'reason']] as const) {
      const problem = closeArgumentProblem(value, what);
      if (problem) throw new SyncError('CONFIG_INVALID', `cannot close ticket ${JSON.stringify(ticketId.slice(0, 80))}: ${problem}`);
    }
    const id = localTicketId(ticketId);
    const alreadyClosed = this.transaction(() => {
      const before = this.closedRow(id) !== null;
      this.db
        .prepare(
          `INSERT INTO closed_tickets (ticket_id, reason, closed_at) VALUES (?, ?, ?)
           ON CONFLICT (ticket_id) DO UPDATE SET reason = excluded.reason`,
        )
        .run(id, reason, new Date().toISOString());
      return before;
    });
    return { ticket: this.closedRow(id)!, alreadyClosed };
  }

  /** Reopens a closed ticket: notes are written on it again. False when it was not closed. */
  reopenTicket(ticketId: string): boolean {
    return Number(this.db.prepare('DELETE FROM closed_tickets WHERE ticket_id = ?').run(localTicketId(ticketId)).changes) > 0;
  }

  /** The ticket if it is closed, else null. */
  closedTicket(ticketId: string): ClosedTicket | null {
    return this.closedRow(localTicketId(ticketId));
  }

  /** Every closed ticket, the earliest closed first. */
  closedTickets(): ClosedTicket[] {
    const rows = this.db.prepare(`${CLOSED_SELECT} ORDER BY c.closed_at, c.ticket_id`).all() as unknown as ClosedRow[];
    return rows.map(closedOf);
  }

  private closedRow(id: string): ClosedTicket | null {
    const row = this.db.prepare(`${CLOSED_SELECT} WHERE c.ticket_id = ?`).get(id) as ClosedRow | undefined;
    return row ? closedOf(row) : null;
  }

  /** Closes the database (the Target's close; closing a ticket is closeTicket). */
  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }

  private transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }
}

const CLOSED_SELECT = `SELECT c.ticket_id, c.reason, c.closed_at,
  EXISTS (SELECT 1 FROM records r WHERE r.ticket_id = c.ticket_id) AS has_record FROM closed_tickets c`;

interface ClosedRow {
  ticket_id: string;
  reason: string;
  closed_at: string;
  has_record: number;
}

function closedOf(row: ClosedRow): ClosedTicket {
  return { ticketId: row.ticket_id, reason: row.reason, closedAt: row.closed_at, hasRecord: Boolean(row.has_record) };
}

/** The id as one word of a shell command line: as it is when that is safe, else single-quoted. */
export function shellWord(s: string): string {
  return /^[\w.:@%+,/=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function translateSqliteError(err: unknown): SyncError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/SQLITE_BUSY|database is locked/i.test(msg)) {
    return new SyncError('STORAGE_BUSY', `local CRM database is busy: ${msg}`, { cause: err });
  }
  if (err instanceof SyncError) return err;
  return new SyncError('INTERNAL', `local CRM write failed: ${msg}`, { cause: err });
}
