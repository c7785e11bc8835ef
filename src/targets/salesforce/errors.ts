// Salesforce's errors in our closed set of codes (docs/crm-targets.md, "Error body"): what to
// retry, how soon, and what is permanent. The message keeps Salesforce's own words.
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
  return new SyncError(code, `Salesforce ${context}: ${sfCode}: ${e.message ?? 'no message'}${fields}`);
}

/** An error thrown by jsforce (HTTP error, network error) as a SyncError. */
export function fromJsforceError(err: unknown, context: string): SyncError {
  if (err instanceof SyncError) return err;
  const e = err as { errorCode?: string; name?: string; message?: string; code?: string; statusCode?: number; data?: unknown };
  const name = e.errorCode ?? e.name;
  // jsforce wraps a failed session refresh (our grant refused) in a plain Error
  if (/Unable to refresh session/i.test(e.message ?? '')) {
    return new SyncError('TARGET_AUTH', `Salesforce ${context}: the login was refused when renewing the session: ${e.message}`, { cause: err });
  }
  if (name && BY_STATUS_CODE[name]) return new SyncError(BY_STATUS_CODE[name]!, `Salesforce ${context}: ${name}: ${e.message ?? ''}`, { cause: err });
  if (e.code && /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|UND_ERR/.test(e.code)) {
    return new SyncError('TARGET_UNAVAILABLE', `Salesforce ${context}: cannot reach the org (${e.code})`, { cause: err });
  }
  if (/^ERROR_HTTP_5\d\d$/.test(name ?? '') || /5\d\d/.test(String(e.statusCode ?? ''))) {
    return new SyncError('TARGET_UNAVAILABLE', `Salesforce ${context}: ${name}: ${e.message ?? ''}`, { cause: err });
  }
  return new SyncError('TARGET_UNAVAILABLE', `Salesforce ${context}: ${name ?? 'error'}: ${e.message ?? String(err)}`, { cause: err });
}
