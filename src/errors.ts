// One closed set of error codes. Every failure the worker reports carries one of these,
// so an admin (and `status`, `--json`, /metrics) can tell a bad file from a flaky CRM.
// Adapters translate vendor errors into these at their edge and keep the original as `cause`:
// one pure table per edge (targets/salesforce/errors.ts, targets/email/smtp-errors.ts,
// sources/imap/imap-errors.ts, store/redis-errors.ts).
//
// `holdMs`: the failure is the whole target's, not the job's (our credentials refused, the
// org over its API limit), so the worker holds the queue for this long instead of running
// (and failing) every waiting job against it; the job goes back as it was, no attempt used.
// An error may say for how long itself (`retryAfterMs`), or that it does not hold by itself
// (`hold: false`); see holdMs() below.

/** What the registry says of one code. */
export interface ErrorSpec {
  retryable: boolean;
  summary: string;
  /** hold the queue this long when this failure happens (see above) */
  holdMs?: number;
}

export const ERROR_CODES = {
  // Input: the document cannot be a session metadata file. Never retried.
  INPUT_EMPTY: { retryable: false, summary: 'the document is empty' },
  INPUT_TOO_LARGE: { retryable: false, summary: 'the document is over the size limit' },
  INPUT_BINARY: { retryable: false, summary: 'the document is binary, not JSON text' },
  INPUT_NOT_UTF8: { retryable: false, summary: 'the document is not valid UTF-8' },
  INPUT_NOT_JSON: { retryable: false, summary: 'the document is not JSON' },
  INPUT_TRUNCATED: { retryable: false, summary: 'the JSON ends early (truncated file?)' },
  INPUT_NOT_OBJECT: { retryable: false, summary: 'the JSON is not an object' },
  INPUT_NOT_SESSION: { retryable: false, summary: 'the JSON has neither call_type nor chat_type' },
  INPUT_MISSING_FIELD: { retryable: false, summary: 'a required field is missing' },
  INPUT_INVALID_FIELD: { retryable: false, summary: 'a field has a value the worker cannot use' },
  INPUT_BAD_TIMESTAMP: { retryable: false, summary: 'a timestamp cannot be parsed' },
  INPUT_UNREADABLE: { retryable: false, summary: 'the input cannot be read' },
  INPUT_NOT_ACCEPTED: { retryable: false, summary: 'an e-mail that is not taken: its sender is not in IMAP_ALLOWED_SENDERS, or it holds no JSON document' },
  // Matching: the session names no usable CRM record.
  TICKET_MISMATCH: { retryable: false, summary: 'out_ticket_id and out_ticket_url name different records' },
  TICKET_HOST_NOT_ALLOWED: { retryable: false, summary: 'the ticket URL is on a host not in CRM_ALLOWED_HOSTS' },
  TICKET_INVALID_ID: { retryable: false, summary: 'the ticket id is malformed' },
  // Target (CRM) outcomes.
  TARGET_NOT_FOUND: { retryable: false, summary: 'the CRM record does not exist' },
  TARGET_DELETED: { retryable: false, summary: 'the CRM record was deleted' },
  TARGET_REJECTED: { retryable: false, summary: 'the CRM refused the update (validation rule, bad field)' },
  TARGET_CONFIG: { retryable: false, summary: 'the target is misconfigured' },
  // Refused credentials (a rotated secret, a revoked app) are fixed by an admin, not by
  // retrying each job: failing them all would fill the failed list for one setting. Five
  // minutes: back soon after the fix, yet no flood of logins (Salesforce rate-limits them,
  // SMTP servers lock out senders that keep failing AUTH).
  TARGET_AUTH: { retryable: false, summary: 'the CRM refused our credentials', holdMs: 5 * 60_000 },
  TARGET_BOUNCED: { retryable: false, summary: 'the e-mail sent to the helpdesk bounced' },
  TARGET_THREAD_MISS: { retryable: false, summary: 'the helpdesk opened a new ticket instead of threading the e-mail onto the ticket' },
  TARGET_UNAVAILABLE: { retryable: true, summary: 'the CRM is unavailable' },
  TARGET_BUSY: { retryable: true, summary: 'the CRM record is locked or busy' },
  // Salesforce counts its daily API limit over a rolling 24 hours: a request sooner only
  // spends what the org does not have. Fifteen minutes lets the window move on.
  TARGET_RATE_LIMITED: { retryable: true, summary: 'the CRM API limit is reached', holdMs: 15 * 60_000 },
  STORAGE_BUSY: { retryable: true, summary: 'local storage is busy' },
  QUEUE_UNAVAILABLE: { retryable: true, summary: 'Redis is unreachable' },
  // The mailbox we read (IMAP_URL) is down, busy or throttling us: neither the CRM
  // (TARGET_UNAVAILABLE) nor Redis (QUEUE_UNAVAILABLE), and an admin must tell them apart.
  SOURCE_UNAVAILABLE: { retryable: true, summary: 'a source is unavailable (the mailbox, the bucket, the SFTP server)' },
  CONFIG_INVALID: { retryable: false, summary: 'the configuration is invalid' },
  INTERNAL: { retryable: true, summary: 'an unexpected error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** A string read back from storage (a job's data, a status record) as one of our codes, if it is one. */
/**
 * Node's codes for a connection that could not be made or broke: the other side is not
 * reachable, for now. Every translator of a networked source reads them the same way.
 */
export const SOCKET_ERRORS = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'] as const;

/** A translation table entry for each of these codes. */
export function allAs(codes: readonly string[], code: ErrorCode): Record<string, ErrorCode> {
  return Object.fromEntries(codes.map((c) => [c, code]));
}

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === 'string' && Object.hasOwn(ERROR_CODES, s);
}

/** A translator table's code for a vendor's key, if it has one (own keys only: `constructor` is no code). */
export function codeIn(table: Readonly<Record<string, ErrorCode>>, key: string | undefined): ErrorCode | undefined {
  return key !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;
}

export class SyncError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** The field of the input the error is about, as a dotted path (`dispositions[0].note`). */
  readonly field: string | undefined;
  /** how long the whole worker should hold off, when the target says so itself (else the registry's holdMs) */
  readonly retryAfterMs: number | undefined;
  /**
   * false: this error does not hold the queue by itself even when its code declares a hold (one
   * record's error; or a target that keeps its own clock and gives retryAfterMs when it holds)
   */
  readonly hold: boolean;

  constructor(code: ErrorCode, message: string, options: { field?: string; cause?: unknown; retryAfterMs?: number; hold?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SyncError';
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.field = options.field;
    this.retryAfterMs = options.retryAfterMs;
    this.hold = options.hold ?? true;
  }
}

/**
 * How long the worker holds the queue for this error: the time the error gives, else the time
 * its code declares (ERROR_CODES[code].holdMs); undefined when it does not hold.
 */
export function holdMs(err: SyncError): number | undefined {
  const declared: ErrorSpec = ERROR_CODES[err.code];
  const ms = err.retryAfterMs ?? (err.hold ? declared.holdMs : undefined);
  return ms !== undefined && ms > 0 ? ms : undefined;
}

export function isSyncError(err: unknown): err is SyncError {
  return err instanceof SyncError;
}

/** Any thrown value as a SyncError: unknown errors become INTERNAL (retryable), keeping the cause. */
export function toSyncError(err: unknown): SyncError {
  if (err instanceof SyncError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SyncError('INTERNAL', message, { cause: err });
}
