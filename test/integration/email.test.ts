// The e-mail target through the real queue into a real SMTP server (smtp-server sink):
// token placement, threading headers, idempotent resend, a claim left by an attempt that died
// or held by one still sending, header injection, HTML escaping.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createApp } from '../../src/app/app.ts';
import type { App } from '../../src/app/app.ts';
import { placeToken, tokenProblem } from '../../src/targets/email/token.ts';
import { messageIdFor } from '../../src/targets/email/email-target.ts';
import { MailStore } from '../../src/store/mail-store.ts';
import { FIXTURES, TEST_REDIS_URL, dropPrefix, tempDir, uniquePrefix, waitFor } from '../helpers/env.ts';
import { emailSettings, startSmtpSink } from '../helpers/smtp-sink.ts';
import type { SmtpSink, SmtpSinkOptions } from '../helpers/smtp-sink.ts';

const doc = (name: string) => readFileSync(join(FIXTURES, 'sessions', name));

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function start(env: Record<string, string> = {}, o: { sink?: SmtpSinkOptions; prefix?: string; tmp?: string; /** the SMTP_URL given to the worker, from the sink's */ smtpUrl?: (url: string) => string } = {}): Promise<{ app: App; sink: SmtpSink }> {
  const sink = await startSmtpSink({ auth: { user: 'ccai', pass: 'pw' }, ...o.sink });
  const prefix = o.prefix ?? uniquePrefix('mail');
  const tmp = o.tmp ? { path: o.tmp, cleanup() {} } : tempDir('ccai-mail');
  const config = loadConfig({ ...emailSettings(o.smtpUrl ? o.smtpUrl(sink.url) : sink.url, prefix, tmp.path, TEST_REDIS_URL), JOB_BACKOFF_MS: '50', ...env });
  const app = await createApp(config, createLogger('silent'), { worker: true, allowPrivateRedis: false });
  cleanups.push(async () => {
    await app.close();
    await sink.stop();
    await dropPrefix(prefix);
    tmp.cleanup();
  });
  return { app, sink };
}

