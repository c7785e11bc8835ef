// Salesforce's errors in our closed set of codes (docs/crm-targets.md, "Error body"): what to
// retry, how soon, and what is permanent. The message keeps Salesforce's own words.
//
// None of these errors holds the queue by itself (`hold: false`), although TARGET_AUTH and
// TARGET_RATE_LIMITED declare a hold: the Salesforce target holds by pausing itself (its batch
// too, not only the queue) and says for how long (retryAfterMs, from its own clock). One
// record's REQUEST_LIMIT_EXCEEDED or INVALID_SESSION_ID inside a composite answer therefore
// does not hold the queue: it retries, or fails, like that record's other errors.
import { SyncError } from '../../errors.ts';
import type { ErrorCode } from '../../errors.ts';

const BY_STATUS_CODE: Record<string, ErrorCode> = {
  UNABLE_TO_LOCK_ROW: 'TARGET_BUSY',
  REQUEST_LIMIT_EXCEEDED: 'TARGET_RATE_LIMITED',
  SERVER_UNAVAILABLE: 'TARGET_UNAVAILABLE',
  ENTITY_IS_DELETED: 'TARGET_DELETED',
  NOT_FOUND: 'TARGET_NOT_FOUND',
  INVALID_ID_FIELD: 'TARGET_NOT_FOUND',
  MALFORMED_ID: 'TARGET_NOT_FOUND',
  INVALID_CROSS_REFERENCE_KEY: 'TARGET_NOT_FOUND',
  FIELD_INTEGRITY_EXCEPTION: 'TARGET_NOT_FOUND',
  FIELD_CUSTOM_VALIDATION_EXCEPTION: 'TARGET_REJECTED',
  REQUIRED_FIELD_MISSING: 'TARGET_REJECTED',
  STRING_TOO_LONG: 'TARGET_REJECTED',
  INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: 'TARGET_REJECTED',
  INSUFFICIENT_ACCESS_OR_READONLY: 'TARGET_REJECTED',
  INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY: 'TARGET_REJECTED',
  CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY: 'TARGET_REJECTED',
  INVALID_FIELD: 'TARGET_CONFIG',
  INVALID_FIELD_FOR_INSERT_UPDATE: 'TARGET_CONFIG',
  INVALID_TYPE: 'TARGET_CONFIG',
  API_DISABLED_FOR_ORG: 'TARGET_CONFIG',
  MALFORMED_QUERY: 'TARGET_CONFIG',
  INVALID_QUERY_FILTER_OPERATOR: 'TARGET_CONFIG',
  QUERY_TIMEOUT: 'TARGET_UNAVAILABLE',
  REQUEST_RUNNING_TOO_LONG: 'TARGET_UNAVAILABLE',
  INVALID_SESSION_ID: 'TARGET_AUTH',
  INVALID_AUTH_HEADER: 'TARGET_AUTH',
};

/** Ours, in Salesforce's words, holding nothing by itself (see above). */
function sfError(code: ErrorCode, message: string, cause?: unknown): SyncError {
  return new SyncError(code, message, cause === undefined ? { hold: false } : { cause, hold: false });
}

export interface SalesforceErrorItem {
  statusCode?: string;
  errorCode?: string;
  message?: string;
  fields?: string[];
}

/** One record's or one response's error as a SyncError, in Salesforce's words. */
export function fromSalesforceError(e: SalesforceErrorItem, context: string): SyncError {
  const sfCode = e.statusCode ?? e.errorCode ?? 'UNKNOWN_EXCEPTION';
  // An error we do not know is retried (a bounded number of times, then it is in the failed
  // list in Salesforce's words): failing it for good on a guess would be worse.
  const code = BY_STATUS_CODE[sfCode] ?? 'TARGET_UNAVAILABLE';
  const fields = e.fields?.length ? ` (fields: ${e.fields.join(', ')})` : '';
  return sfError(code, `Salesforce ${context}: ${sfCode}: ${e.message ?? 'no message'}${fields}`);
}

/** An error thrown by jsforce (HTTP error, network error) as a SyncError. */
export function fromJsforceError(err: unknown, context: string): SyncError {
  // already ours: a login refused while renewing the session (connection.ts), kept as it is
  if (err instanceof SyncError) return err;
  const e = err as { errorCode?: string; name?: string; message?: string; code?: string; statusCode?: number; data?: unknown };
  const name = e.errorCode ?? e.name;
  // jsforce wraps a failed session refresh (our grant refused) in a plain Error
  if (/Unable to refresh session/i.test(e.message ?? '')) {
    return sfError('TARGET_AUTH', `Salesforce ${context}: the login was refused when renewing the session: ${e.message}`, err);
  }
  if (name && BY_STATUS_CODE[name]) return sfError(BY_STATUS_CODE[name]!, `Salesforce ${context}: ${name}: ${e.message ?? ''}`, err);
  if (e.code && /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|UND_ERR/.test(e.code)) {
    return sfError('TARGET_UNAVAILABLE', `Salesforce ${context}: cannot reach the org (${e.code})`, err);
  }
  if (/^ERROR_HTTP_5\d\d$/.test(name ?? '') || /5\d\d/.test(String(e.statusCode ?? ''))) {
    return sfError('TARGET_UNAVAILABLE', `Salesforce ${context}: ${name}: ${e.message ?? ''}`, err);
  }
  return sfError('TARGET_UNAVAILABLE', `Salesforce ${context}: ${name ?? 'error'}: ${e.message ?? String(err)}`, err);
}
