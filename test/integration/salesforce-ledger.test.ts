// The Salesforce ledger (src/store/salesforce-ledger.ts) against the real Redis: each state a
// version and a Case can be in, who may move it, and what a crashed attempt leaves; then two
// targets (two workers' worth: separate connections, one ledger) on one org and the double.
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { Connection } from 'jsforce';
import { Redis } from 'ioredis';
import { enrich } from '../../src/domain/enrich/enrich.ts';
import { createLogger } from '../../src/logger.ts';
import { RedisSalesforceLedger, ledgerSinceKey } from '../../src/store/salesforce-ledger.ts';
import type { LedgerItem } from '../../src/targets/salesforce/ledger.ts';
import { parseMapping } from '../../src/targets/salesforce/mapping.ts';
import { callObjectFor } from '../../src/targets/salesforce/plan.ts';
import { SalesforceTarget } from '../../src/targets/salesforce/salesforce-target.ts';
import { startSalesforceDouble } from '../salesforce/double.ts';
import type { SalesforceDouble } from '../salesforce/double.ts';
import { buildSession } from '../helpers/session-builder.ts';
import { TEST_REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/env.ts';

const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
const prefixes: string[] = [];
after(async () => {
  for (const p of prefixes) await dropPrefix(p);
  redis.disconnect();
});

const DAY = 86_400_000;
const now = () => Date.now();

/** A ledger that has been running for a day, with a short lease. */
async function ledger(leaseMs = 400, sinceAgo = DAY) {
  const prefix = uniquePrefix('ledger');
  prefixes.push(prefix);
  if (sinceAgo > 0) await redis.set(ledgerSinceKey(prefix), String(now() - sinceAgo));
  return new RedisSalesforceLedger(redis, prefix, { leaseMs, keepMs: 30 * DAY });
}

const item = (n: number, versionMs = now() - 15 * 60_000, caseId: string | null = null): LedgerItem => ({ callObject: `call-${n}@${new Date(versionMs).toISOString()}`, versionMs, caseId });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Salesforce ledger: versions', () => {
  it('a recent version never attempted is fresh; old ones, and any while the ledger is new, are unknown', async () => {
    const l = await ledger();
    const [recent, old] = await l.claim('a', [item(1), item(2, now() - 40 * DAY)]);
    assert.deepEqual(recent, { state: 'fresh', case: null });
    assert.deepEqual(old, { state: 'unknown', case: null });
    const young = await ledger(400, 0); // begins now: what came before it is not known
    assert.equal((await young.claim('a', [item(3)]))[0]!.state, 'unknown');
  });

  it('claimed: another attempt is told busy with the lease left; renewed, it stays busy; written, it is done', async () => {
    const l = await ledger(600);
    const it1 = item(10);
    await l.claim('a', [it1]);
    const [b] = await l.claim('b', [it1]);
    assert.equal(b!.state, 'busy');
    assert.ok(b!.state === 'busy' && b.leftMs > 0 && b.leftMs <= 600);
    await sleep(400);
    await l.renew('a', [it1]);
    await sleep(400); // past the first lease, within the renewed one
    assert.equal((await l.claim('b', [it1]))[0]!.state, 'busy');
    await l.settle('a', [{ ...it1, version: 'written', wasFresh: true, case: { state: 'none' } }]);
    assert.deepEqual(await l.claim('b', [it1]), [{ state: 'done' }]);
  });

  it('a claim left by an attempt that died lapses with its lease: the next one looks first (unknown), and the dead one can no longer settle it', async () => {
    const l = await ledger(300);
    const it1 = item(20);
    await l.claim('dead', [it1]);
    await sleep(350);
    assert.deepEqual(await l.claim('next', [it1]), [{ state: 'unknown', case: null }]);
    // the dead attempt comes back (a frozen process) and says it wrote: the claim is no longer its own
    await l.settle('dead', [{ ...it1, version: 'not-written', wasFresh: true, case: { state: 'none' } }]);
    assert.equal((await l.claim('third', [it1]))[0]!.state, 'busy', 'still held by the attempt that took it over');
  });

  it('settled: not written and new goes back to fresh; maybe, or not written after an unknown claim, is unknown', async () => {
    const l = await ledger();
    const [a, b, c] = [item(30), item(31), item(32)];
    await l.claim('t', [a, b, c]);
    await l.settle('t', [
      { ...a, version: 'not-written', wasFresh: true, case: { state: 'none' } },
      { ...b, version: 'maybe', wasFresh: true, case: { state: 'none' } },
      { ...c, version: 'not-written', wasFresh: false, case: { state: 'none' } },
    ]);
    assert.deepEqual((await l.claim('u', [a, b, c])).map((x) => x.state), ['fresh', 'unknown', 'unknown']);
  });
});

