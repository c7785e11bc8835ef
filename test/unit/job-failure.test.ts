// A failed job's typed failure: read from the record the worker writes into the job's data,
// never parsed out of the failed reason's text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JobFailedError, failureOf, formatFailure } from '../../src/queue/jobs.ts';
import { backoffDelay } from '../../src/queue/worker.ts';

const failure = { code: 'TARGET_REJECTED', message: 'Salesforce Task: FIELD_CUSTOM_VALIDATION_EXCEPTION: Closed cases cannot get new activities' } as const;

describe('a job’s failure', () => {
  it('is the typed record behind the failed reason', () => {
    assert.deepEqual(failureOf({ failure }, formatFailure(failure)), failure);
    assert.equal(formatFailure(failure), 'TARGET_REJECTED: Salesforce Task: FIELD_CUSTOM_VALIDATION_EXCEPTION: Closed cases cannot get new activities');
  });

  it('a job failed by an older version (no record) is INTERNAL with its failed reason as the message, code and all', () => {
    assert.deepEqual(failureOf({}, 'TARGET_DELETED: the Case was deleted'), { code: 'INTERNAL', message: 'TARGET_DELETED: the Case was deleted' });
    assert.deepEqual(failureOf(undefined, undefined, 'failed'), { code: 'INTERNAL', message: 'failed' });
    assert.deepEqual(failureOf(undefined, undefined), { code: 'INTERNAL', message: 'unknown failure' });
  });

  it('a record of an earlier attempt does not speak for a failure of BullMQ’s own (stalled)', () => {
    assert.deepEqual(failureOf({ failure }, 'job stalled more than allowable limit'), { code: 'INTERNAL', message: 'job stalled more than allowable limit' });
  });

  it('a record whose code is not one of ours is not trusted', () => {
    const odd = { code: 'NOT_A_CODE', message: 'x' } as unknown as typeof failure;
    assert.deepEqual(failureOf({ failure: odd }, 'NOT_A_CODE: x'), { code: 'INTERNAL', message: 'NOT_A_CODE: x' });
  });

  it('travels as a JobFailedError: the failed reason as its message, the record as a field', () => {
    const err = new JobFailedError(failure);
    assert.equal(err.message, formatFailure(failure));
    assert.deepEqual(err.failure, failure);
  });

  it('a retry after a rate limit waits at least half a minute; another, from its backoff', () => {
    for (let i = 0; i < 20; i++) {
      assert.ok(backoffDelay(1, 50, 'TARGET_RATE_LIMITED') >= 30_000);
      const d = backoffDelay(1, 50, 'TARGET_UNAVAILABLE');
      assert.ok(d >= 25 && d <= 50, String(d));
      assert.ok(backoffDelay(1, 50, undefined) <= 50);
    }
  });
});
