// One closed set of error codes. Every failure the worker reports carries one of these,
// so an admin (and `status`, `--json`, /metrics) can tell a bad file from a flaky CRM.
// Adapters translate vendor errors into these at their edge and keep the original as `cause`.

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
  TARGET_AUTH: { retryable: false, summary: 'the CRM refused our credentials' },
  TARGET_BOUNCED: { retryable: false, summary: 'the e-mail sent to the helpdesk bounced' },
  TARGET_THREAD_MISS: { retryable: false, summary: 'the helpdesk opened a new ticket instead of threading the e-mail onto the ticket' },
  TARGET_UNAVAILABLE: { retryable: true, summary: 'the CRM is unavailable' },
  TARGET_BUSY: { retryable: true, summary: 'the CRM record is locked or busy' },
  TARGET_RATE_LIMITED: { retryable: true, summary: 'the CRM API limit is reached' },
  STORAGE_BUSY: { retryable: true, summary: 'local storage is busy' },
  QUEUE_UNAVAILABLE: { retryable: true, summary: 'Redis is unreachable' },
  CONFIG_INVALID: { retryable: false, summary: 'the configuration is invalid' },
  INTERNAL: { retryable: true, summary: 'an unexpected error' },
} as const satisfies Record<string, { retryable: boolean; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SyncError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** The field of the input the error is about, as a dotted path (`dispositions[0].note`). */
  readonly field: string | undefined;
  /** for rate limits: how long the whole worker should hold off */
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: { field?: string; cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SyncError';
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.field = options.field;
    this.retryAfterMs = options.retryAfterMs;
  }
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