describe('Salesforce ledger: what the review of issue 15 found', () => {
  it('the same version twice in one flush: the second waits (it would be written twice)', async () => {
    const l = await ledger();
    const a = item(70);
    const [first, second] = await l.claim('t', [a, a]);
    assert.equal(first!.state, 'fresh');
    assert.equal(second!.state, 'busy');
  });

  it('a request without an answer holds its version for a lease (Salesforce may still be writing it), then it is looked for', async () => {
    const l = await ledger(300);
    const a = item(71);
    await l.claim('t', [a]);
    await l.settle('t', [{ ...a, version: 'unanswered', wasFresh: true, case: { state: 'none' } }]);
    assert.equal((await l.claim('u', [a]))[0]!.state, 'busy');
    await sleep(350);
    assert.equal((await l.claim('u', [a]))[0]!.state, 'unknown');
  });

  it('renew says which claims a flush still holds: one taken over after its lease lapsed is not', async () => {
    const l = await ledger(200);
    const [a, b] = [item(72), item(73)];
    await l.claim('slow', [a, b]);
    await sleep(250);
    await l.claim('other', [a]);
    assert.deepEqual(await l.renew('slow', [a, b]), [false, true]);
  });

  it('a Case register left by a claim whose read never happened proves nothing: a newer old version reads the Case first', async () => {
    const l = await ledger();
    const CASE = '500ak000024vx4uAAA';
    const v1 = item(74, now() - 40 * DAY, CASE);
    const v2 = item(75, now() - 39 * DAY, CASE);
    assert.deepEqual((await l.claim('a', [v1]))[0], { state: 'unknown', case: { state: 'unknown' } });
    // its read failed: the Case was never looked at
    await l.settle('a', [{ ...v1, version: 'maybe', wasFresh: false, case: { state: 'failed' } }]);
    assert.deepEqual((await l.claim('b', [v2]))[0], { state: 'unknown', case: { state: 'unknown' } }, 'not fresh: the Case may hold something newer');
  });
});

describe('Salesforce ledger: Case fields', () => {
  const CASE = '500ak000024vx4uAAA';

  it('the newest version claimed wins: an older one is superseded, the same one written is "has"', async () => {
    const l = await ledger();
    const t = now() - 60 * 60_000;
    const newer = item(40, t + 10 * 60_000, CASE);
    const older = item(41, t, CASE);
    const [n] = await l.claim('a', [newer]);
    assert.deepEqual(n, { state: 'fresh', case: { state: 'fresh' } });
    await l.settle('a', [{ ...newer, version: 'written', wasFresh: true, case: { state: 'written' } }]);
    const [o] = await l.claim('b', [older]);
    assert.deepEqual(o, { state: 'fresh', case: { state: 'superseded', byMs: newer.versionMs } });
    const again = { ...item(42, newer.versionMs, CASE) };
    assert.deepEqual((await l.claim('c', [again]))[0], { state: 'fresh', case: { state: 'has' } });
  });

  it('a newer version waits while an older one is being written on the Case (its PATCH could land last), then goes', async () => {
    const l = await ledger(2_000);
    const t = now() - 60 * 60_000;
    const older = item(50, t, CASE);
    const newer = item(51, t + 60_000, CASE);
    await l.claim('a', [older]);
    const [w] = await l.claim('b', [newer]);
    assert.equal(w!.state, 'busy', 'the Case is being written by another attempt');
    await l.settle('a', [{ ...older, version: 'written', wasFresh: true, case: { state: 'written' } }]);
    assert.deepEqual((await l.claim('b', [newer]))[0], { state: 'fresh', case: { state: 'fresh' } });
  });

  it('learns what a read saw on the Case: a version older than that is superseded later without reading', async () => {
    const l = await ledger();
    const oldItem = item(60, now() - 40 * DAY, CASE); // older than its memory: the Case is read
    assert.deepEqual((await l.claim('a', [oldItem]))[0], { state: 'unknown', case: { state: 'unknown' } });
    const seen = now() - 35 * DAY;
    await l.settle('a', [{ ...oldItem, version: 'written', wasFresh: false, case: { state: 'seen', seenMs: seen } }]);
    const between = item(61, now() - 38 * DAY, CASE);
    assert.deepEqual((await l.claim('b', [between]))[0], { state: 'unknown', case: { state: 'superseded', byMs: seen } });
  });
});

