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
    for (let i = 0; i < 5; i++) c.put(`j${i}`, 'd', result(String(i)));
    assert.equal(c.take('j0', 'd'), null);
    assert.equal(c.take('j1', 'd'), null);
    assert.deepEqual(c.take('j4', 'd'), result('4'));
  });

  it('keeps going while its entries are used, even when some are pushed out', () => {
    const c = new IntakeCache(3);
    for (let i = 0; i < 40; i++) {
      c.put(`j${i}`, 'd', result(String(i)));
      if (i % 2 === 1) assert.deepEqual(c.take(`j${i}`, 'd'), result(String(i)));
    }
  });

  it('under a backlog (a whole cache pushed out untaken) empties and rests, then tries again', () => {
    const c = new IntakeCache(3);
    for (let i = 0; i < 6; i++) c.put(`j${i}`, 'd', result(String(i)));
    assert.equal(c.take('j5', 'd'), null, 'emptied');
    for (let i = 6; i < 6 + 3 * 16; i++) c.put(`j${i}`, 'd', result(String(i)));
    assert.equal(c.take('j53', 'd'), null, 'nothing kept while resting');
    c.put('k', 'd', result('k'));
    assert.deepEqual(c.take('k', 'd'), result('k'), 'kept again after the rest');
  });
});
