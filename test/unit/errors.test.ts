// The error registry's holds: which codes hold the queue, for how long, and when an error
// gives its own time or holds nothing by itself.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODES, SyncError, holdMs } from '../../src/errors.ts';
import type { ErrorCode, ErrorSpec } from '../../src/errors.ts';
import { fromJsforceError, fromSalesforceError } from '../../src/targets/salesforce/errors.ts';

describe('the registry’s holds', () => {
  it('declares a hold for refused credentials (5 minutes) and the org over its limit (15 minutes), and for nothing else', () => {
    const holds = Object.entries(ERROR_CODES as Record<ErrorCode, ErrorSpec>)
      .filter(([, spec]) => spec.holdMs !== undefined)
      .map(([code, spec]) => [code, spec.holdMs]);
    assert.deepEqual(holds, [
      ['TARGET_AUTH', 5 * 60_000],
      ['TARGET_RATE_LIMITED', 15 * 60_000],
    ]);
  });

  it('an error of a code that declares a hold holds for the declared time', () => {
    assert.equal(holdMs(new SyncError('TARGET_AUTH', 'refused')), 5 * 60_000);
    assert.equal(holdMs(new SyncError('TARGET_RATE_LIMITED', 'over the limit')), 15 * 60_000);
  });

  it('the time an error gives wins over the declared one, whatever its code', () => {
    assert.equal(holdMs(new SyncError('TARGET_RATE_LIMITED', 'paused', { retryAfterMs: 1_234 })), 1_234);
    assert.equal(holdMs(new SyncError('TARGET_UNAVAILABLE', 'back in a minute', { retryAfterMs: 60_000 })), 60_000);
    assert.equal(holdMs(new SyncError('TARGET_AUTH', 'paused', { retryAfterMs: 0 })), undefined, 'no time left: no hold');
  });

  it('other codes, and errors that do not hold by themselves, hold nothing', () => {
    assert.equal(holdMs(new SyncError('TARGET_UNAVAILABLE', 'down')), undefined);
    assert.equal(holdMs(new SyncError('INTERNAL', 'bug')), undefined);
    assert.equal(holdMs(new SyncError('TARGET_AUTH', 'one record', { hold: false })), undefined);
  });

  it('the Salesforce translator holds nothing by itself: the target pauses and gives the time', () => {
    const record = fromSalesforceError({ statusCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' }, 'Task');
    assert.equal(record.code, 'TARGET_RATE_LIMITED');
    assert.equal(holdMs(record), undefined);
    const request = fromJsforceError(Object.assign(new Error('Session expired or invalid'), { errorCode: 'INVALID_SESSION_ID' }), 'request');
    assert.equal(request.code, 'TARGET_AUTH');
    assert.equal(holdMs(request), undefined);
  });
});
