// Cloud Storage and Pub/Sub errors (@google-cloud/storage's and @google-cloud/pubsub's) in our
// closed set of codes: a setting to fix (the bucket, the subscription, the service account's
// key or roles: CONFIG_INVALID), a service that is down, busy or throttling us and comes back
// (SOURCE_UNAVAILABLE), or a request the service says we should not have made (INTERNAL, ours
// to fix). The message keeps the service's words. Pure: tables and a lookup.
//
// An object's own 404 (deleted or rewritten since it was listed) and 412 (a generation
// precondition: rewritten meanwhile) are not failures: gcs-storage.ts handles them before
// anything comes here, so a 404 here is the bucket's and a 412 one we did not expect.
import { allAs, codeIn, SOCKET_ERRORS, SyncError } from '../../errors.ts';
import type { ErrorCode } from '../../errors.ts';

/**
 * The API's `reason` (errors[0].reason), checked before the status: Google APIs have answered
 * a rate limit as 403 `rateLimitExceeded` / `userRateLimitExceeded`, which is not a refusal.
 */
const BY_REASON: Record<string, ErrorCode> = {
  rateLimitExceeded: 'SOURCE_UNAVAILABLE',
  userRateLimitExceeded: 'SOURCE_UNAVAILABLE',
  backendError: 'SOURCE_UNAVAILABLE',
  internalError: 'SOURCE_UNAVAILABLE',
  // a requester-pays bucket: GCS needs a billing project, a setting
  userProjectMissing: 'CONFIG_INVALID',
  // the project's billing is off, or the account is suspended
  accountDisabled: 'CONFIG_INVALID',
};

/** The HTTP status of the API's answer. */
const BY_STATUS: Record<string, ErrorCode> = {
  // a malformed request: in practice a bucket or prefix name GCS refuses
  '400': 'CONFIG_INVALID',
  // the key (GOOGLE_APPLICATION_CREDENTIALS) is refused, or the service account lacks a role
  // on the bucket (roles/storage.objectViewer, objectUser or objectAdmin): an admin fixes it
  '401': 'CONFIG_INVALID',
  '403': 'CONFIG_INVALID',
  // the bucket of GCS_BUCKET does not exist (an object's 404 never comes here)
  '404': 'CONFIG_INVALID',
  '408': 'SOURCE_UNAVAILABLE',
  // a conflict or a precondition we did not ask to handle: ours to look at (retried meanwhile)
  '409': 'INTERNAL',
  '412': 'INTERNAL',
  '429': 'SOURCE_UNAVAILABLE',
};

/** Node's socket codes and the client's own: no usable answer, for now. */
const BY_CODE: Record<string, ErrorCode> = {
  ...allAs(SOCKET_ERRORS, 'SOURCE_UNAVAILABLE'),
  ERR_STREAM_PREMATURE_CLOSE: 'SOURCE_UNAVAILABLE',
  // the bytes did not match the object's crc32c (x-goog-hash): a damaged transfer, read again
  CONTENT_DOWNLOAD_MISMATCH: 'SOURCE_UNAVAILABLE',
};

/**
 * What google-auth-library says without a code when Application Default Credentials cannot
 * be had or are refused (no GOOGLE_APPLICATION_CREDENTIALS and no metadata server, a deleted
 * key): a setting to fix.
 */
const BY_MESSAGE: Array<[RegExp, ErrorCode]> = [
  [/Could not load the default credentials/i, 'CONFIG_INVALID'],
  [/\binvalid_grant\b|\binvalid_client\b|Could not refresh access token/i, 'CONFIG_INVALID'],
];

/** What the tables do not know: retried, as the sweep retries every failure at its next pass. */
const DEFAULT_CODE: ErrorCode = 'SOURCE_UNAVAILABLE';

/** The parts of a client error (ApiError, a socket error, RequestError, GaxiosError) the tables read. */
export interface GcsErrorLike {
  message?: string;
  /** ApiError: the HTTP status; a socket or client error: its string code */
  code?: number | string;
  errors?: Array<{ reason?: string; message?: string }>;
  /** GaxiosError (a token refresh) */
  status?: number;
  response?: { status?: number; statusCode?: number };
}

function statusOf(e: GcsErrorLike): number | undefined {
  if (typeof e.code === 'number') return e.code;
  if (typeof e.code === 'string' && /^\d{3}$/.test(e.code)) return Number(e.code);
  return e.status ?? e.response?.status ?? e.response?.statusCode;
}

