// What a message in the mailbox means: the real .eml fixtures through mailparser and the pure classifier.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { announcesNewTicket, classifyMail, printable, sameTicket, isSenderAllowed, parseAllowedSenders, parseDeliveryStatus, threadTokensIn, ticketFromSubject } from '../../src/domain/mail/classify.ts';
import { baseMessageId, findOurMessageIds, makeOurMessageId, messageIdTag, parseOurMessageId } from '../../src/domain/mail/message-id.ts';
import type { ClassifyOptions, InboundMail, MailVerdict } from '../../src/domain/mail/classify.ts';
import { parseImapUrl } from '../../src/sources/imap/imap-url.ts';
import { parseMail } from '../../src/sources/imap/parse-mail.ts';
import { FIXTURES } from '../helpers/env.ts';

const eml = (name: string) => parseMail(readFileSync(join(FIXTURES, 'mail', name)));
const OPTS: ClassifyOptions = {
  ourDomain: 'contact.example.com',
  allowedSenders: parseAllowedSenders('ccai-export@ujet.example.com'),
  helpdeskSenders: parseAllowedSenders('@helpdesk.example.com'),
  tokenStyle: 'subject-hash',
  tokenPrefix: 'helpdesk',
};
const classify = async (name: string, o: Partial<ClassifyOptions> = {}): Promise<MailVerdict> => classifyMail(await eml(name), { ...OPTS, ...o });

describe('classifying mailbox messages', () => {
  it('reads an RFC 3464 bounce: our Message-ID from the returned headers, the reason from the report', async () => {
    const v = await classify('bounce-dsn.eml');
    assert.equal(v.kind, 'bounce');
    if (v.kind !== 'bounce') return;
    assert.equal(v.final, true);
    assert.deepEqual(v.original, { messageId: '<ccai.call-1418.1774297018000@contact.example.com>', sessionKey: 'call-1418', versionMs: 1774297018000 });
    assert.match(v.reason, /^Undelivered Mail Returned to Sender: support@helpdesk\.example\.com: 5\.1\.1 550 5\.1\.1 .*User unknown in virtual mailbox table$/);
  });

  it('reads a free-text (qmail) bounce by its sender and subject, with the first lines as the reason', async () => {
    const v = await classify('bounce-plain.eml');
    assert.equal(v.kind, 'bounce');
    if (v.kind !== 'bounce') return;
    assert.equal(v.original.sessionKey, 'call-1418');
    assert.match(v.reason, /^failure notice: .*permanent error/);
  });

  it('takes the bounced e-mail from the Message-ID line, not from the In-Reply-To of the returned headers', async () => {
    const v = await classify('bounce-dsn.eml');
    assert.equal(v.kind === 'bounce' && v.original.sessionKey, 'call-1418', 'not call-1417, the earlier e-mail it replied to');
  });

  it('a bounce of mail from another domain is not ours', async () => {
    const v = await classify('bounce-dsn.eml', { ourDomain: 'other.example.com' });
    assert.deepEqual(v, { kind: 'other', reason: 'a delivery report for an e-mail that ccai-crm-sync did not send', keep: false });
  });

  it('a delayed-delivery report is not a failure', () => {
    const mail: InboundMail = {
      messageId: '<d@x>',
      from: 'mailer-daemon@x.example',
      subject: 'Delivery Status Notification (Delay)',
      inReplyTo: [],
      references: [],
      headers: {},
      contentType: 'multipart/report',
      reportType: 'delivery-status',
      text: 'Final-Recipient: rfc822; a@b.example\nAction: delayed\nStatus: 4.4.7\n\nMessage-ID: <ccai.chat-9.5@contact.example.com>',
      parts: [],
    };
    const v = classifyMail(mail, OPTS);
    assert.equal(v.kind, 'bounce');
    assert.equal(v.kind === 'bounce' && v.final, false);
  });

  it('an auto-reply to our e-mail that carries another ticket number announces a NEW ticket', async () => {
    const v = await classify('autoreply-new-ticket.eml');
    assert.equal(v.kind, 'reply');
    if (v.kind !== 'reply') return;
    assert.equal(v.auto, true);
    assert.equal(v.subjectTicket, '4711');
    assert.equal(v.announcesNew, true);
    assert.equal(v.original?.sessionKey, 'call-1505');
  });

  it('a helpdesk notification on our ticket is a reply with its ticket and threading tokens', async () => {
    const v = await classify('helpdesk-notification.eml');
    assert.equal(v.kind, 'reply');
    if (v.kind !== 'reply') return;
    assert.equal(v.subjectTicket, '12345');
    assert.equal(v.announcesNew, false);
    assert.deepEqual(v.tokens, ['Ref:MSG0012345']);
  });

  it('lets only the helpdesk steer threading; a copy of our own e-mail teaches nothing', async () => {
    const forged = await eml('helpdesk-notification.eml');
    const v = classifyMail({ ...forged, from: 'support@evil.example' }, OPTS);
    assert.deepEqual(v, { kind: 'other', reason: 'a reply to one of our e-mails from a sender that is not the helpdesk (IMAP_HELPDESK_SENDERS)', keep: false });
    const copy = classifyMail({ ...forged, messageId: '<ccai.call-1505.1769217600000@contact.example.com>' }, OPTS);
    assert.equal(copy.kind, 'other');
  });

  it('an acknowledged update, or a quoted "new ticket" in our own text, is not a new ticket', async () => {
    assert.equal(announcesNewTicket('Re: Call 1505', 'Your comment on incident INC0012345 was received.'), false);
    assert.equal(announcesNewTicket('Request received: Call 1505', ''), true);
    assert.equal(announcesNewTicket('Re: Call 1505', 'Incident INC0012346 has been opened on your behalf.'), true);
    const reply = await eml('helpdesk-notification.eml');
    const quoted = classifyMail({ ...reply, text: 'Thanks, noted.\n\nOn Sat, 24 Jan 2026 CCAI Sync wrote:\n> Disposition: New billing issue opened a new case\n' }, OPTS);
    assert.equal(quoted.kind === 'reply' && quoted.announcesNew, false);
    assert.equal(ticketFromSubject('subject-hash', 'Re: Call 1418 · virtual agent #15'), null, 'a bare #15 in agent text is no ticket token');
  });

  it('takes metadata from an allowed sender: a JSON attachment, or a JSON body', async () => {
    const a = await classify('metadata-attachment.eml');
    assert.equal(a.kind, 'metadata');
    if (a.kind === 'metadata') {
      assert.deepEqual(a.documents.map((d) => d.name), ['metadata_call-987.json']);
      assert.equal(JSON.parse(Buffer.from(a.documents[0]!.bytes).toString()).id, 987);
    }
    const b = await classify('metadata-body.eml');
    assert.equal(b.kind, 'metadata');
    if (b.kind === 'metadata') assert.equal(JSON.parse(Buffer.from(b.documents[0]!.bytes).toString()).id, 201);
  });

  it('keeps, and does not take, metadata from a sender not allowed', async () => {
    const v = await classify('metadata-attachment.eml', { allowedSenders: parseAllowedSenders('@contact.example.com') });
    assert.deepEqual(v, { kind: 'other', reason: 'the sender ccai-export@ujet.example.com is not in IMAP_ALLOWED_SENDERS', keep: true });
    const none = await classify('metadata-attachment.eml', { allowedSenders: parseAllowedSenders('') });
    assert.equal(none.kind, 'other', 'an empty list allows nobody');
  });
});

