// The Salesforce target through the real queue and the real jsforce, against the loopback
// Salesforce double (test/salesforce): batching, idempotency, versions, each error class,
// re-authentication and the org's API limit.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createApp } from '../../src/app/app.ts';
import type { App } from '../../src/app/app.ts';
import { startSalesforceDouble } from '../salesforce/double.ts';
import type { SalesforceDouble } from '../salesforce/double.ts';
import { callOnTicket, fixture } from '../helpers/documents.ts';
import { TEST_REDIS_URL, dropPrefix, tempDir, uniquePrefix, waitFor } from '../helpers/env.ts';
import { ledgerRunningSince } from '../helpers/salesforce-ledger.ts';

const CASE_FIELDS = [
  { name: 'CCAI_Session_Version__c', type: 'string', updateable: true, createable: true, length: 40 },
  { name: 'CCAI_CSAT__c', type: 'double', updateable: true, createable: true },
  { name: 'CCAI_Notes__c', type: 'textarea', updateable: true, createable: true, length: 32000 },
];

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/**
 * A worker on the double. Its ledger has been running for a day (steady state: a version of the
 * last day that it has no record of was never attempted), unless `newLedger`.
 */
async function start(opts: { env?: Record<string, string>; mapping?: unknown; sf?: SalesforceDouble; auth?: 'token' | 'client' | 'jwt'; newLedger?: boolean } = {}) {
  const sf = opts.sf ?? (await startSalesforceDouble());
  const prefix = uniquePrefix('sf');
  if (!opts.newLedger) await ledgerRunningSince(prefix, Date.now() - 86_400_000);
  const tmp = tempDir('ccai-sf');
  const env: Record<string, string> = {
    CRM: 'salesforce',
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    DATA_DIR: tmp.path,
    SF_API_VERSION: '62.0',
    SF_BATCH_WAIT_MS: '50',
    JOB_BACKOFF_MS: '50',
    WORKER_CONCURRENCY: '50',
    ...opts.env,
  };
  const auth = opts.auth ?? 'token';
  if (auth === 'token') Object.assign(env, { SF_INSTANCE_URL: sf.url, SF_ACCESS_TOKEN: sf.accessToken() });
  if (auth === 'client') Object.assign(env, { SF_LOGIN_URL: sf.url, SF_CLIENT_ID: sf.clientId, SF_CLIENT_SECRET: sf.clientSecret });
  if (auth === 'jwt') Object.assign(env, { SF_LOGIN_URL: sf.url, SF_CLIENT_ID: sf.clientId, SF_USERNAME: sf.username, SF_PRIVATE_KEY: sf.privateKeyPem });
  if (opts.mapping) {
    writeFileSync(join(tmp.path, 'mapping.json'), JSON.stringify(opts.mapping));
    env.SF_MAPPING_FILE = join(tmp.path, 'mapping.json');
  }
  const app: App = await createApp(loadConfig(env), createLogger('silent'), { worker: true, allowPrivateRedis: false });
  cleanups.push(async () => {
    await app.close();
    await sf.close();
    await dropPrefix(prefix);
    tmp.cleanup();
  });
  return { app, sf };
}

const tasksOn = (sf: SalesforceDouble, caseId: string) => sf.records('Task').filter((t) => t.WhatId === caseId);

