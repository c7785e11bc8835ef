// The mail test servers work with the real clients the e-mail target uses: nodemailer against
// the smtp-server sink, imapflow against a private rootless Dovecot.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { startDovecot } from '../helpers/dovecot.ts';
import type { Dovecot } from '../helpers/dovecot.ts';
import { startSmtpSink } from '../helpers/smtp-sink.ts';

function rawMessage(subject: string, messageId: string): string {
  return [
    'From: Customer <customer@example.com>',
    'To: Support <support@example.com>',
    `Subject: ${subject}`,
    `Message-ID: ${messageId}`,
    'Date: Mon, 03 Mar 2025 10:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Body of ${subject}`,
    '',
  ].join('\r\n');
}

/** Resolves with the listener's first argument, or rejects after `ms`. */
function nextEvent<T>(emitter: { once(event: string, fn: (arg: T) => void): unknown }, event: string, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' event within ${ms} ms`)), ms);
    emitter.once(event, (arg: T) => {
      clearTimeout(timer);
      resolve(arg);
    });
  });
}

describe('SMTP sink with nodemailer', () => {
  it('records pooled messages with threading headers and an attachment intact', async () => {
    const sink = await startSmtpSink({ auth: { user: 'crm', pass: 'p@ss word' } });
    const transport = nodemailer.createTransport({ ...nodemailer.createTransport(sink.url).options, pool: true, maxConnections: 1 } as never);
    try {
      assert.match(sink.url, /^smtp:\/\/crm:p%40ss%20word@127\.0\.0\.1:\d+$/);
      const send = (n: number) =>
        transport.sendMail({
          from: 'CCAI <ccai@example.com>',
          to: ['Support <support@example.com>', 'audit@example.com'],
          subject: `Call summary ${n}`,
          text: `Summary ${n}`,
          messageId: `<summary-${n}@ccai.example.com>`,
          inReplyTo: '<case-123@support.example.com>',
          references: ['<case-100@support.example.com>', '<case-123@support.example.com>'],
          headers: { 'X-Ccai-Session': `sess-${n}` },
          attachments: [{ filename: 'transcript.json', content: JSON.stringify({ n }), contentType: 'application/json' }],
        });
      const [a, b] = await Promise.all([send(1), send(2)]);
      assert.equal(a.messageId, '<summary-1@ccai.example.com>');
      assert.equal(b.messageId, '<summary-2@ccai.example.com>');
      await sink.waitFor(2);

      assert.equal(sink.messages.length, 2);
      const byId = new Map(sink.messages.map((m) => [m.parsed.messageId, m]));
      for (const n of [1, 2]) {
        const m = byId.get(`<summary-${n}@ccai.example.com>`);
        assert.ok(m, `message ${n} recorded`);
        assert.equal(m.from, 'ccai@example.com');
        assert.deepEqual(m.to, ['support@example.com', 'audit@example.com']);
        assert.equal(m.parsed.subject, `Call summary ${n}`);
        assert.equal(m.parsed.inReplyTo, '<case-123@support.example.com>');
        assert.deepEqual(m.parsed.references, ['<case-100@support.example.com>', '<case-123@support.example.com>']);
        assert.equal(m.parsed.headers.get('x-ccai-session'), `sess-${n}`);
        assert.match(m.raw.toString('utf8'), /^In-Reply-To: <case-123@support\.example\.com>\r$/m);
        assert.match(m.raw.toString('utf8'), /^References: <case-100@support\.example\.com>\s+<case-123@support\.example\.com>\r$/m);
        assert.equal(m.parsed.text?.trim(), `Summary ${n}`);
        assert.equal(m.parsed.attachments.length, 1);
        assert.equal(m.parsed.attachments[0]!.filename, 'transcript.json');
        assert.equal(m.parsed.attachments[0]!.contentType, 'application/json');
        assert.deepEqual(JSON.parse(m.parsed.attachments[0]!.content.toString('utf8')), { n });
      }
    } finally {
      transport.close();
      await sink.stop();
    }
  });

  it('refuses an over-size message with 552 and keeps nothing', async () => {
    const sink = await startSmtpSink({ maxSize: 4_000 });
    const transport = nodemailer.createTransport(sink.url);
    try {
      await assert.rejects(
        transport.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'big', text: 'x'.repeat(20_000) }),
        (err: Error & { responseCode?: number }) => err.responseCode === 552 && /maximum message size/.test(err.message),
      );
      const small = await transport.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'small', text: 'ok' });
      assert.match(small.response, /^250 /);
      await sink.waitFor(1);
      assert.deepEqual(
        sink.messages.map((m) => m.parsed.subject),
        ['small'],
      );
    } finally {
      transport.close();
      await sink.stop();
    }
  });

  it('refuses bad credentials, missing AUTH and rejected recipients', async () => {
    const sink = await startSmtpSink({ auth: { user: 'crm', pass: 'right' }, rejectRcpt: (addr) => (addr.endsWith('@blocked.example') ? 'mailbox unavailable' : null) });
    const port = sink.port;
    const wrong = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, auth: { user: 'crm', pass: 'wrong' } });
    const anonymous = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false });
    const right = nodemailer.createTransport(sink.url);
    const mail = { from: 'a@example.com', to: 'b@example.com', subject: 's', text: 't' };
    try {
      await assert.rejects(wrong.sendMail(mail), (err: Error & { responseCode?: number }) => err.responseCode === 535);
      await assert.rejects(anonymous.sendMail(mail), (err: Error & { responseCode?: number }) => err.responseCode === 530);
      await assert.rejects(right.sendMail({ ...mail, to: 'x@blocked.example' }), (err: Error & { responseCode?: number }) => err.responseCode === 550 && /mailbox unavailable/.test(err.message));
      const partial = await right.sendMail({ ...mail, to: ['x@blocked.example', 'ok@example.com'] });
      assert.deepEqual(partial.rejected, ['x@blocked.example']);
      await sink.waitFor(1);
      assert.deepEqual(sink.messages[0]!.to, ['ok@example.com']);
      await assert.rejects(sink.waitFor(2, 100), /expected 2 message\(s\) within 100 ms, got 1/);
    } finally {
      for (const t of [wrong, anonymous, right]) t.close();
      await sink.stop();
    }
  });
});