describe('mail helpers', () => {
  it('parses delivery-status blocks with folded lines', () => {
    const r = parseDeliveryStatus('Reporting-MTA: dns; a\n\nFinal-Recipient: rfc822; x@y.example\nAction: failed\nStatus: 5.7.1\nDiagnostic-Code: smtp; 550 5.7.1\n  blocked by policy\n');
    assert.deepEqual(r, [{ recipient: 'x@y.example', action: 'failed', status: '5.7.1', diagnostic: '550 5.7.1 blocked by policy' }]);
  });

  it('reads the session back from one of our Message-IDs', () => {
    assert.deepEqual(parseOurMessageId('<ccai.chat-135.1757451083000@x.example>'), { messageId: '<ccai.chat-135.1757451083000@x.example>', sessionKey: 'chat-135', versionMs: 1757451083000 });
    assert.equal(parseOurMessageId('<notify-12345-2@helpdesk.example.com>'), null);
  });

  it('finds only our Message-IDs, once each', () => {
    const t = '<ccai.call-1.10@contact.example.com> <ccai.call-2.20@evil.example> <ccai.call-1.10@CONTACT.example.com> <x@contact.example.com>';
    assert.deepEqual(findOurMessageIds(t, 'contact.example.com').map((o) => o.messageId), ['<ccai.call-1.10@contact.example.com>']);
  });

  it('MAIL_ID_SECRET: our Message-IDs carry a tag only the secret makes; a bounce naming an id without the right tag is not ours', async () => {
    const secret = 'a-secret-of-at-least-16-characters';
    const plain = '<ccai.call-1418.1774297018000@contact.example.com>';
    const tagged = makeOurMessageId('call-1418', 1774297018000, 'contact.example.com', 0, secret);
    assert.match(tagged, /^<ccai\.call-1418\.1774297018000\.[0-9a-f]{16}@contact\.example\.com>$/);
    assert.notEqual(messageIdTag(secret, 'call-1418', 1774297018000), messageIdTag(`${secret}!`, 'call-1418', 1774297018000));
    // a resend's base id is the first one, tag and all; the session is read back from either
    const resent = makeOurMessageId('call-1418', 1774297018000, 'contact.example.com', 2, secret);
    assert.equal(baseMessageId(resent), tagged);
    assert.equal(parseOurMessageId(resent)?.sessionKey, 'call-1418');
    const raw = readFileSync(join(FIXTURES, 'mail', 'bounce-dsn.eml'), 'utf8');
    const bounceOf = async (id: string) => classifyMail(await parseMail(Buffer.from(raw.replace(plain, id))), { ...OPTS, idSecret: secret });
    const real = await bounceOf(tagged);
    assert.equal(real.kind, 'bounce');
    assert.equal(real.kind === 'bounce' && real.original.messageId, tagged);
    const forged = tagged.replace(/\.([0-9a-f]{16})@/, (_m, t: string) => `.${t.slice(0, 15)}${t[15] === '0' ? '1' : '0'}@`);
    for (const id of [plain, forged]) assert.notEqual((await bounceOf(id)).kind, 'bounce', id);
    // without the secret, the untagged form is still ours (as before the setting existed)
    assert.equal((await classify('bounce-dsn.eml')).kind, 'bounce');
    assert.deepEqual(findOurMessageIds(`${plain} ${tagged}`, 'contact.example.com', secret).map((o) => o.messageId), [tagged]);
  });

  it('a delivery report that returns no headers is matched by its envelope id (our Message-ID, sent as ENVID)', async () => {
    const raw = readFileSync(join(FIXTURES, 'mail', 'bounce-dsn.eml'), 'utf8');
    const id = '<ccai.call-1418.1774297018000@contact.example.com>';
    const noHeaders = raw.replace(`Message-ID: ${id}\n`, '');
    assert.equal(classifyMail(await parseMail(Buffer.from(noHeaders)), OPTS).kind, 'other', 'nothing names it');
    // as a server writes it: xtext, where "+" and "=" would be encoded
    const withEnvid = noHeaders.replace('Reporting-MTA: dns; mx.contact.example.com\n', `Reporting-MTA: dns; mx.contact.example.com\nOriginal-Envelope-Id: ${id.replace('@', '+40')}\n`);
    const v = classifyMail(await parseMail(Buffer.from(withEnvid)), OPTS);
    assert.equal(v.kind, 'bounce');
    assert.equal(v.kind === 'bounce' && v.original.messageId, id);
    assert.equal(v.kind === 'bounce' && v.final, true);
  });

  it('reads the ticket back from a subject in each token style', () => {
    assert.equal(ticketFromSubject('subject-hash', 'Re: [#123] Call 1'), '123');
    assert.equal(ticketFromSubject('subject-tag', '[Support #77] Call 1', 'support'), '77');
    assert.equal(ticketFromSubject('subject-key', 'RE: [HELP-42] Call 1'), 'HELP-42');
    assert.equal(ticketFromSubject('tracking-token', 'Call 1 CRM:0001323'), '0001323');
    assert.equal(ticketFromSubject('body-token', '[#123] Call 1'), null);
    assert.equal(ticketFromSubject('subject-hash', 'Call 1'), null);
  });

  it('finds ServiceNow watermarks and Zendesk encoded ids in a body', () => {
    assert.deepEqual(threadTokensIn('hi\nRef:MSG0012345\n[1G7EOR-0Q2J] and Ref:MSG0012345'), ['Ref:MSG0012345', '[1G7EOR-0Q2J]']);
  });

  it('treats CRM:0001323 and 0001323 as one Dynamics ticket', () => {
    assert.equal(sameTicket('CRM:0001323', ticketFromSubject('tracking-token', 'Re: Call 1 CRM:0001323')!), true);
    assert.equal(sameTicket('0001323', '0001324'), false);
  });

  it('makes outside text printable on one line', () => {
    assert.equal(printable('550 5.1.1\r\n\u001b[31mred\u001b[0m  user\tunknown'), '550 5.1.1 [31mred [0m user unknown');
  });

  it('matches allowed senders by address, domain and subdomains', () => {
    const rules = parseAllowedSenders('ccai@ujet.example.com, @partner.example, *.ccai.example');
    assert.equal(isSenderAllowed('CCAI@ujet.example.com', rules), true);
    assert.equal(isSenderAllowed('other@ujet.example.com', rules), false);
    assert.equal(isSenderAllowed('a@partner.example', rules), true);
    assert.equal(isSenderAllowed('a@sub.partner.example', rules), false);
    assert.equal(isSenderAllowed('a@eu.ccai.example', rules), true);
    assert.equal(isSenderAllowed(null, rules), false);
    assert.equal(isSenderAllowed('ccai@ujet.example.com@evil.example', rules), false, 'two @ is nobody');
  });

  it('parses IMAP_URL with folders, and says what is wrong without echoing the password', () => {
    assert.deepEqual(parseImapUrl('imaps://ccai%40contact.example.com:p%40ss@mail.example.com/INBOX,Support%20Mail/CCAI'), {
      host: 'mail.example.com',
      port: 993,
      secure: true,
      user: 'ccai@contact.example.com',
      pass: 'p@ss',
      folders: ['INBOX', 'Support Mail/CCAI'],
      account: 'mail.example.com:993/ccai@contact.example.com',
    });
    assert.deepEqual((parseImapUrl('imap://u:p@h') as { folders: string[]; port: number }).folders, ['INBOX']);
    assert.equal(parseImapUrl('imap://h/INBOX'), 'needs the mailbox user and password (imaps://user:password@host/INBOX)');
    assert.equal(parseImapUrl('pop3://u:p@h'), 'must start with imap:// or imaps://');
  });
});