describe('Salesforce target', () => {
  it('logs each session version as a Task on its Case, with the call fields', async () => {
    const { app, sf } = await start();
    const caseId = sf.insert('Case', { Subject: 'Where is my order?' });
    const s = await app.submit(callOnTicket(1418, caseId), 'a.json');
    const outcome = await app.queue.waitFor(s.jobId!);
    assert.equal(outcome.status, 'delivered');
    assert.match(outcome.reason, /Task 00T\w+ created/);
    const [task] = tasksOn(sf, caseId);
    assert.ok(task, 'a Task on the Case');
    assert.equal(task.CallObject, `call-1418@${s.version}`);
    assert.equal(task.CallType, undefined, 'a scheduled (API) call is neither inbound nor outbound by its label');
    assert.equal(task.CallDurationInSeconds, 12);
    assert.equal(task.Status, 'Completed');
    assert.match(String(task.Description), /Call 1418/);
  });

  it('coalesces concurrent jobs: 120 new sessions cost one API call per batch, nothing read first', async () => {
    // a batch waits up to 1 s for more: long enough that two test files running beside this
    // one on a 2-core machine do not spread 120 jobs over more than three batches
    const { app, sf } = await start({ env: { SF_BATCH_WAIT_MS: '1000', WORKER_CONCURRENCY: '200' } });
    const cases = Array.from({ length: 120 }, (_, i) => sf.insert('Case', { Subject: `case ${i}` }));
    sf.reset();
    const before = sf.apiCalls();
    const jobs = [];
    await app.worker!.pause(); // the files arrive together, as after a bucket sync
    for (let i = 0; i < 120; i++) jobs.push((await app.submit(callOnTicket(5000 + i, cases[i]!, 'now'), `f${i}`)).jobId!);
    app.worker!.resume();
    const outcomes = await Promise.all(jobs.map((j) => app.queue.waitFor(j)));
    assert.ok(outcomes.every((o) => o.status === 'delivered'));
    assert.equal(sf.records('Task').length, 120);
    const calls = sf.apiCalls() - before;
    assert.ok(calls <= 3, `at most three batches of one call, made ${calls}`);
    const reads = sf.requests.flatMap((r) => r.subrequests ?? []).filter((sub) => sub.startsWith('GET /query')).length;
    assert.equal(reads, 0, 'versions the ledger knows were never attempted are not looked for');
  });

  it('versions older than the ledger remembers are looked for first: one read and one write per batch', async () => {
    const { app, sf } = await start({ env: { SF_BATCH_WAIT_MS: '300', WORKER_CONCURRENCY: '200' } });
    const caseId = sf.insert('Case', { Subject: 'old' });
    sf.reset();
    await app.worker!.pause();
    const jobs = [];
    // a backfill of last spring's files: months before the ledger began
    for (let i = 0; i < 50; i++) jobs.push((await app.submit(callOnTicket(6000 + i, caseId), `g${i}`)).jobId!);
    app.worker!.resume();
    const outcomes = await Promise.all(jobs.map((j) => app.queue.waitFor(j)));
    assert.ok(outcomes.every((o) => o.status === 'delivered'));
    assert.equal(tasksOn(sf, caseId).length, 50);
    const calls = sf.requests.filter((r) => r.apiCall).map((r) => (r.subrequests ?? []).join(' + '));
    const reads = calls.filter((c) => c.startsWith('GET /query'));
    assert.ok(reads.length >= 1 && reads.length === calls.length / 2, `a read and a write per batch: ${calls.join(' | ')}`);
    assert.ok(reads.every((c) => /^GET \/query( \+ GET \/query)*$/.test(c)), 'the reads go together, before the writes');
  });

  it('never creates a second Task for the same version (retried job, crash after write)', async () => {
    const { app, sf } = await start();
    const caseId = sf.insert('Case', { Subject: 'x' });
    const doc = callOnTicket(77, caseId);
    const first = await app.submit(doc, 'a.json');
    await app.queue.waitFor(first.jobId!);
    // As if the worker had crashed after writing: the job runs again.
    const job = await app.queue.getJob(first.jobId!);
    await job!.retry('completed');
    const again = await app.queue.waitFor(first.jobId!);
    assert.equal(again.status, 'delivered');
    assert.match(again.reason, /already on Case .*nothing written twice/);
    assert.equal(tasksOn(sf, caseId).length, 1);
  });

  it('updates mapped Case fields, and an older version never overwrites a newer one', async () => {
    const sf = await startSalesforceDouble();
    sf.describeOverride('Case', CASE_FIELDS);
    const { app } = await start({ sf, mapping: { case: { fields: { CCAI_CSAT__c: 'csat_rating', CCAI_Notes__c: 'disposition_notes' } } } });
    const caseId = sf.insert('Case', { Subject: 'x' });
    const doc = (minutes: number, note: string) => {
      const d = fixture('metadata_call-1418.json');
      d.out_ticket_id = caseId;
      d.out_ticket_url = null;
      d.updated_at = new Date(Date.parse('2026-03-23T20:16:58.000Z') + minutes * 60_000).toISOString();
      (d.dispositions as Array<Record<string, unknown>>)[0]!.note = note;
      return Buffer.from(JSON.stringify(d));
    };
    const newer = await app.submit(doc(30, 'the newer note'), 'v2.json');
    await app.queue.waitFor(newer.jobId!);
    const older = await app.submit(doc(0, 'the older note'), 'v1.json');
    const late = await app.queue.waitFor(older.jobId!);
    assert.equal(late.status, 'delivered', 'its Task is still logged');
    assert.match(late.reason, /Case fields kept: the Case already has the newer version/);
    const c = sf.records('Case').find((r) => r.Id === caseId)!;
    assert.match(String(c.CCAI_Notes__c), /the newer note/);
    assert.equal(c.CCAI_CSAT__c, 5);
    assert.equal(c.CCAI_Session_Version__c, newer.version);
    assert.equal(tasksOn(sf, caseId).length, 2);
  });

  it('adds one CaseComment per version when enabled, found again by its marker', async () => {
    const { app, sf } = await start({ mapping: { caseComment: { enabled: true } } });
    const caseId = sf.insert('Case', { Subject: 'x' });
    const s = await app.submit(callOnTicket(40, caseId), 'a.json');
    await app.queue.waitFor(s.jobId!);
    const job = await app.queue.getJob(s.jobId!);
    await job!.retry('completed'); // as if the job ran again after a crash
    await app.queue.waitFor(s.jobId!);
    const comments = sf.records('CaseComment').filter((c) => c.ParentId === caseId);
    assert.equal(comments.length, 1);
    assert.ok(String(comments[0]!.CommentBody).startsWith(`[ccai call-40@${s.version}]`));
    assert.ok(Buffer.byteLength(String(comments[0]!.CommentBody)) <= 4000);
    assert.equal(comments[0]!.IsPublished, false);
    assert.equal(tasksOn(sf, caseId).length, 1);
  });

  it('posts one FeedItem per version when enabled, however often the job runs', async () => {
    const { app, sf } = await start({ mapping: { task: { enabled: false }, feedItem: { enabled: true } } });
    const caseId = sf.insert('Case', { Subject: 'x' });
    const s = await app.submit(callOnTicket(41, caseId), 'a.json');
    assert.equal((await app.queue.waitFor(s.jobId!)).status, 'delivered');
    const job = await app.queue.getJob(s.jobId!);
    await job!.retry('completed');
    assert.match((await app.queue.waitFor(s.jobId!)).reason, /written by an earlier attempt; nothing written twice/);
    const posts = sf.records('FeedItem').filter((p) => p.ParentId === caseId);
    assert.equal(posts.length, 1);
    assert.equal(posts[0]!.Type, 'TextPost');
    assert.ok(String(posts[0]!.Body).startsWith(`[ccai call-41@${s.version}]`));
    assert.equal(tasksOn(sf, caseId).length, 0, 'the Task was switched off');
  });

  it('refuses to start when mapped fields are missing, listing every one', async () => {
    const sf = await startSalesforceDouble();
    cleanups.push(() => sf.close());
    const tmp = tempDir('ccai-sf');
    cleanups.push(() => tmp.cleanup());
    sf.describeOverride('Case', [{ name: 'CCAI_Session_Version__c', type: 'string', updateable: true, createable: true, length: 10 }]);
    writeFileSync(join(tmp.path, 'm.json'), JSON.stringify({ case: { fields: { CCAI_CSAT__c: 'csat_rating', Nope__c: 'csat_comment' } } }));
    const config = loadConfig({ CRM: 'salesforce', REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: uniquePrefix('sf'), DATA_DIR: tmp.path, SF_INSTANCE_URL: sf.url, SF_ACCESS_TOKEN: sf.accessToken(), SF_MAPPING_FILE: join(tmp.path, 'm.json') });
    await assert.rejects(createApp(config, createLogger('silent'), { worker: true, allowPrivateRedis: false }), (err: Error) => {
      assert.match(err.message, /Case\.CCAI_CSAT__c: no such field/);
      assert.match(err.message, /Case\.Nope__c: no such field/);
      assert.match(err.message, /Case\.CCAI_Session_Version__c: must be a text field of at least 24 characters/);
      return true;
    });
  });

  it('fails a validation-rule error at once, in Salesforce’s words, and delivers the others', async () => {
    const { app, sf } = await start();
    const good = sf.insert('Case', { Subject: 'ok' });
    const bad = sf.insert('Case', { Subject: 'locked by a rule' });
    sf.failRecords((obj, rec) => (obj === 'Task' && rec.WhatId === bad ? { statusCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'Closed cases cannot get new activities', fields: [] } : null));
    const a = await app.submit(callOnTicket(1, good), 'good.json');
    const b = await app.submit(callOnTicket(2, bad), 'bad.json');
    assert.equal((await app.queue.waitFor(a.jobId!)).status, 'delivered');
    await assert.rejects(app.queue.waitFor(b.jobId!), /TARGET_REJECTED: Salesforce Task: FIELD_CUSTOM_VALIDATION_EXCEPTION: Closed cases cannot get new activities/);
    const failed = await app.queue.failed();
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.attempts, 1, 'not retried');
    const st = await app.status.get('call-2');
    assert.equal(st?.latest.state, 'failed');
    assert.match(st?.latest.reason ?? '', /Closed cases cannot get new activities/);
  });

  it('fails a deleted Case permanently with Salesforce’s reason', async () => {
    const { app, sf } = await start();
    const caseId = sf.insert('Case', { Subject: 'gone' });
    sf.remove('Case', caseId);
    const s = await app.submit(callOnTicket(3, caseId), 'a.json');
    await assert.rejects(app.queue.waitFor(s.jobId!), /TARGET_DELETED: .*ENTITY_IS_DELETED/);
  });

  it('retries UNABLE_TO_LOCK_ROW and a 503, then delivers', async () => {
    const { app, sf } = await start();
    const caseId = sf.insert('Case', { Subject: 'busy' });
    let locks = 1;
    sf.failRecords((obj) => (obj === 'Task' && locks-- > 0 ? { statusCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record' } : null));
    sf.failNext(1, { status: 503, body: [{ errorCode: 'SERVER_UNAVAILABLE', message: 'Server unavailable' }] });
    const s = await app.submit(callOnTicket(4, caseId), 'a.json');
    const outcome = await app.queue.waitFor(s.jobId!);
    assert.equal(outcome.status, 'delivered');
    assert.equal(tasksOn(sf, caseId).length, 1);
    const job = await app.queue.getJob(s.jobId!);
    assert.ok(job!.attemptsMade >= 2, 'it took retries');
  });

  for (const auth of ['client', 'jwt'] as const) {
    it(`${auth === 'client' ? 'client credentials' : 'JWT bearer'}: logs in once, and again only when the session expires`, async () => {
      const { app, sf } = await start({ auth });
      const caseId = sf.insert('Case', { Subject: 'x' });
      const tokenRequests = () => sf.requests.filter((r) => r.path === '/services/oauth2/token').length;
      const a = await app.submit(callOnTicket(10, caseId), 'a.json');
      await app.queue.waitFor(a.jobId!);
      const b = await app.submit(callOnTicket(11, caseId), 'b.json');
      await app.queue.waitFor(b.jobId!);
      assert.equal(tokenRequests(), 1, 'one login for many jobs');
      sf.expireTokens();
      const c = await app.submit(callOnTicket(12, caseId), 'c.json');
      assert.equal((await app.queue.waitFor(c.jobId!)).status, 'delivered');
      assert.equal(tokenRequests(), 2, 'logged in again after INVALID_SESSION_ID');
      assert.equal(tasksOn(sf, caseId).length, 3);
    });
  }

  it('gives up on a request with no answer after SF_REQUEST_TIMEOUT_MS, and retries', async () => {
    const { app, sf } = await start({ env: { SF_REQUEST_TIMEOUT_MS: '1000' } });
    const caseId = sf.insert('Case', { Subject: 'slow' });
    sf.setLatency(1_500);
    const s = await app.submit(callOnTicket(50, caseId), 'a.json');
    await waitFor('a retry after the time-out', async () => {
      const st = await app.status.get('call-50');
      return st?.latest.state === 'retrying' && st;
    }, 10_000);
    sf.setLatency(0);
    assert.equal((await app.queue.waitFor(s.jobId!)).status, 'delivered');
    assert.equal(tasksOn(sf, caseId).length, 1);
  });

  it('pauses instead of failing when the org’s daily API usage passes the pause share', async () => {
    const sf = await startSalesforceDouble({ dailyLimit: 1000 });
    const { app } = await start({ sf, env: { SF_API_USAGE_PAUSE: '0.9', SF_API_USAGE_SLOWDOWN: '0.8' } });
    const caseId = sf.insert('Case', { Subject: 'x' });
    const first = await app.submit(callOnTicket(20, caseId), 'a.json');
    await app.queue.waitFor(first.jobId!);
    sf.setDailyLimit(1000, 950); // someone else used the org's budget
    await app.submit(callOnTicket(21, caseId), 'b.json'); // its request carries the new usage...
    await waitFor('usage seen', async () => sf.apiCalls() >= 4);
    const held = await app.submit(callOnTicket(22, caseId), 'c.json'); // ...so this one is held back
    await new Promise((r) => setTimeout(r, 300));
    const calls = sf.apiCalls();
    await waitFor('job held back', async () => {
      const state = await app.queue.getJob(held.jobId!).then((j) => j?.getState());
      return state === 'waiting' || state === 'delayed' || state === 'prioritized';
    });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(sf.apiCalls(), calls, 'no API calls while paused');
    assert.notEqual(await app.queue.getJob(held.jobId!).then((j) => j?.getState()), 'failed');
  });

  it('treats REQUEST_LIMIT_EXCEEDED as a rate limit, not a failure', async () => {
    const { app, sf } = await start();
    const caseId = sf.insert('Case', { Subject: 'x' });
    sf.setDailyLimit(100, 100);
    const s = await app.submit(callOnTicket(30, caseId), 'a.json');
    await waitFor('job held back', async () => {
      const st = await app.queue.getJob(s.jobId!).then((j) => j?.getState());
      return st === 'waiting' || st === 'delayed';
    });
    assert.notEqual(await app.queue.getJob(s.jobId!).then((j) => j?.getState()), 'failed');
    assert.equal(tasksOn(sf, caseId).length, 0);
  });
});
