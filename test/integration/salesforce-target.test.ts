// The Salesforce target on its own (no queue) against the double: the pause lifts, and several
// sessions on one Case in one batch.
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { Connection } from 'jsforce';
import { Redis } from 'ioredis';
import { RedisSalesforceLedger } from '../../src/store/salesforce-ledger.ts';
import { TEST_REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/env.ts';
import { enrich } from '../../src/domain/enrich/enrich.ts';
import { SyncError } from '../../src/errors.ts';
import { createLogger } from '../../src/logger.ts';
import { parseMapping } from '../../src/targets/salesforce/mapping.ts';
import { SalesforceTarget } from '../../src/targets/salesforce/salesforce-target.ts';
import { startSalesforceDouble } from '../salesforce/double.ts';
import type { SalesforceDouble } from '../salesforce/double.ts';
import { buildSession } from '../helpers/session-builder.ts';

const note = { subject: 's', text: 't', html: '' };
let sf: SalesforceDouble;
afterEach(async () => sf?.close());
const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
const prefixes: string[] = [];
after(async () => {
  for (const p of prefixes) await dropPrefix(p);
  redis.disconnect();
});

function target(s: SalesforceDouble, extra: Partial<ConstructorParameters<typeof SalesforceTarget>[0]> = {}) {
  const prefix = uniquePrefix('sft');
  prefixes.push(prefix);
  return new SalesforceTarget({
    conn: new Connection({ instanceUrl: s.url, accessToken: s.accessToken(), version: '62.0' }),
    mapping: parseMapping({}),
    batchSize: 200,
    batchWaitMs: 30,
    ledger: new RedisSalesforceLedger(redis, prefix, { leaseMs: 30_000, keepMs: 30 * 86_400_000 }),
    slowdownAt: 0.8,
    pauseAt: 0.9,
    log: createLogger('silent'),
    ...extra,
  });
}

function onCase(caseId: string, version: string, csat: number) {
  const session = buildSession({ version, versionMs: Date.parse(version), csat: { rating: csat, comment: null, hasFeedback: false } });
  return enrich(session, { system: 'salesforce', id: caseId, url: null, object: 'Case', isAccount: false });
}

describe('Salesforce target, directly', () => {
  it('lifts the pause when it ends, and asks the org again', async () => {
    sf = await startSalesforceDouble({ dailyLimit: 1000 });
    const t = target(sf, { pauseMs: 300 });
    const caseId = sf.insert('Case', { Subject: 'x' });
    await t.apply(onCase(caseId, '2026-03-23T20:16:58.000Z', 5), note);
    sf.setDailyLimit(1000, 950); // the org's usage jumps: the next read's answer says 95%, so its write waits
    await assert.rejects(t.apply(onCase(caseId, '2026-03-23T20:17:58.000Z', 5), note), (err: SyncError) => err.code === 'TARGET_RATE_LIMITED' && (err.retryAfterMs ?? 0) > 0);
    // what the admin console shows: the usage Salesforce reported and the pause, with its end
    const paused = t.state();
    // (the read that brought the figure counts too)
    assert.equal(paused.apiUsage?.limit, 1000);
    assert.ok(paused.apiUsage!.used >= 950 && paused.apiUsage!.used < 960, String(paused.apiUsage?.used));
    assert.equal(paused.pause?.why, `API usage ${paused.apiUsage!.used}/1000`);
    assert.ok(Date.parse(paused.pause!.until) > Date.now());
    const calls = sf.apiCalls();
    sf.setDailyLimit(1000, 10); // a new day
    await new Promise((r) => setTimeout(r, 350));
    const r = await t.apply(onCase(caseId, '2026-03-23T20:18:58.000Z', 5), note);
    assert.equal(r.status, 'delivered');
    assert.ok(sf.apiCalls() > calls, 'asked the org again');
    assert.equal(t.state().pause, null, 'the pause is over');
    assert.ok((t.state().apiUsage?.used ?? 0) < 950, 'the new day\'s usage');
    await t.close();
  });

  it('with several sessions on one Case in a batch, only the newest writes the fields', async () => {
    sf = await startSalesforceDouble();
    sf.describeOverride('Case', [
      { name: 'CCAI_Session_Version__c', type: 'string', updateable: true, createable: true, length: 40 },
      { name: 'CCAI_CSAT__c', type: 'double', updateable: true, createable: true },
    ]);
    const t = target(sf, { mapping: parseMapping({ case: { fields: { CCAI_CSAT__c: 'csat_rating' } } }) });
    const caseId = sf.insert('Case', { Subject: 'x' });
    const [older, newer] = await Promise.all([
      t.apply(onCase(caseId, '2026-03-23T20:16:58.000Z', 2), note),
      t.apply(onCase(caseId, '2026-03-23T20:46:58.000Z', 5), note),
    ]);
    assert.equal(newer.status, 'delivered');
    assert.match(newer.status === 'delivered' ? newer.detail : '', /Case .* fields updated/);
    assert.match(older.status === 'delivered' ? older.detail : '', /Case fields kept: superseded by version 2026-03-23T20:46:58.000Z in the same batch/);
    assert.doesNotMatch(older.status === 'delivered' ? older.detail : '', /fields updated/);
    const c = sf.records('Case').find((r) => r.Id === caseId)!;
    assert.equal(c.CCAI_CSAT__c, 5);
    assert.equal(sf.records('Task').length, 2);
    await t.close();
  });
});
