import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IntakeResult } from '../../src/domain/intake.ts';
import { IntakeCache } from '../../src/pipeline/intake-cache.ts';

const result = (reason: string): IntakeResult => ({ status: 'ignored', reason });

describe('IntakeCache', () => {
  it('hands a job its parsed document once, only for the very same document', () => {
    const c = new IntakeCache();
    c.put('call-1-1', '{"a":1}', result('one'));
    assert.equal(c.take('call-1-1', '{"a":2}'), null, 'another document: parse it');
    c.put('call-1-1', '{"a":1}', result('one'));
    assert.deepEqual(c.take('call-1-1', '{"a":1}'), result('one'));
    assert.equal(c.take('call-1-1', '{"a":1}'), null, 'taken once');
  });

  it('stays bounded', () => {
    const c = new IntakeCache(3);
    for (let i = 0; i < 10; i++) c.put(`j${i}`, 'd', result(String(i)));
    assert.equal(c.take('j0', 'd'), null);
    assert.deepEqual(c.take('j9', 'd'), result('9'));
  });
});