/**
 * A download's error carries the API's whole JSON body as its message
 * (`{"error":{"code":404,"message":"No such object: …","errors":[{"reason":"notFound"}]}}`) and
 * an empty `errors`; an ApiError has them apart. Either way: the reason and the service's words.
 */
function said(e: GcsErrorLike): { reason: string | undefined; words: string | undefined } {
  const message = e.message;
  if (message?.startsWith('{')) {
    try {
      const body = (JSON.parse(message) as { error?: { message?: string; errors?: Array<{ reason?: string }> } }).error;
      if (body) return { reason: body.errors?.[0]?.reason ?? e.errors?.[0]?.reason, words: body.message ?? message };
    } catch {
      /* not JSON after all: as it is */
    }
  }
  return { reason: e.errors?.[0]?.reason, words: message };
}

/** The code for a Cloud Storage error: the reason, the status (5xx: the service, for now), the client's code, the message, else the default. */
export function gcsErrorCode(e: GcsErrorLike): ErrorCode {
  const { reason, words } = said(e);
  const byReason = codeIn(BY_REASON, reason);
  if (byReason) return byReason;
  const status = statusOf(e);
  if (status !== undefined) {
    if (status >= 500) return 'SOURCE_UNAVAILABLE';
    const byStatus = codeIn(BY_STATUS, String(status));
    if (byStatus) return byStatus;
  }
  const byCode = codeIn(BY_CODE, typeof e.code === 'string' ? e.code : undefined);
  if (byCode) return byCode;
  return BY_MESSAGE.find(([re]) => re.test(words ?? ''))?.[1] ?? DEFAULT_CODE;
}

/** An error of @google-cloud/storage as a SyncError: `Cloud Storage <what>: <status> <reason>: <words>`, the original as cause. */
export function fromGcsError(err: unknown, what: string): SyncError {
  if (err instanceof SyncError) return err;
  const e = (err ?? {}) as GcsErrorLike;
  const status = statusOf(e);
  const { reason, words } = said(e);
  // a socket's or the client's own code where there is no HTTP status (ECONNREFUSED, CONTENT_DOWNLOAD_MISMATCH)
  const head = status !== undefined ? [status, reason].filter((x) => x !== undefined).join(' ') : typeof e.code === 'string' ? e.code : '';
  return new SyncError(gcsErrorCode(e), `Cloud Storage ${what}: ${head ? `${head}: ` : ''}${words ?? String(err)}`, { cause: err });
}

/**
 * gRPC status codes (Pub/Sub's streaming pull) that mean a setting to fix: the subscription is
 * missing or not a pull subscription, or the service account may not consume it. The client
 * retries the others itself (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ...).
 */
const PUBSUB_BY_STATUS: Record<string, ErrorCode> = {
  '3': 'CONFIG_INVALID', // INVALID_ARGUMENT: a malformed subscription name
  '5': 'CONFIG_INVALID', // NOT_FOUND: no such subscription
  '7': 'CONFIG_INVALID', // PERMISSION_DENIED: roles/pubsub.subscriber is missing
  '9': 'CONFIG_INVALID', // FAILED_PRECONDITION: e.g. a push subscription
  '16': 'CONFIG_INVALID', // UNAUTHENTICATED: the key is refused
};

/** The code for a Pub/Sub error (a gRPC status, or an auth error without one). */
export function pubsubErrorCode(e: { code?: number | string; message?: string }): ErrorCode {
  const byStatus = codeIn(PUBSUB_BY_STATUS, e.code === undefined ? undefined : String(e.code));
  if (byStatus) return byStatus;
  return BY_MESSAGE.find(([re]) => re.test(e.message ?? ''))?.[1] ?? DEFAULT_CODE;
}

/** gRPC's names for its status codes: the message says NOT_FOUND, not 5. */
const GRPC_STATUS = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

/** An error of @google-cloud/pubsub as a SyncError: `Pub/Sub <what>: <STATUS>: <words>`. */
export function fromPubsubError(err: unknown, what: string): SyncError {
  if (err instanceof SyncError) return err;
  const e = (err ?? {}) as { code?: number | string; message?: string };
  const status = typeof e.code === 'number' ? (GRPC_STATUS[e.code] ?? String(e.code)) : e.code;
  const words = e.message ?? String(err);
  // gRPC's own message often starts with `5 NOT_FOUND: `; the emulator's does not
  const head = status !== undefined && !words.includes(String(status)) ? `${status}: ` : '';
  return new SyncError(pubsubErrorCode(e), `Pub/Sub ${what}: ${head}${words}`, { cause: err });
}