describe('Dovecot with imapflow', () => {
  let dovecot: Dovecot;
  const clients: ImapFlow[] = [];

  const connect = async (user: string): Promise<ImapFlow> => {
    const c = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user, pass: dovecot.password }, logger: false });
    c.on('error', () => {});
    clients.push(c);
    await c.connect();
    return c;
  };

  before(async () => {
    dovecot = await startDovecot({ users: ['agent'] });
  });

  after(async () => {
    for (const c of clients) c.close();
    await dovecot?.stop();
  });

  it('logs any user in with the static password and builds imap:// URLs', async () => {
    assert.equal(dovecot.host, '127.0.0.1');
    assert.equal(dovecot.password, 'secret');
    assert.equal(dovecot.url('agent'), `imap://agent:secret@127.0.0.1:${dovecot.port}/INBOX`);
    assert.equal(dovecot.url('a b', 'Done/2025'), `imap://a%20b:secret@127.0.0.1:${dovecot.port}/Done/2025`);
    assert.deepEqual(await dovecot.list('agent', 'INBOX'), []);
    const bad = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: 'agent', pass: 'nope' }, logger: false });
    bad.on('error', () => {});
    await assert.rejects(bad.connect());
  });

  it('appends, fetches by UID, reads UIDVALIDITY, sets \\Seen and moves to a created folder', async () => {
    const user = 'flow';
    await dovecot.append(user, 'INBOX', rawMessage('first', '<m1@example.com>'));
    await dovecot.append(user, 'INBOX', Buffer.from(rawMessage('second', '<m2@example.com>')), ['\\Flagged']);
    await dovecot.createFolder(user, 'Processed');
    await dovecot.createFolder(user, 'Processed'); // idempotent

    const c = await connect(user);
    const lock = await c.getMailboxLock('INBOX');
    try {
      const box = c.mailbox;
      assert.ok(box);
      assert.equal(typeof box.uidValidity, 'bigint');
      assert.ok(box.uidValidity > 0n);
      assert.equal(box.exists, 2);

      // Collect inside the fetch loop, act after it (issuing commands inside the loop hangs).
      const seen: Array<{ uid: number; messageId: string | undefined; flags: string[] }> = [];
      for await (const m of c.fetch('1:*', { uid: true, envelope: true, flags: true })) {
        seen.push({ uid: m.uid, messageId: m.envelope?.messageId, flags: [...(m.flags ?? [])].filter((f) => f !== '\\Recent') });
      }
      assert.deepEqual(
        seen.map((s) => s.messageId),
        ['<m1@example.com>', '<m2@example.com>'],
      );
      assert.deepEqual(seen[1]!.flags, ['\\Flagged']);
      const uid = seen[0]!.uid;

      const one = await c.fetchOne(String(uid), { uid: true, source: true, envelope: true }, { uid: true });
      assert.ok(one);
      assert.equal(one.uid, uid);
      assert.equal(one.envelope?.subject, 'first');
      assert.match(one.source!.toString('utf8'), /Body of first/);

      assert.equal(await c.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true }), true);
      const afterFlag = await dovecot.list(user, 'INBOX');
      assert.deepEqual(afterFlag.find((m) => m.uid === uid)?.flags, ['\\Seen']);

      const moved = await c.messageMove(String(uid), 'Processed', { uid: true });
      assert.ok(moved);
      assert.equal(moved.destination, 'Processed');
      assert.equal(moved.uidMap?.size, 1);
    } finally {
      lock.release();
    }
    await c.logout();

    const inbox = await dovecot.list(user, 'INBOX');
    assert.deepEqual(
      inbox.map((m) => [m.subject, m.messageId, m.flags]),
      [['second', '<m2@example.com>', ['\\Flagged']]],
    );
    const processed = await dovecot.list(user, 'Processed');
    assert.deepEqual(
      processed.map((m) => [m.subject, m.messageId, m.flags]),
      [['first', '<m1@example.com>', ['\\Seen']]],
    );

    // UIDVALIDITY stays put across sessions.
    const c2 = await connect(user);
    const again = await c2.mailboxOpen('INBOX', { readOnly: true });
    assert.ok(again.uidValidity > 0n);
    assert.ok(again.uidNext > inbox[0]!.uid);
    await c2.logout();
  });

  it('IDLE notices a message appended by another connection', async () => {
    const user = 'idler';
    await dovecot.append(user, 'INBOX', rawMessage('before', '<before@example.com>'));
    const c = await connect(user);
    await c.mailboxOpen('INBOX');
    assert.equal(c.mailbox && c.mailbox.exists, 1);
    const exists = nextEvent<{ path: string; count: number; prevCount: number }>(c, 'exists', 10_000);
    const idling = c.idle();
    await dovecot.append(user, 'INBOX', rawMessage('during idle', '<idle@example.com>'));
    const ev = await exists;
    assert.equal(ev.path, 'INBOX');
    assert.equal(ev.count, 2);
    assert.equal(ev.prevCount, 1);
    // Any command ends IDLE; the message is there.
    const last = await c.fetchOne('*', { uid: true, envelope: true });
    assert.ok(last);
    assert.equal(last.envelope?.messageId, '<idle@example.com>');
    assert.notEqual(await idling, false);
    await c.logout();
  });

  it('dropConnections() closes live clients, and a new client logs in again', async () => {
    const user = 'dropped';
    const c = await connect(user);
    await c.mailboxOpen('INBOX');
    const closed = nextEvent<void>(c, 'close', 10_000);
    await dovecot.dropConnections();
    await closed;
    assert.equal(c.usable, false);
    await assert.rejects(c.mailboxOpen('INBOX'));

    const fresh = await connect(user);
    const box = await fresh.mailboxOpen('INBOX');
    assert.equal(box.exists, 0);
    await fresh.logout();
    await dovecot.dropConnections(); // nobody connected: still fine
  });
});

describe('startDovecot lifecycle', () => {
  it('runs instances side by side and frees the port on stop', async () => {
    const [a, b] = await Promise.all([startDovecot(), startDovecot()]);
    try {
      assert.notEqual(a.port, b.port);
      await a.append('u', 'INBOX', rawMessage('only in a', '<a@example.com>'));
      assert.equal((await a.list('u', 'INBOX')).length, 1);
      assert.equal((await b.list('u', 'INBOX')).length, 0);
    } finally {
      await b.stop();
    }
    await a.stop();
    await a.stop(); // twice is fine
    const late = new ImapFlow({ host: a.host, port: a.port, secure: false, auth: { user: 'u', pass: 'secret' }, logger: false });
    late.on('error', () => {});
    await assert.rejects(late.connect());
  });
});
