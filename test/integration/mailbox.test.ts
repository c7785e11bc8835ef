// The mailbox reader against a real Dovecot (rootless, test/helpers/dovecot.ts), the real queue
// (Redis) and, for bounces and replies, the e-mail target sending to a real SMTP server.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createApp } from '../../src/app/app.ts';
import { startMailReader } from '../../src/app/mail-reader.ts';
import type { App } from '../../src/app/app.ts';
import type { MailDisposition } from '../../src/pipeline/mail-intake.ts';
import type { MailboxReader } from '../../src/sources/imap/mailbox.ts';
import { LocalCrm } from '../../src/targets/local/local-crm.ts';
import { startDovecot } from '../helpers/dovecot.ts';
import type { Dovecot } from '../helpers/dovecot.ts';
import { CLI, FIXTURES, TEST_REDIS_URL, dropPrefix, freePort, runCli, stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.ts';
import { startFreezingProxy } from '../helpers/freezing-proxy.ts';
import { startSmtpSink } from '../helpers/smtp-sink.ts';
import type { SmtpSink } from '../helpers/smtp-sink.ts';

const mail = (name: string) => readFileSync(join(FIXTURES, 'mail', name));
const session = (name: string) => readFileSync(join(FIXTURES, 'sessions', name));
const ALLOWED = 'ccai-export@ujet.example.com';

function compose(opts: Record<string, unknown>): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    new MailComposer(opts).compile().build((err, b) => (err ? reject(err) : resolve(b))),
  );
}

let dovecot: Dovecot;
let users = 0;
before(async () => {
  dovecot = await startDovecot();
});
after(async () => {
  await dovecot?.stop();
});

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

interface Run {
  app: App;
  reader: MailboxReader;
  user: string;
  tmp: string;
  outcomes: MailDisposition[];
  sink: SmtpSink | null;
  /** the settings, for running the CLI against the same queue */
  env: Record<string, string>;
}

/** A fresh mailbox user, queue prefix and data folder; the worker and the mailbox reader started. */
async function start(env: Record<string, string> = {}, opts: { email?: boolean; user?: string; prefix?: string; tmp?: string } = {}): Promise<Run> {
  const user = opts.user ?? `box${++users}`;
  await dovecot.createFolder(user, 'INBOX');
  const sink = opts.email ? await startSmtpSink() : null;
  const prefix = opts.prefix ?? uniquePrefix('imap');
  const tmp = opts.tmp ? { path: opts.tmp, cleanup() {} } : tempDir('ccai-imap');
  const settings: Record<string, string> = {
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    DATA_DIR: tmp.path,
    IMAP_URL: dovecot.url(user),
    IMAP_ALLOWED_SENDERS: ALLOWED,
    IMAP_POLL_MS: '1000',
    JOB_BACKOFF_MS: '50',
    ...(sink
      ? { CRM: 'email', SMTP_URL: sink.url, MAIL_FROM: 'CCAI Sync <ccai@contact.example.com>', MAIL_TO: 'support@helpdesk.example.com', MAIL_TOKEN_STYLE: 'body-token' }
      : {}),
    ...env,
  };
  const config = loadConfig(settings);
  const app = await createApp(config, createLogger('silent'), { worker: true, allowPrivateRedis: false });
  const outcomes: MailDisposition[] = [];
  const reader = startMailReader(app, (d) => outcomes.push(d));
  cleanups.push(async () => {
    await reader.close();
    await app.close();
    await sink?.stop();
    if (!opts.prefix) await dropPrefix(prefix);
    tmp.cleanup();
  });
  return { app, reader, user, tmp: tmp.path, outcomes, sink, env: settings };
}

/** A mailbox user, queue prefix and data folder that several readers in one test share. */
async function sharedMailbox(label: string) {
  const user = `${label}${++users}`;
  const prefix = uniquePrefix('imap');
  const dir = tempDir('ccai-imap');
  cleanups.push(async () => {
    await dropPrefix(prefix);
    dir.cleanup();
  });
  await dovecot.createFolder(user, 'INBOX');
  return { user, prefix, dir };
}

const delivered = (app: App, key: string) =>
  waitFor(`${key} delivered`, async () => {
    const s = await app.status.get(key);
    return s?.latest.state === 'delivered' ? s : null;
  });