describe('e-mail target', () => {
  it('places the ticket token where each helpdesk looks for it', () => {
    assert.equal(placeToken('subject-hash', '123', 'Call 1').subject, '[#123] Call 1');
    assert.equal(placeToken('subject-tag', '123', 'Call 1', 'support').subject, '[support #123] Call 1');
    assert.equal(placeToken('subject-key', 'ABC-7', 'Call 1').subject, '[ABC-7] Call 1');
    assert.equal(placeToken('tracking-token', '0001323', 'Call 1').subject, 'Call 1 CRM:0001323');
    assert.deepEqual(placeToken('body-token', 'Ref:MSG0012345', 'Call 1'), { subject: 'Call 1', bodyLine: 'Ref:MSG0012345' });
    assert.deepEqual(placeToken('headers-only', '500ak000024vx4uAAA', 'Call 1'), { subject: 'Call 1', bodyLine: null });
  });

  it('refuses a ticket id that cannot make the token of its style (no split ticket)', () => {
    assert.equal(tokenProblem('subject-hash', '12345'), null);
    assert.match(tokenProblem('subject-hash', '500ak000024vx4uAAA') ?? '', /not a ticket number/);
    assert.equal(tokenProblem('subject-key', 'HELP-42'), null);
    assert.match(tokenProblem('subject-key', '42] Bcc') ?? '', /issue key/);
    assert.equal(tokenProblem('tracking-token', '0001323'), null);
    assert.match(tokenProblem('tracking-token', 'd2f7a0c2-1111-2222-3333-444455556666') ?? '', /tracking number/);
  });

  it('sends the real call with the token, notes, CSAT and recording link, once per version', async () => {
    const { app, sink } = await start({ MAIL_ATTACH_METADATA: 'true' });
    const s = await app.submit(doc('metadata_call-1418.json'), 'a.json');
    const outcome = await app.queue.waitFor(s.jobId!);
    assert.equal(outcome.status, 'delivered');
    await sink.waitFor(1);
    const m = sink.messages[0]!;
    assert.deepEqual(m.to, ['support@helpdesk.example.com']);
    assert.match(m.parsed.subject ?? '', /^Call 1418/);
    assert.equal((m.parsed.text ?? '').split('\n', 1)[0], '500ak000024vx4uAAA', 'the token on the first body line');
    assert.equal(m.parsed.messageId, `<ccai.call-1418.${Date.parse(s.version!)}@contact.example.com>`);
    // DSN (the sink offers it): failures and delays only, headers only, named by our Message-ID
    assert.deepEqual(m.mailArgs, { RET: 'HDRS', ENVID: m.parsed.messageId });
    assert.deepEqual(m.rcptArgs, [{ NOTIFY: 'FAILURE,DELAY', ORCPT: 'rfc822;support@helpdesk.example.com' }]);
    assert.match(m.parsed.text ?? '', /No Resolution - followup needed/);
    assert.match(m.parsed.text ?? '', /Agent's note: notes/);
    assert.match(m.parsed.text ?? '', /5\/5/);
    assert.match(m.parsed.text ?? '', /068ak00000HCpbFAAT/);
    assert.match(String(m.parsed.html), /<strong>Agent&#39;s note: <\/strong>notes<br>/);
    const att = m.parsed.attachments[0]!;
    assert.equal(att.filename, 'metadata_call-1418.json');
    assert.deepEqual(JSON.parse(att.content.toString()).id, 1418);

    // the job runs again (a crash after sending): nothing is sent twice
    const job = await app.queue.getJob(s.jobId!);
    await job!.retry('completed');
    assert.match((await app.queue.waitFor(s.jobId!)).reason, /already sent/);
    assert.equal(sink.messages.length, 1);
  });

  it('puts a Freshdesk-style [#id] in the subject of a helpdesk ticket', async () => {
    const { app, sink } = await start({ MAIL_TOKEN_STYLE: 'subject-hash' });
    const s = await app.submit(doc('zendesk-call.json'), 'z.json');
    assert.equal((await app.queue.waitFor(s.jobId!)).status, 'delivered');
    await sink.waitFor(1);
    assert.match(sink.messages[0]!.parsed.subject ?? '', /^\[#12345\] Call 1505/);
  });

  it('fails, not sends, when the ticket id cannot make the token of its style', async () => {
    const { app, sink } = await start({ MAIL_TOKEN_STYLE: 'subject-hash' });
    const s = await app.submit(doc('metadata_call-987.json'), 'a.json');
    await assert.rejects(app.queue.waitFor(s.jobId!), /TARGET_CONFIG: ticket id "500ak00001nkg4MAAQ" is not a ticket number/);
    assert.equal(sink.messages.length, 0);
  });

  it('threads a later version onto the earlier e-mail with In-Reply-To and References', async () => {
    const { app, sink } = await start();
    const first = await app.submit(doc('metadata_call-1418.json'), 'v1.json');
    await app.queue.waitFor(first.jobId!);
    const second = await app.submit(doc('call-1418-newer.json'), 'v2.json');
    await app.queue.waitFor(second.jobId!);
    await sink.waitFor(2);
    const [a, b] = sink.messages;
    assert.equal(b!.parsed.inReplyTo, a!.parsed.messageId);
    assert.deepEqual([b!.parsed.references].flat(), [a!.parsed.messageId]);
  });

  it('does not send a version older than one already sent to the ticket (a late file)', async () => {
    const { app, sink } = await start();
    const newer = await app.submit(doc('call-1418-newer.json'), 'newer.json');
    assert.equal((await app.queue.waitFor(newer.jobId!)).status, 'delivered');
    const older = await app.submit(doc('metadata_call-1418.json'), 'older.json');
    const outcome = await app.queue.waitFor(older.jobId!);
    assert.equal(outcome.status, 'skipped');
    assert.match(outcome.reason, /^superseded: the ticket already has the newer version 2026-03-23T21:02:10\.000Z/);
    await sink.waitFor(1);
    assert.equal(sink.messages.length, 1, 'one e-mail, the newer one');
    assert.equal(sink.messages[0]!.parsed.messageId, `<ccai.call-1418.${Date.parse('2026-03-23T21:02:10Z')}@contact.example.com>`);
  });

  it('two versions of one session at once: one is sent at a time, and the newer one is the thread\'s last', async () => {
    // a server slow to take the older version's e-mail: sent at the same time, the newer one
    // would be accepted first and the older one would end up last in the thread
    const olderMs = Date.parse('2026-03-23T20:16:58Z');
    const { app, sink } = await start({ WORKER_CONCURRENCY: '4' }, { sink: { acceptDelayMs: (raw) => (raw.includes(`ccai.call-1418.${olderMs}`) ? 800 : 0) } });
    const [older, newer] = await Promise.all([app.submit(doc('metadata_call-1418.json'), 'older.json'), app.submit(doc('call-1418-newer.json'), 'newer.json')]);
    const outcomes = await Promise.all([app.queue.waitFor(older.jobId!), app.queue.waitFor(newer.jobId!)]);
    assert.equal(outcomes[1]!.status, 'delivered');
    const ids = sink.messages.map((m) => m.parsed.messageId);
    const newerId = `<ccai.call-1418.${Date.parse('2026-03-23T21:02:10Z')}@contact.example.com>`;
    assert.equal(ids.at(-1), newerId, `the newer version last: ${ids.join(', ')}`);
    if (outcomes[0]!.status === 'skipped') assert.equal(ids.length, 1);
    else assert.deepEqual(ids, [`<ccai.call-1418.${olderMs}@contact.example.com>`, newerId], 'or the older one went first, alone');
  });

  it('a newer version whose e-mail was refused for good does not stop an older one', async () => {
    const newerMs = Date.parse('2026-03-23T21:02:10Z');
    const { app, sink } = await start({}, { sink: { rejectData: (raw) => (raw.includes(`ccai.call-1418.${newerMs}`) ? '5.7.1 message refused by policy' : null) } });
    const newer = await app.submit(doc('call-1418-newer.json'), 'newer.json');
    await assert.rejects(app.queue.waitFor(newer.jobId!), /5\.7\.1 message refused by policy/);
    const older = await app.submit(doc('metadata_call-1418.json'), 'older.json');
    assert.equal((await app.queue.waitFor(older.jobId!)).status, 'delivered', 'not superseded by an e-mail that never went out');
    assert.equal(sink.messages.length, 1);
  });

  it('a version sent before a newer one, run again, is "already sent", not superseded', async () => {
    const { app, sink } = await start();
    const older = await app.submit(doc('metadata_call-1418.json'), 'older.json');
    await app.queue.waitFor(older.jobId!);
    const newer = await app.submit(doc('call-1418-newer.json'), 'newer.json');
    await app.queue.waitFor(newer.jobId!);
    await sink.waitFor(2);
    const job = await app.queue.getJob(older.jobId!);
    await job!.retry('completed');
    const again = await app.queue.waitFor(older.jobId!);
    assert.equal(again.status, 'delivered');
    assert.match(again.reason, /already sent/);
    assert.equal(sink.messages.length, 2);
  });

  /** Another process's view of the e-mail memory (a second worker, or one that died). */
  function otherProcess(prefix: string, claimLeaseMs: number): MailStore {
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    cleanups.push(() => redis.disconnect());
    return new MailStore(redis, prefix, { claimLeaseMs });
  }
  const CALL_1418 = { ticketId: '500ak000024vx4uAAA', sessionKey: 'call-1418', version: '2026-03-23T20:16:58.000Z' };
  const call1418Id = messageIdFor(CALL_1418, 'CCAI Sync <ccai@contact.example.com>');
  /** what an attempt that takes over an interrupted one says (issue 14) */
  const INTERRUPTED = 'an earlier attempt of this version was interrupted; it is resent under the same Message-ID';

  it('a claim left by an attempt that died is taken over once its lease lapses, resent under the same Message-ID, no attempt used', async () => {
    const prefix = uniquePrefix('mail');
    const { app, sink } = await start({ MAIL_CLAIM_LEASE_MS: '1500' }, { prefix });
    // a process claimed the version, then died in the middle of sending it: it never renews
    const dead = otherProcess(prefix, 1500);
    assert.equal((await dead.claim(call1418Id, { ...CALL_1418, ms: Date.parse(CALL_1418.version) })).state, 'claimed');
    const s = await app.submit(doc('metadata_call-1418.json'), 'a.json');
    const outcome = await app.queue.waitFor(s.jobId!);
    assert.equal(outcome.status, 'delivered');
    assert.ok(outcome.reason.endsWith(`; ${INTERRUPTED}`), outcome.reason);
    assert.deepEqual(sink.messages.map((m) => m.parsed.messageId), [call1418Id], 'sent once, under the same Message-ID');
    const job = (await app.queue.getJob(s.jobId!))!;
    assert.equal(job.attemptsMade, 1, 'done on its first attempt: the stale claim used none');
  });

  it("a live attempt's claim is waited for, past its lease, without using an attempt; then read as sent", async () => {
    const prefix = uniquePrefix('mail');
    const { app, sink } = await start({ MAIL_CLAIM_LEASE_MS: '3000' }, { prefix });
    // another process is sending the version, slowly, and renews its claim meanwhile
    const other = otherProcess(prefix, 3000);
    const theirs = { ...CALL_1418, ms: Date.parse(CALL_1418.version) };
    assert.equal((await other.claim(call1418Id, theirs)).state, 'claimed');
    const hold = other.holdClaim(call1418Id, theirs, () => assert.fail('the live claim was taken over'));
    try {
      const s = await app.submit(doc('metadata_call-1418.json'), 'a.json');
      await waitFor('the job is running', async () => (await app.queue.getJob(s.jobId!))?.isActive());
      await new Promise((r) => setTimeout(r, 4_000)); // longer than the lease
      const job = (await app.queue.getJob(s.jobId!))!;
      assert.equal(await job.getState(), 'active', 'still waiting its turn');
      assert.equal(job.attemptsMade, 0, 'no attempt used');
      assert.equal(sink.messages.length, 0, 'not sent a second time');
      // the other process's send is done
      hold.stop();
      await other.markSent(call1418Id, { sessionKey: 'call-1418', version: CALL_1418.version, ticketId: CALL_1418.ticketId, jobId: null, sentAt: new Date().toISOString() }, theirs);
      const outcome = await app.queue.waitFor(s.jobId!);
      assert.equal(outcome.status, 'delivered');
      assert.match(outcome.reason, /already sent for this version/);
      assert.equal((await app.queue.getJob(s.jobId!))!.attemptsMade, 1);
      assert.equal(sink.messages.length, 0);
    } finally {
      hold.stop();
    }
  });

  it('setting MAIL_ID_SECRET later does not make a sent version look unsent', async () => {
    const prefix = uniquePrefix('mail');
    const tmp = tempDir('ccai-mail');
    cleanups.push(() => tmp.cleanup());
    const one = await start({}, { prefix, tmp: tmp.path });
    const s = await one.app.submit(doc('metadata_call-1418.json'), 'a.json');
    await one.app.queue.waitFor(s.jobId!);
    await one.sink.waitFor(1);
    await one.app.close();
    const two = await start({ MAIL_ID_SECRET: 'a-secret-set-after-the-first-e-mail' }, { prefix, tmp: tmp.path });
    const job = await two.app.queue.getJob(s.jobId!);
    await job!.retry('completed');
    assert.match((await two.app.queue.waitFor(s.jobId!)).reason, /already sent/);
    assert.equal(two.sink.messages.length, 0, 'nothing sent again');
  });

  it('keeps hostile agent text out of the headers, escaped in HTML and never evaluated', async () => {
    const { app, sink } = await start();
    const s = await app.submit(doc('hostile-notes-call.json'), 'h.json');
    await app.queue.waitFor(s.jobId!);
    await sink.waitFor(1);
    const m = sink.messages[0]!;
    const headerBlock = m.raw.toString('utf8').split(/\r?\n\r?\n/, 1)[0]!;
    assert.doesNotMatch(headerBlock, /^bcc:/im, 'no injected Bcc header');
    assert.equal(m.parsed.bcc, undefined);
    assert.deepEqual(m.to, ['support@helpdesk.example.com'], 'no injected recipient');
    assert.match(m.parsed.text ?? '', /\{\{ 7\*7 \}\}/);
    assert.doesNotMatch(m.parsed.text ?? '', /Template 49/);
    assert.doesNotMatch(String(m.parsed.html), /<script>/i);
    assert.match(String(m.parsed.html), /&lt;script&gt;/);
  });

  it('fails at once when the SMTP server refuses the recipient (5xx), with its words', async () => {
    const sink = await startSmtpSink({ rejectRcpt: () => 'no such mailbox' });
    const prefix = uniquePrefix('mail');
    const config = loadConfig({ CRM: 'email', REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: '/tmp', SMTP_URL: sink.url, MAIL_FROM: 'a@example.com', MAIL_TO: 'b@example.com', MAIL_TOKEN_STYLE: 'body-token' });
    const app = await createApp(config, createLogger('silent'), { worker: true, allowPrivateRedis: false });
    cleanups.push(async () => {
      await app.close();
      await sink.stop();
      await dropPrefix(prefix);
    });
    const s = await app.submit(doc('metadata_call-987.json'), 'a.json');
    // the helpdesk's server refuses MAIL_TO: a configuration problem, in the server's words
    await assert.rejects(app.queue.waitFor(s.jobId!), /TARGET_CONFIG: SMTP: .*550 no such mailbox/);
    assert.equal((await app.queue.failed())[0]!.attempts, 1, 'not retried');
    // the admin console's overview counts the refusal, in the server's words
    const refusals = app.target!.state!().refusals!;
    assert.equal(refusals.count, 1);
    assert.match(refusals.last ?? '', /550 no such mailbox/);
    assert.ok(refusals.lastAt !== null && Date.now() - Date.parse(refusals.lastAt) < 60_000);
  });

  it('refused SMTP credentials (TARGET_AUTH) hold the queue for the 5 minutes the registry declares; the job waits, no attempt used', async () => {
    const { app, sink } = await start({}, { smtpUrl: (url) => url.replace(':pw@', ':wrong@') });
    const s = await app.submit(doc('metadata_call-1418.json'), 'a.json');
    // (the limiter BullMQ needs for the hold keeps a key of one second for every job: a minute tells them apart)
    const ttl = await waitFor('the queue held and the job put back', async () => {
      const left = await app.queue.queue.getRateLimitTtl();
      return left > 60_000 && (await app.queue.getJob(s.jobId!))?.isWaiting() ? left : null;
    });
    assert.ok(ttl > 5 * 60_000 - 30_000 && ttl <= 5 * 60_000, `held for ${ttl} ms`);
    const job = (await app.queue.getJob(s.jobId!))!;
    assert.equal(job.attemptsMade, 0, 'no attempt used');
    assert.equal(sink.messages.length, 0);
  });

  it('keeps CR/LF in a disposition code out of the subject, and secured data and link credentials out of the attachment', async () => {
    const { app, sink } = await start({ MAIL_ATTACH_METADATA: 'true', RECORDING_LINK: 'never' });
    const d = JSON.parse(doc('metadata_call-1418.json').toString()) as Record<string, unknown>;
    (d.dispositions as Array<Record<string, unknown>>)[1]!.code = 'Sale\r\nBcc: thief@evil.example';
    d.custom_data_secured = { card: { label: 'Card', value: '4111 1111 1111 1111' } };
    d.out_ticket_url = String(d.out_ticket_url).replace('https://', 'https://agent:s3cr3t-pw@');
    const s = await app.submit(Buffer.from(JSON.stringify(d)), 'x.json');
    await app.queue.waitFor(s.jobId!);
    await sink.waitFor(1);
    const m = sink.messages[0]!;
    const headerBlock = m.raw.toString('utf8').split(/\r?\n\r?\n/, 1)[0]!;
    assert.doesNotMatch(headerBlock, /^bcc:/im);
    assert.deepEqual(m.to, ['support@helpdesk.example.com']);
    assert.match(m.parsed.subject ?? '', /Sale Bcc: thief@evil\.example/, 'kept as text on the one subject line');
    const attached = JSON.parse(m.parsed.attachments[0]!.content.toString()) as Record<string, unknown>;
    assert.equal(attached.custom_data_secured, undefined);
    assert.equal(attached.recording_url, undefined, 'RECORDING_LINK=never applies to the attachment too');
    assert.doesNotMatch(m.raw.toString('utf8'), /4111/);
    assert.equal(attached.out_ticket_url, 'https://crm.example.com/lightning/r/Case/500ak000024vx4uAAA/view');
    assert.doesNotMatch(m.raw.toString('utf8'), /s3cr3t/, 'the link is sent without its user name and password');
  });

  it('refuses headers-only threading when nothing of the ticket is known to reply to', async () => {
    const { app, sink } = await start({ MAIL_TOKEN_STYLE: 'headers-only' });
    const s = await app.submit(doc('metadata_call-987.json'), 'a.json');
    await assert.rejects(app.queue.waitFor(s.jobId!), /TARGET_CONFIG: MAIL_TOKEN_STYLE=headers-only needs an earlier e-mail/);
    assert.equal(sink.messages.length, 0);
  });

  it('refuses to start without SMTP_URL, MAIL_FROM and MAIL_TO', async () => {
    const config = loadConfig({ CRM: 'email', REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: uniquePrefix('mail'), DATA_DIR: '/tmp' });
    await assert.rejects(createApp(config, createLogger('silent'), { worker: true, allowPrivateRedis: false }), /SMTP_URL, MAIL_FROM and MAIL_TO/);
  });
});