describe('Salesforce target: two workers, one ledger, one org', () => {
  let sf: SalesforceDouble | undefined;
  afterEach(async () => {
    await sf?.close();
    sf = undefined;
  });
  const note = { subject: 's', text: 't', html: '' };

  function target(l: RedisSalesforceLedger, mapping = parseMapping({})) {
    return new SalesforceTarget({
      conn: new Connection({ instanceUrl: sf!.url, accessToken: sf!.accessToken(), version: '62.0' }),
      mapping,
      batchSize: 1000,
      batchWaitMs: 20,
      ledger: l,
      slowdownAt: 1,
      pauseAt: 1,
      log: createLogger('silent'),
    });
  }
  function update(id: number, caseId: string, versionMs: number, csat = 5) {
    const version = new Date(versionMs).toISOString();
    const session = buildSession({ key: `call-${id}`, id, version, versionMs, csat: { rating: csat, comment: null, hasFeedback: false } });
    return enrich(session, { system: 'salesforce', id: caseId, url: null, object: 'Case', isAccount: false });
  }

  it('the same 300 versions given to both at once: one Task each, the rest "already"', async () => {
    sf = await startSalesforceDouble({ latencyMs: 30 });
    const l = await ledger(5_000);
    const [a, b] = [target(l), target(l)];
    const caseId = sf.insert('Case', { Subject: 'x' });
    const t = now() - 15 * 60_000;
    const updates = Array.from({ length: 300 }, (_, i) => update(9000 + i, caseId, t + i));
    const results = await Promise.all(updates.flatMap((u) => [a.apply(u, note), b.apply(u, note)]));
    assert.ok(results.every((r) => r.status === 'delivered'));
    const tasks = sf.records('Task');
    assert.equal(tasks.length, 300);
    assert.equal(new Set(tasks.map((x) => x.CallObject)).size, 300, 'no version twice');
    await Promise.all([a.close(), b.close()]);
  });

  it('an attempt interrupted after its write: the next looks in Salesforce first and finds the Task; before it, writes it', async () => {
    sf = await startSalesforceDouble();
    const l = await ledger(200);
    const caseId = sf.insert('Case', { Subject: 'x' });
    const t = now() - 15 * 60_000;
    const [written, lost] = [update(9500, caseId, t), update(9501, caseId, t)];
    const [w, x] = [written, lost].map((u) => ({ callObject: callObjectFor(u), versionMs: t, caseId: null }));
    // a worker claimed both, wrote the first one's Task, and died before saying so
    await l.claim('dead', [w!, x!]);
    sf.insert('Task', { WhatId: caseId, Subject: 'written before the crash', CallObject: w!.callObject });
    await sleep(250);
    sf.reset();
    const tg = target(l);
    const [r1, r2] = await Promise.all([tg.apply(written, note), tg.apply(lost, note)]);
    assert.match(r1.status === 'delivered' ? r1.detail : '', /was already there; nothing written twice/);
    assert.match(r2.status === 'delivered' ? r2.detail : '', /Task 00T\w+ created/);
    assert.equal(sf.records('Task').length, 2);
    const subs = sf.requests.filter((r) => r.apiCall).map((r) => (r.subrequests ?? []).join(' + '));
    assert.deepEqual(subs, ['GET /query', 'POST /composite/sobjects'], 'one read (they may have been written), one write');
    await tg.close();
  });

  it('an interrupted attempt on a Case with many posts: the marker is found on a later page of the read, no second FeedItem', async () => {
    sf = await startSalesforceDouble({ queryPageSize: 10 });
    const l = await ledger(200);
    const caseId = sf.insert('Case', { Subject: 'busy case' });
    for (let k = 0; k < 25; k++) sf.insert('FeedItem', { ParentId: caseId, Type: 'TextPost', Body: `[ccai call-${k}@x]\nolder post ${k}` });
    const t = now() - 15 * 60_000;
    const u = update(9700, caseId, t);
    const callObject = callObjectFor(u);
    // a worker claimed it, posted its FeedItem (the 26th post on the Case), and died
    await l.claim('dead', [{ callObject, versionMs: t, caseId: null }]);
    sf.insert('FeedItem', { ParentId: caseId, Type: 'TextPost', Body: `[ccai ${callObject}]\nwritten before the crash` });
    await sleep(250);
    const tg = target(l, parseMapping({ task: { enabled: false }, feedItem: { enabled: true } }));
    const r = await tg.apply(u, note);
    assert.match(r.status === 'delivered' ? r.detail : '', /FeedItem for this version was already there/);
    assert.equal(sf.records('FeedItem').filter((p) => String(p.Body).startsWith(`[ccai ${callObject}]`)).length, 1);
    await tg.close();
  });

  it('Case fields from both workers, versions interleaved: the Case ends with the newest, never regressed', async () => {
    sf = await startSalesforceDouble({ latencyMs: 20 });
    sf.describeOverride('Case', [
      { name: 'CCAI_Session_Version__c', type: 'string', updateable: true, createable: true, length: 40 },
      { name: 'CCAI_CSAT__c', type: 'double', updateable: true, createable: true },
    ]);
    const l = await ledger(5_000);
    const mapping = parseMapping({ case: { fields: { CCAI_CSAT__c: 'csat_rating' } } });
    const [a, b] = [target(l, mapping), target(l, mapping)];
    const cases = Array.from({ length: 5 }, (_, i) => sf!.insert('Case', { Subject: `c${i}` }));
    const t = now() - 60 * 60_000;
    // every Case's history is written from both sides: one version a minute, in a shuffled order
    const work = cases.flatMap((c, ci) => Array.from({ length: 20 }, (_, v) => ({ c, u: update(9600 + ci * 100 + v, c, t + v * 60_000, (v % 5) + 1), v })));
    work.sort(() => Math.random() - 0.5);
    // the Case's version field moves: sample it while the writes go, it must never go back
    const seen = new Map<string, number>();
    let regressed = '';
    const sampler = setInterval(() => {
      for (const c of sf!.records('Case')) {
        const v = Date.parse(String(c.CCAI_Session_Version__c ?? '')) || 0;
        if (v < (seen.get(String(c.Id)) ?? 0)) regressed = `${c.Id} went back to ${c.CCAI_Session_Version__c}`;
        seen.set(String(c.Id), Math.max(v, seen.get(String(c.Id)) ?? 0));
      }
    }, 5);
    await Promise.all(work.map(({ u }, k) => (k % 2 ? a : b).apply(u, note)));
    clearInterval(sampler);
    assert.equal(regressed, '');
    for (const c of sf.records('Case')) {
      assert.equal(c.CCAI_Session_Version__c, new Date(t + 19 * 60_000).toISOString(), `${c.Id} has the newest version`);
      assert.equal(c.CCAI_CSAT__c, (19 % 5) + 1);
    }
    assert.equal(sf.records('Task').length, 100);
    await Promise.all([a.close(), b.close()]);
  });
});
