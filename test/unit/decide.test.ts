import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareVersions, decideWrite } from '../../src/domain/enrich/decide.ts';

describe('decideWrite', () => {
  const v1 = '2026-03-23T20:16:58.000Z';
  const v2 = '2026-03-23T20:46:58.000Z';

  it('writes a session the ticket has never seen', () => {
    assert.deepEqual(decideWrite(null, v1), { action: 'write', replaces: null });
  });

  it('writes a newer version, saying which one it replaces', () => {
    assert.deepEqual(decideWrite({ version: v1 }, v2), { action: 'write', replaces: v1 });
  });

  it('never writes the same version twice', () => {
    const d = decideWrite({ version: v1 }, v1);
    assert.equal(d.action, 'skip');
    assert.equal(d.action === 'skip' && d.why, 'already-written');
  });

  it('never lets an older version overwrite a newer one', () => {
    const d = decideWrite({ version: v2 }, v1);
    assert.equal(d.action, 'skip');
    assert.equal(d.action === 'skip' && d.why, 'superseded');
    assert.match(d.action === 'skip' ? d.reason : '', new RegExp(v2));
  });

  it('compares instants, not strings', () => {
    assert.equal(compareVersions('2026-03-23T20:16:58.000Z', '2026-03-23T20:16:58Z'), 0);
    assert.equal(compareVersions('2026-03-23T20:16:58.001Z', '2026-03-23T20:16:58.000Z'), 1);
  });
});