describe('mailbox reader', () => {
  it('turns metadata e-mails (JSON attachment, JSON body) into delivered sessions, then marks them', async () => {
    const { app, reader, user, tmp } = await start();
    await dovecot.append(user, 'INBOX', mail('metadata-attachment.eml'));
    await dovecot.append(user, 'INBOX', mail('metadata-body.eml'));
    const a = await delivered(app, 'call-987');
    const b = await delivered(app, 'chat-201');
    assert.equal(a.latest.ticket, '500ak00001nkg4MAAQ');
    assert.match(a.latest.source ?? '', /^imap:INBOX\/\d+\/metadata_call-987\.json$/);
    assert.equal(b.latest.ticket, '500ak000024vy9SAAQ');
    const crm = new LocalCrm(tmp, { readOnly: true });
    assert.equal(crm.get('500ak00001nkg4MAAQ')?.notes.length, 1);
    await crm.close();
    await reader.settled();
    const box = await dovecot.list(user, 'INBOX');
    assert.deepEqual(box.map((m) => m.flags), [['$CcaiDone', '\\Seen'], ['$CcaiDone', '\\Seen']]);
    assert.equal(reader.health()[0]!.lastUid, box[1]!.uid);
    assert.equal(reader.health()[0]!.idle, true);
  });

  it('keeps what it cannot take with the reason, moves it aside, and leaves mail that is not its own alone', async () => {
    const { reader, user, tmp, outcomes } = await start({ IMAP_REJECTED_FOLDER: 'Rejected', IMAP_PROCESSED_FOLDER: 'Done', IMAP_MAX_MESSAGE_BYTES: '20000', MAX_FILE_BYTES: '8000' });
    const json = session('metadata_call-987.json');
    // metadata from a sender not in IMAP_ALLOWED_SENDERS
    await dovecot.append(user, 'INBOX', await compose({ from: 'intruder@evil.example', to: 'x@contact.example.com', subject: 'metadata', text: 'see attached', attachments: [{ filename: 'metadata_call-987.json', content: json }] }));
    // over the size limit: never downloaded
    await dovecot.append(user, 'INBOX', await compose({ from: ALLOWED, to: 'x@contact.example.com', subject: 'big', text: 'x'.repeat(30_000) }));
    // an allowed sender whose JSON is not a session: rejected by intake, the document kept
    await dovecot.append(user, 'INBOX', await compose({ from: ALLOWED, to: 'x@contact.example.com', subject: 'odd', attachments: [{ filename: 'list.json', content: '{"hello": "world"}' }] }));
    // an attachment over MAX_FILE_BYTES (the message itself is under the message limit)
    const padded = JSON.stringify({ ...JSON.parse(json.toString()), id: 988, padding: 'p'.repeat(4000) });
    await dovecot.append(user, 'INBOX', await compose({ from: ALLOWED, to: 'x@contact.example.com', subject: 'fat', attachments: [{ filename: 'metadata_call-988.json', content: padded }] }));
    // someone else's newsletter
    await dovecot.append(user, 'INBOX', await compose({ from: 'news@shop.example', to: 'x@contact.example.com', subject: 'Sale!', text: 'Buy now' }));
    // and one good one
    await dovecot.append(user, 'INBOX', mail('metadata-attachment.eml'));
    await waitFor('all six handled', async () => outcomes.length >= 6);

    assert.deepEqual(
      outcomes.map((o) => `${o.kind}/${o.action}`),
      ['other/reject', 'too-large/reject', 'metadata/reject', 'metadata/reject', 'other/leave', 'metadata/done'],
    );
    assert.match(outcomes[1]!.reason, /over IMAP_MAX_MESSAGE_BYTES \(20000\); it was not downloaded/);
    assert.match(outcomes[2]!.reason, /^list\.json: INPUT_MISSING_FIELD: id is missing/);
    assert.match(outcomes[3]!.reason, /^metadata_call-988\.json: INPUT_TOO_LARGE/);
    const inbox = await dovecot.list(user, 'INBOX');
    assert.deepEqual(inbox.map((m) => [m.subject, m.flags]), [['Sale!', []]], 'only the mail that is not ours stays, untouched');
    assert.deepEqual((await dovecot.list(user, 'Rejected')).map((m) => m.subject), ['metadata', 'big', 'odd', 'fat']);
    assert.deepEqual((await dovecot.list(user, 'Done')).map((m) => m.subject), ['Session metadata: call 987']);

    const kept = readdirSync(join(tmp, 'rejected')).sort();
    const reasons = kept.filter((f) => f.endsWith('.reason.json')).map((f) => JSON.parse(readFileSync(join(tmp, 'rejected', f), 'utf8')) as { code: string; message: string; source: string });
    assert.deepEqual(reasons.map((r) => r.code).sort(), ['INPUT_MISSING_FIELD', 'INPUT_NOT_ACCEPTED', 'INPUT_TOO_LARGE', 'INPUT_TOO_LARGE']);
    assert.match(reasons.find((r) => r.code === 'INPUT_NOT_ACCEPTED')!.message, /the sender intruder@evil\.example is not in IMAP_ALLOWED_SENDERS/);
    assert.deepEqual(kept.filter((f) => f.endsWith('.eml')), [], 'messages refused whole stay on the server (in Rejected): no copy on disk');
    assert.equal(reader.health()[0]!.handled, 6);
  });

  it('a message that keeps failing is set aside after three tries; the folder goes on', async () => {
    const dir = tempDir('ccai-imap');
    cleanups.push(() => dir.cleanup());
    // DATA_DIR/rejected is a file: a bad document cannot be kept there (not a passing problem)
    mkdirSync(dir.path, { recursive: true });
    writeFileSync(join(dir.path, 'rejected'), 'in the way');
    const { app, reader, user, outcomes } = await start({ IMAP_POLL_MS: '1000' }, { tmp: dir.path });
    await dovecot.append(user, 'INBOX', await compose({ from: ALLOWED, to: 'x@contact.example.com', subject: 'odd', attachments: [{ filename: 'list.json', content: '{"hello": "world"}' }] }));
    await dovecot.append(user, 'INBOX', mail('metadata-attachment.eml'));
    await delivered(app, 'call-987');
    assert.deepEqual(outcomes.map((o) => `${o.kind}/${o.action}`), ['other/reject', 'metadata/done']);
    assert.match(outcomes[0]!.reason, /^could not be handled \(3 tries\): .* \(not kept: /);
    await reader.settled();
    assert.deepEqual((await dovecot.list(user, 'INBOX')).map((m) => [m.subject, m.flags]), [['odd', ['$CcaiRejected']], ['Session metadata: call 987', ['$CcaiDone', '\\Seen']]]);
  });

  it('marks a session failed when the e-mail sent for it bounces, once, with the bounce\'s reason', async () => {
    const { app, user, outcomes, sink, env } = await start({}, { email: true });
    const s = await app.submit(session('metadata_call-1418.json'), 'call-1418.json');
    await app.queue.waitFor(s.jobId!);
    await sink!.waitFor(1);
    assert.equal(sink!.messages[0]!.parsed.messageId, '<ccai.call-1418.1774297018000@contact.example.com>');

    await dovecot.append(user, 'INBOX', mail('bounce-dsn.eml'));
    const failed = await waitFor('bounce recorded', async () => {
      const st = await app.status.get('call-1418');
      return st?.latest.state === 'failed' ? st : null;
    });
    assert.equal(failed.latest.code, 'TARGET_BOUNCED');
    assert.equal(failed.latest.ticket, '500ak000024vx4uAAA');
    assert.equal(failed.latest.jobId, s.jobId);
    assert.match(failed.latest.reason ?? '', /^bounced: Undelivered Mail Returned to Sender: support@helpdesk\.example\.com: 5\.1\.1 .*User unknown/);

    // the same bounce again (another copy, or a re-read after a crash): recorded once
    await dovecot.append(user, 'INBOX', mail('bounce-dsn.eml'));
    await waitFor('second copy handled', async () => outcomes.length >= 2);
    const st = await app.status.get('call-1418');
    assert.equal(st!.history.filter((h) => h.code === 'TARGET_BOUNCED').length, 1);

    // status and replay show it as failed; after a fix, replay sends it again (same Message-ID)
    const shown = await runCli(['status', 'call-1418'], env);
    assert.match(shown.stdout, /^call-1418: failed on ticket 500ak000024vx4uAAA/);
    assert.match(shown.stdout, /why: TARGET_BOUNCED: bounced: .*User unknown/);
    const listed = await runCli(['replay', '--list', '--json'], env);
    const failedList = (JSON.parse(listed.stdout) as { failed: Array<{ sessionKey: string; jobId: string; reason: string }> }).failed;
    assert.deepEqual(failedList.map((f) => [f.sessionKey, f.jobId]), [['call-1418', s.jobId]]);
    assert.match(failedList[0]!.reason, /^TARGET_BOUNCED: bounced: /);
    const replayed = await runCli(['replay', 'call-1418'], env);
    assert.match(replayed.stdout, /^replayed 1 failed job\(s\)/);
    await sink!.waitFor(2);
    // sent again as the version's next generation, referring to nothing that came back
    assert.equal(sink!.messages[1]!.parsed.messageId, '<ccai.call-1418.1774297018000.r1@contact.example.com>');
    assert.equal(sink!.messages[1]!.parsed.inReplyTo, undefined);
    await delivered(app, 'call-1418');
    assert.equal(JSON.parse((await runCli(['replay', '--list', '--json'], env)).stdout).failed.length, 0, 'nothing left to replay');
  });

  it('MAIL_ID_SECRET: a bounce of the real e-mail is taken; one naming an untagged or forged Message-ID is left alone', async () => {
    const { app, user, outcomes, sink, env } = await start({ MAIL_ID_SECRET: 'mailbox-test-secret-0123456789' }, { email: true });
    const s = await app.submit(session('metadata_call-1418.json'), 'call-1418.json');
    await app.queue.waitFor(s.jobId!);
    await sink!.waitFor(1);
    const sent = sink!.messages[0]!.parsed.messageId!;
    assert.match(sent, /^<ccai\.call-1418\.1774297018000\.[0-9a-f]{16}@contact\.example\.com>$/);
    const bounce = readFileSync(join(FIXTURES, 'mail', 'bounce-dsn.eml'), 'utf8');
    const plain = '<ccai.call-1418.1774297018000@contact.example.com>';
    const forged = sent.replace(/\.([0-9a-f]{16})@/, '.0123456789abcdef@');
    // what anyone could derive from the session version: not ours any more
    await dovecot.append(user, 'INBOX', bounce);
    await dovecot.append(user, 'INBOX', bounce.replace(plain, forged));
    await waitFor('both read', async () => outcomes.length >= 2);
    assert.deepEqual(outcomes.map((o) => o.action), ['leave', 'leave']);
    assert.equal((await app.status.get('call-1418'))!.latest.state, 'delivered');
    // the real one
    await dovecot.append(user, 'INBOX', bounce.replace(plain, sent));
    const failed = await waitFor('bounce recorded', async () => {
      const st = await app.status.get('call-1418');
      return st?.latest.state === 'failed' ? st : null;
    });
    assert.equal(failed.latest.code, 'TARGET_BOUNCED');
    const replayed = await runCli(['replay', 'call-1418'], env);
    assert.match(replayed.stdout, /^replayed 1 failed job\(s\)/);
    await sink!.waitFor(2);
    assert.equal(sink!.messages[1]!.parsed.messageId, sent.replace('.1774297018000.', '.1774297018000.r1.'), 'the resend keeps the tag');
    await delivered(app, 'call-1418');
  });

  it('reports an auto-reply that opened a NEW ticket as a threading miss; threads later e-mails on a notification', async () => {
    const { app, user, outcomes, sink } = await start({ MAIL_TOKEN_STYLE: 'subject-hash' }, { email: true });
    const first = await app.submit(session('zendesk-call.json'), 'z1.json');
    await app.queue.waitFor(first.jobId!);
    await sink!.waitFor(1);
    assert.equal(sink!.messages[0]!.parsed.messageId, '<ccai.call-1505.1769217600000@contact.example.com>');

    await dovecot.append(user, 'INBOX', mail('autoreply-new-ticket.eml'));
    const miss = await waitFor('threading miss', async () => {
      const st = await app.status.get('call-1505');
      return st?.latest.code === 'TARGET_THREAD_MISS' ? st.latest : null;
    });
    assert.equal(miss.state, 'failed');
    assert.match(miss.reason ?? '', /opened a NEW ticket 4711 instead of adding this update to ticket 12345 .*check MAIL_TOKEN_STYLE/);

    // the helpdesk's notification on the right ticket: later e-mails reply to it and carry its watermark
    await dovecot.append(user, 'INBOX', mail('helpdesk-notification.eml'));
    await waitFor('notification handled', async () => outcomes.some((o) => o.kind === 'notification'));
    const newer = JSON.parse(session('zendesk-call.json').toString()) as Record<string, unknown>;
    newer.updated_at = '2026-01-23T18:00:00.000-08:00';
    const second = await app.submit(Buffer.from(JSON.stringify(newer)), 'z2.json');
    await app.queue.waitFor(second.jobId!);
    await sink!.waitFor(2);
    const m = sink!.messages[1]!;
    assert.equal(m.parsed.inReplyTo, '<notify-12345-2@helpdesk.example.com>');
    assert.deepEqual([m.parsed.references].flat(), ['<ccai.call-1505.1769217600000@contact.example.com>', '<notify-12345-2@helpdesk.example.com>']);
    assert.match(m.parsed.subject ?? '', /^\[#12345\] /);
    assert.equal((m.parsed.text ?? '').split('\n', 1)[0], 'Ref:MSG0012345');
  });

  it('loses nothing and processes nothing twice when the IMAP connection drops during a run', async () => {
    const user = `drop${++users}`;
    const total = 60;
    const base = JSON.parse(session('metadata_call-987.json').toString()) as Record<string, unknown>;
    // appended over one connection before the reader starts
    const c = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user, pass: dovecot.password }, logger: false });
    c.on('error', () => {});
    await c.connect();
    for (let i = 0; i < total; i++) {
      const doc = JSON.stringify({ ...base, id: 5000 + i });
      await c.append('INBOX', await compose({ from: ALLOWED, to: 'x@contact.example.com', subject: `call ${5000 + i}`, attachments: [{ filename: `metadata_call-${5000 + i}.json`, content: doc }] }));
    }
    await c.logout();

    const { app, reader, tmp, outcomes } = await start({}, { user });
    // cut the connection twice while messages are being read
    let droppedAt = -1;
    await waitFor('first messages', async () => outcomes.length >= 5, 20_000, 5);
    droppedAt = outcomes.length;
    await dovecot.dropConnections();
    await waitFor('reading again', async () => reader.health()[0]!.reconnects >= 1 && outcomes.length >= droppedAt + 5, 20_000, 5);
    await dovecot.dropConnections();
    await waitFor('all messages read', async () => reader.health()[0]!.lastUid >= total && reader.health()[0]!.connected, 30_000);
    assert.ok(droppedAt < total, `the connection dropped mid-run (after ${droppedAt} of ${total})`);
    assert.ok(reader.health()[0]!.reconnects >= 2);

    for (let i = 0; i < total; i++) await delivered(app, `call-${5000 + i}`);
    const crm = new LocalCrm(tmp, { readOnly: true });
    const notes = crm.get('500ak00001nkg4MAAQ')!.notes.map((n) => n.sessionKey);
    await crm.close();
    assert.equal(notes.length, total, 'one note per session');
    assert.equal(new Set(notes).size, total, 'no session twice');
    const box = await dovecot.list(user, 'INBOX');
    assert.equal(box.length, total);
    assert.ok(box.every((m) => m.flags.includes('$CcaiDone')), 'every message marked');
    // a message read again after a drop is recognised, not queued twice
    const queuedTwice = outcomes.filter((o) => o.kind === 'metadata').length - total;
    assert.ok(queuedTwice >= 0 && queuedTwice <= 2, `at most the in-flight message per drop is read again (${queuedTwice})`);
  });

  it('two workers on one mailbox: one reads, the other stands by and takes over when it stops', async () => {
    const { user, prefix, dir } = await sharedMailbox('pair');
    const a = await start({ IMAP_POLL_MS: '1000' }, { user, prefix, tmp: dir.path });
    await waitFor('a reads', async () => a.reader.health()[0]!.state === 'watching');
    const b = await start({ IMAP_POLL_MS: '1000' }, { user, prefix, tmp: dir.path });
    await waitFor('b stands by', async () => b.reader.health()[0]!.state === 'standby');
    assert.equal(b.reader.healthy(), true, 'standing by is healthy');
    await dovecot.append(user, 'INBOX', mail('metadata-attachment.eml'));
    await waitFor('read by a', async () => a.outcomes.length === 1);
    await a.reader.close();
    await dovecot.append(user, 'INBOX', mail('metadata-body.eml'));
    await waitFor('b took over', async () => b.outcomes.length === 1, 20_000);
    assert.deepEqual([a.outcomes.length, b.outcomes.length], [1, 1], 'each message read once');
    assert.equal(b.reader.health()[0]!.state, 'watching');
  });

  it('continues after the last UID on restart, and reads the folder again when UIDVALIDITY changes', async () => {
    const { user, prefix, dir } = await sharedMailbox('restart');
    await dovecot.append(user, 'INBOX', mail('metadata-attachment.eml'));
    const one = await start({}, { user, prefix, tmp: dir.path });
    await waitFor('first read', async () => one.outcomes.length === 1);
    await one.reader.close();
    await dovecot.append(user, 'INBOX', mail('metadata-body.eml'));
    const two = await start({}, { user, prefix, tmp: dir.path });
    await waitFor('second read', async () => two.outcomes.length >= 1);
    await two.reader.settled();
    assert.deepEqual(two.outcomes.map((o) => o.kind), ['metadata'], 'only the new message');

    // the server renumbered the folder: every message is looked at again, and recognised as done
    const state = two.app.mailboxState;
    const account = `${dovecot.host}:${dovecot.port}/${user}`;
    await state.reset(account, 'INBOX', '1');
    await two.reader.close();
    const three = await start({}, { user, prefix, tmp: dir.path });
    await three.reader.settled();
    assert.deepEqual(three.outcomes, [], 'marked messages are not handled again');
    assert.equal((await state.get(account, 'INBOX'))!.lastUid, (await dovecot.list(user, 'INBOX'))[1]!.uid);
  });

  it('IMAP_START=new leaves the mail already in a folder alone on its first read, and only then', async () => {
    const { user, prefix, dir } = await sharedMailbox('startnew');
    await dovecot.append(user, 'INBOX', mail('metadata-attachment.eml'), [], new Date('2026-01-10T12:00:00Z'));
    const one = await start({ IMAP_START: 'new' }, { user, prefix, tmp: dir.path });
    await one.reader.settled();
    assert.deepEqual(one.outcomes, [], 'the message that was there is not read');
    await dovecot.append(user, 'INBOX', mail('metadata-body.eml'));
    await delivered(one.app, 'chat-201');
    await one.reader.settled();
    assert.equal(await one.app.status.get('call-987'), null);
    const box = await dovecot.list(user, 'INBOX');
    assert.deepEqual(box.map((m) => m.flags), [[], ['$CcaiDone', '\\Seen']], 'the old message is left unread and unmarked');
    await one.reader.close();
    // a restart continues where it was: IMAP_START applies to a folder's first read only
    await dovecot.append(user, 'INBOX', await compose({ from: ALLOWED, to: 'x@contact.example.com', subject: 'metadata', text: 'attached', attachments: [{ filename: 'metadata_call-1418.json', content: session('metadata_call-1418.json') }] }));
    const two = await start({ IMAP_START: 'new' }, { user, prefix, tmp: dir.path });
    await delivered(two.app, 'call-1418');
    await two.reader.settled();
    assert.deepEqual(two.outcomes.map((o) => o.kind), ['metadata']);
    // the server renumbers the folder: read again from the day of the first read only, so the
    // old message stays alone (the others are recognised by their keyword)
    const state = two.app.mailboxState;
    const account = `${dovecot.host}:${dovecot.port}/${user}`;
    const saved = (await state.get(account, 'INBOX'))!;
    assert.equal(saved.since, new Date().toISOString().slice(0, 10));
    await state.reset(account, 'INBOX', '1', 0, saved.since);
    await two.reader.close();
    const three = await start({ IMAP_START: 'all' }, { user, prefix, tmp: dir.path });
    await three.reader.settled();
    assert.deepEqual(three.outcomes, []);
    assert.equal(await three.app.status.get('call-987'), null, 'the old message is still not read');
    assert.equal((await dovecot.list(user, 'INBOX'))[0]!.flags.length, 0);
  });

  it('IMAP_START=<day> reads, on a folder\'s first read, only the mail the server received since that day', async () => {
    const { user, prefix, dir } = await sharedMailbox('startday');
    await dovecot.append(user, 'INBOX', mail('metadata-attachment.eml'), [], new Date('2026-01-10T12:00:00Z'));
    await dovecot.append(user, 'INBOX', mail('metadata-body.eml'), [], new Date('2026-03-02T08:00:00Z'));
    const run = await start({ IMAP_START: '2026-03-01' }, { user, prefix, tmp: dir.path });
    await delivered(run.app, 'chat-201');
    await run.reader.settled();
    assert.equal(await run.app.status.get('call-987'), null, 'received before the day: left alone');
    assert.deepEqual(run.outcomes.map((o) => o.kind), ['metadata']);
    assert.throws(() => loadConfig({ REDIS_URL: TEST_REDIS_URL, IMAP_START: 'yesterday' }), /IMAP_START: must be all, new or a day/);
  });

  it('worker: /healthz and `status` report the mailbox watchdog', async () => {
    const user = `svc${++users}`;
    await dovecot.createFolder(user, 'INBOX');
    const prefix = uniquePrefix('imap');
    const dir = tempDir('ccai-imap');
    const port = await freePort();
    const env = { PATH: process.env.PATH ?? '', REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: dir.path, IMAP_URL: dovecot.url(user), IMAP_ALLOWED_SENDERS: ALLOWED, HTTP_PORT: String(port), LOG_LEVEL: 'warn' };
    const child = spawn(process.execPath, [CLI, 'worker'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    cleanups.push(async () => {
      await stopChild(child, 'SIGTERM');
      await dropPrefix(prefix);
      dir.cleanup();
    });
    await dovecot.append(user, 'INBOX', mail('metadata-attachment.eml'));
    const health = await waitFor('mailbox in /healthz', async () => {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
      const h = r && r.status === 200 ? ((await r.json()) as { mailbox: { ok: boolean; folders: Array<{ folder: string; connected: boolean; handled: number; idle: boolean }> } | null }) : null;
      return h?.mailbox?.folders[0]?.handled === 1 ? h : null;
    });
    assert.equal(health.mailbox!.ok, true);
    assert.deepEqual(health.mailbox!.folders.map((f) => [f.folder, f.connected, f.idle]), [['INBOX', true, true]]);

    const st = await runCli(['status', '--json'], env);
    assert.equal(st.code, 0, st.stderr);
    const report = JSON.parse(st.stdout) as { ok: boolean; mailbox: Array<{ mailbox: string; state: string; ok: boolean; handled: number }> };
    assert.equal(report.ok, true);
    assert.deepEqual(report.mailbox.map((m) => [m.mailbox, m.state, m.ok, m.handled]), [[`${dovecot.host}:${dovecot.port}/${user}/INBOX`, 'watching', true, 1]]);
    const text = await runCli(['status'], env);
    assert.match(text.stdout, /^mailbox 127\.0\.0\.1:\d+\/svc\d+\/INBOX: watching, last read \S+, last UID 1, 1 handled, 0 reconnect\(s\)$/m);

    assert.equal((await stopChild(child, 'SIGTERM')).code, 0, stderr);
    assert.doesNotMatch(stderr, /secret/, 'the mailbox password is never logged');
  });

  it('watchdog: a connection that goes silent is replaced, and mail that came meanwhile is read', async () => {
    const proxy = await startFreezingProxy(dovecot.host, dovecot.port);
    cleanups.push(() => proxy.close());
    const user = `silent${++users}`;
    await dovecot.createFolder(user, 'INBOX');
    const url = dovecot.url(user).replace(`:${dovecot.port}/`, `:${proxy.port}/`);
    const { reader, outcomes } = await start({ IMAP_URL: url, IMAP_POLL_MS: '1000', IMAP_WATCHDOG_MS: '2500' }, { user });
    await dovecot.append(user, 'INBOX', mail('metadata-attachment.eml'));
    await waitFor('first message', async () => outcomes.length === 1);
    assert.equal(reader.health()[0]!.reconnects, 0);

    proxy.freeze(); // the server "hangs": no bytes, no close
    await dovecot.append(user, 'INBOX', mail('metadata-body.eml'));
    await waitFor('second message after the watchdog reconnected', async () => outcomes.length === 2, 20_000);
    const h = reader.health()[0]!;
    assert.equal(h.reconnects, 1);
    assert.equal(h.connected, true);
    assert.equal(reader.healthy(), true);
  });

  it('without IDLE (IMAP_IDLE=false), the poll finds new mail', async () => {
    const { reader, user, outcomes } = await start({ IMAP_IDLE: 'false', IMAP_POLL_MS: '1000' });
    await waitFor('connected', async () => reader.health()[0]!.connected);
    assert.equal(reader.health()[0]!.idle, false);
    await dovecot.append(user, 'INBOX', mail('metadata-attachment.eml'));
    await waitFor('polled', async () => outcomes.length === 1);
    assert.equal(outcomes[0]!.kind, 'metadata');
  });
});

