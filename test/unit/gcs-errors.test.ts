// The Cloud Storage and Pub/Sub translators' tables: errors shaped as @google-cloud/storage 8
// and @google-cloud/pubsub 6 raise them (the shapes were read off real ones, against the JSON
// API double and the Pub/Sub emulator), in our codes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODES, SyncError } from '../../src/errors.ts';
import { fromGcsError, fromPubsubError, gcsErrorCode, pubsubErrorCode } from '../../src/sources/gcs/gcs-errors.ts';

/** An ApiError as the client makes it from a JSON answer: the status as `code`, the reasons in `errors`. */
function apiError(status: number, reason: string, message: string): Error {
  return Object.assign(new Error(message), { code: status, errors: [{ message, domain: 'global', reason }] });
}

/** A download's error: the status as `code`, the whole JSON body as the message, `errors` empty. */
function downloadError(status: number, reason: string, message: string): Error {
  return Object.assign(new Error(JSON.stringify({ error: { code: status, message, errors: [{ message, domain: 'global', reason }] } })), { code: status, errors: [] });
}

describe('Cloud Storage errors', () => {
  it('a service that is down, busy or throttling (408, 429, 5xx) is SOURCE_UNAVAILABLE, in its words', () => {
    const original = apiError(503, 'backendError', 'Backend Error');
    const err = fromGcsError(original, 'list gs://b/ccai/');
    assert.equal(err.code, 'SOURCE_UNAVAILABLE');
    assert.equal(err.message, 'Cloud Storage list gs://b/ccai/: 503 backendError: Backend Error');
    assert.equal(err.cause, original);
    assert.equal(ERROR_CODES[err.code].retryable, true);
    for (const status of [408, 429, 500, 502, 503, 504]) assert.equal(gcsErrorCode({ code: status }), 'SOURCE_UNAVAILABLE', String(status));
  });

  it('refused credentials or a missing role (401, 403), a bucket that does not exist (404), a bad name (400) are CONFIG_INVALID', () => {
    assert.equal(gcsErrorCode(apiError(401, 'required', 'Anonymous caller does not have storage.objects.list access')), 'CONFIG_INVALID');
    const forbidden = fromGcsError(apiError(403, 'forbidden', 'worker@p.iam.gserviceaccount.com does not have storage.objects.list access to the Google Cloud Storage bucket.'), 'list gs://b/');
    assert.equal(forbidden.code, 'CONFIG_INVALID');
    assert.match(forbidden.message, /^Cloud Storage list gs:\/\/b\/: 403 forbidden: worker@p\.iam/);
    assert.equal(gcsErrorCode(apiError(404, 'notFound', 'The specified bucket does not exist.')), 'CONFIG_INVALID');
    assert.equal(gcsErrorCode(apiError(400, 'invalid', 'Invalid bucket name')), 'CONFIG_INVALID');
    assert.equal(ERROR_CODES.CONFIG_INVALID.retryable, false);
  });

  it('the reason decides before the status: a 403 rate limit passes, a requester-pays bucket is a setting', () => {
    assert.equal(gcsErrorCode(apiError(403, 'rateLimitExceeded', 'Rate Limit Exceeded')), 'SOURCE_UNAVAILABLE');
    assert.equal(gcsErrorCode(apiError(403, 'userRateLimitExceeded', 'User Rate Limit Exceeded')), 'SOURCE_UNAVAILABLE');
    assert.equal(gcsErrorCode(apiError(400, 'userProjectMissing', 'Bucket is a requester pays bucket but no user project provided.')), 'CONFIG_INVALID');
  });

  it('a 409 or 412 that reaches the table (the object’s own are handled before) is INTERNAL: ours to look at', () => {
    assert.equal(gcsErrorCode(apiError(412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.')), 'INTERNAL');
    assert.equal(gcsErrorCode(apiError(409, 'conflict', 'Conflict')), 'INTERNAL');
  });

  it('a download’s error (the JSON body as its message) is read the same way, in the service’s words', () => {
    const err = fromGcsError(downloadError(503, 'backendError', 'injected 503'), 'read gs://b/x.json#1');
    assert.equal(err.code, 'SOURCE_UNAVAILABLE');
    assert.equal(err.message, 'Cloud Storage read gs://b/x.json#1: 503 backendError: injected 503');
    assert.equal(gcsErrorCode(downloadError(403, 'rateLimitExceeded', 'slow down')), 'SOURCE_UNAVAILABLE');
    // a body that only looks like JSON stays as it is
    assert.equal(fromGcsError(Object.assign(new Error('{oops'), { code: 502 }), 'read').message, 'Cloud Storage read: 502: {oops');
  });

  it('no answer (refused, reset, DNS), and a damaged transfer (crc32c mismatch), are SOURCE_UNAVAILABLE', () => {
    const refused = Object.assign(new Error('request to http://127.0.0.1:1/b/b/o failed, reason: connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', type: 'system' });
    const err = fromGcsError(refused, 'list gs://b/');
    assert.equal(err.code, 'SOURCE_UNAVAILABLE');
    assert.equal(err.message, 'Cloud Storage list gs://b/: ECONNREFUSED: request to http://127.0.0.1:1/b/b/o failed, reason: connect ECONNREFUSED 127.0.0.1:1');
    for (const code of ['ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE', 'CONTENT_DOWNLOAD_MISMATCH']) {
      assert.equal(gcsErrorCode({ code }), 'SOURCE_UNAVAILABLE', code);
    }
  });

  it('no Application Default Credentials, or a refused token refresh, is CONFIG_INVALID', () => {
    assert.equal(gcsErrorCode(new Error('Could not load the default credentials. Browse to https://cloud.google.com/docs/authentication/getting-started for more information.')), 'CONFIG_INVALID');
    // GaxiosError of the token endpoint: its status is the token endpoint's, its words say why
    assert.equal(gcsErrorCode(Object.assign(new Error('invalid_grant: Invalid JWT Signature.'), { status: 400 })), 'CONFIG_INVALID');
  });

  it('what it does not know is SOURCE_UNAVAILABLE (the sweep tries again); own keys only; ours stay ours', () => {
    assert.equal(gcsErrorCode({}), 'SOURCE_UNAVAILABLE');
    assert.equal(gcsErrorCode({ code: 'constructor' }), 'SOURCE_UNAVAILABLE');
    assert.equal(gcsErrorCode({ code: 418 }), 'SOURCE_UNAVAILABLE');
    assert.equal(fromGcsError('a bare string', 'list').message, 'Cloud Storage list: a bare string');
    const ours = new SyncError('CONFIG_INVALID', 'GCS_PREFIX must be a folder path');
    assert.equal(fromGcsError(ours, 'list'), ours);
  });
});

describe('Pub/Sub errors', () => {
  it('no such subscription, no permission, refused credentials, a bad name: CONFIG_INVALID, with gRPC’s name for the status', () => {
    // as the emulator ends a streaming pull on a subscription that does not exist
    const missing = Object.assign(new Error('Subscription does not exist (resource=ccai-worker)'), { code: 5 });
    const err = fromPubsubError(missing, 'subscription projects/p/subscriptions/ccai-worker');
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.equal(err.message, 'Pub/Sub subscription projects/p/subscriptions/ccai-worker: NOT_FOUND: Subscription does not exist (resource=ccai-worker)');
    for (const code of [3, 5, 7, 9, 16]) assert.equal(pubsubErrorCode({ code }), 'CONFIG_INVALID', String(code));
    // gRPC's own message already names it: not twice
    const denied = Object.assign(new Error('7 PERMISSION_DENIED: User not authorized to perform this action.'), { code: 7 });
    assert.equal(fromPubsubError(denied, 'subscription s').message, 'Pub/Sub subscription s: 7 PERMISSION_DENIED: User not authorized to perform this action.');
    assert.equal(pubsubErrorCode(new Error('Could not load the default credentials.')), 'CONFIG_INVALID');
  });

  it('anything else passes (the client retries UNAVAILABLE and the like itself): SOURCE_UNAVAILABLE', () => {
    for (const code of [4, 8, 10, 13, 14]) assert.equal(pubsubErrorCode({ code }), 'SOURCE_UNAVAILABLE', String(code));
    assert.equal(pubsubErrorCode({}), 'SOURCE_UNAVAILABLE');
  });
});
