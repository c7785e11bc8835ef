// What arrived in the mailbox and what it means. Pure: the IMAP source turns a message into an
// InboundMail (headers, text, attachments); this file decides whether it is a metadata e-mail,
// a bounce of an e-mail we sent (RFC 3464 or an older free-text one), a helpdesk reply or
// auto-reply to one, or something that is not ours.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isHostAllowed, parseAllowedHosts } from './ticket-hosts.ts';

export interface MailPart {
  contentType: string;
  filename: string | null;
  content: Uint8Array;
}

export interface InboundMail {
  messageId: string | null;
  /** the From address, lower-cased */
  from: string | null;
  subject: string;
  inReplyTo: string[];
  references: string[];
  /** lower-cased header name -> its (first) value, unfolded */
  headers: Record<string, string>;
  /** the top-level type, e.g. `multipart/report`, and its report-type parameter */
  contentType: string;
  reportType: string | null;
  /** the plain-text body (mailparser also puts a delivery-status part here) */
  text: string;
  /** attachments, including `message/rfc822` and `text/rfc822-headers` parts of bounces */
  parts: MailPart[];
}

/** A Message-ID we made: `<ccai.call-1418.1774297018000@contact.example.com>`. */
export interface OurMessageId {
  messageId: string;
  sessionKey: string;
  versionMs: number;
}

// session key, version (ms), resend generation (`.r1`), MAIL_ID_SECRET's tag, domain
const OUR_ID = /<ccai\.((?:call|chat)-[A-Za-z0-9_-]+)\.(\d{1,16})((?:\.r\d{1,4})?)((?:\.[0-9a-f]{16})?)@([A-Za-z0-9.-]+)>/g;
/** OUR_ID as the whole string */
const OUR_ID_EXACT = new RegExp(`^${OUR_ID.source}$`);

/**
 * The tag MAIL_ID_SECRET adds to our Message-IDs: an HMAC of the session version, so that
 * only who holds the secret can name an e-mail of ours (a forged bounce cannot). The same
 * for every generation of a version, so a resend's base id is still found by dropping `.rN`.
 */
export function messageIdTag(secret: string, sessionKey: string, versionMs: number): string {
  return createHmac('sha256', secret).update(`${sessionKey}.${versionMs}`).digest('hex').slice(0, 16);
}

/**
 * `<ccai.call-1418.1774297018000@example.com>`, the same for every attempt of one version;
 * `….r1@…` for a resend after it came back; `….<tag>@…` with MAIL_ID_SECRET.
 */
export function makeOurMessageId(sessionKey: string, versionMs: number, domain: string, generation = 0, secret: string | null = null): string {
  const tag = secret ? `.${messageIdTag(secret, sessionKey, versionMs)}` : '';
  return `<ccai.${sessionKey}.${versionMs}${generation > 0 ? `.r${generation}` : ''}${tag}@${domain}>`;
}

/** A Message-ID of our form, whatever its domain (its tag, if any, not checked), or null. */
export function parseOurMessageId(id: string): OurMessageId | null {
  const m = OUR_ID_EXACT.exec(id.trim());
  return m ? { messageId: m[0], sessionKey: m[1]!, versionMs: Number(m[2]) } : null;
}

/**
 * One of our Message-IDs without MAIL_ID_SECRET's tag: what the e-mail target's memory is keyed
 * by, so that setting or changing the secret does not make a sent version look unsent.
 */
export function untaggedMessageId(id: string): string {
  const m = OUR_ID_EXACT.exec(id);
  return m ? `<ccai.${m[1]}.${m[2]}${m[3]}@${m[5]}>` : id;
}

/** The version's first Message-ID, without a resend's generation (`….r1@…`). */
export function baseMessageId(id: string): string {
  return id.replace(/\.r\d{1,4}(?=(?:\.[0-9a-f]{16})?@)/, '');
}

/**
 * Every Message-ID of ours (made with MAIL_FROM's domain) in a text, in order, without
 * repeats. With `secret` (MAIL_ID_SECRET), only those whose tag proves we made them.
 */
export function findOurMessageIds(text: string, domain: string, secret: string | null = null): OurMessageId[] {
  const out: OurMessageId[] = [];
  const d = domain.toLowerCase();
  for (const m of text.matchAll(OUR_ID)) {
    if (m[5]!.toLowerCase() !== d) continue;
    if (secret && !tagMatches(m[4]!.slice(1), messageIdTag(secret, m[1]!, Number(m[2])))) continue;
    const messageId = `<ccai.${m[1]}.${m[2]}${m[3]}${m[4]}@${d}>`;
    if (!out.some((o) => o.messageId === messageId)) out.push({ messageId, sessionKey: m[1]!, versionMs: Number(m[2]) });
  }
  return out;
}

function tagMatches(given: string, expected: string): boolean {
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

// ---------------------------------------------------------------------------------------------
// Delivery status notifications (RFC 3464)

export interface DsnRecipient {
  recipient: string | null;
  /** failed, delayed, delivered, relayed, expanded */
  action: string;
  status: string | null;
  diagnostic: string | null;
}

/** The per-recipient blocks of a delivery-status report found in `text` (header-like fields, folded lines joined). */
export function parseDeliveryStatus(text: string): DsnRecipient[] {
  const out: DsnRecipient[] = [];
  for (const block of text.replace(/\r\n/g, '\n').split(/\n\s*\n/)) {
    const fields: Record<string, string> = {};
    let last: string | null = null;
    for (const line of block.split('\n')) {
      if (/^[ \t]/.test(line) && last) {
        fields[last] += ` ${line.trim()}`;
        continue;
      }
      const m = /^([A-Za-z][A-Za-z0-9-]*):\s*(.*)$/.exec(line);
      if (m) {
        last = m[1]!.toLowerCase();
        fields[last] = m[2]!.trim();
      } else {
        last = null;
      }
    }
    if (!fields.action || !(fields['final-recipient'] || fields['original-recipient'] || fields.status)) continue;
    out.push({
      recipient: stripType(fields['final-recipient'] ?? fields['original-recipient'] ?? null),
      action: fields.action.toLowerCase().split(/\s/)[0]!,
      status: fields.status ? fields.status.split(/\s/)[0]! : null,
      diagnostic: stripType(fields['diagnostic-code'] ?? null),
    });
  }
  return out;
}

/** `rfc822; a@b` -> `a@b`, `smtp; 550 ...` -> `550 ...` */
function stripType(v: string | null): string | null {
  if (v === null) return null;
  return v.replace(/^[A-Za-z0-9-]+;\s*/, '').trim() || null;
}

/**
 * The Message-IDs named by `Message-ID:` header lines in a text (the returned headers of a
 * bounce). Only those: the returned headers also carry In-Reply-To/References, which name
 * EARLIER e-mails of the ticket, often another session's.
 */
export function messageIdLines(text: string): string[] {
  return [...text.matchAll(/^Message-ID:[ \t]*(?:\r?\n[ \t]+)?(<[^<>\s]+>)/gim)].map((m) => m[1]!);
}

/**
 * The envelope id of a delivery report (`Original-Envelope-Id:`, RFC 3464), xtext decoded: we
 * send our Message-ID as the ENVID, so a report that returns no headers still names it.
 */
export function envelopeIds(text: string): string[] {
  return [...text.matchAll(/^Original-Envelope-Id:[ \t]*(\S+)/gim)].map((m) => m[1]!.replace(/\+([0-9A-F]{2})/g, (_x, h: string) => String.fromCharCode(parseInt(h, 16))));
}

/** Text from outside, made safe to show on one line in a terminal or a log: no control characters, bounded. */
export function printable(s: string, max = 1000): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/ {2,}/g, ' ').trim().slice(0, max);
}

const BOUNCE_SUBJECT =
  /undeliver|delivery status notification|delivery (has )?fail|mail delivery (failed|subsystem)|returned mail|returned to sender|could not be delivered|failure notice|non.?delivery/i;
const BOUNCE_SENDER = /^(mailer-daemon|postmaster|mail-daemon|mailer)@/i;

// ---------------------------------------------------------------------------------------------
// Replies and auto-replies from the helpdesk

/** True when the message says it was sent by a machine in answer to ours (RFC 3834 and the common non-standard headers). */
export function isAutoReply(mail: InboundMail): boolean {
  const h = mail.headers;
  const auto = h['auto-submitted'];
  if (auto && auto.toLowerCase() !== 'no') return true;
  if (h['x-autoreply'] || h['x-autorespond'] || h['x-autogenerated'] || h['x-auto-response']) return true;
  if (/^(auto_reply|bulk|junk|list)$/i.test(h.precedence ?? '')) return true;
  return /^(auto(matic)?[ -]?(reply|response|answer)|out of (the )?office|autosvar|abwesenheit)/i.test(mail.subject);
}

/** Phrases with which helpdesks acknowledge a NEW ticket ("Request received", "ticket #456 has been created"). */
const NEW_TICKET = [
  /\bnew (support )?(ticket|case|request|incident|issue)\b/i,
  /\b(ticket|case|request|incident|issue)\b[^.\n]{0,60}\b(has been|was|is)\s+(created|opened|logged|raised|received)\b/i,
  /\b(created|opened|logged|raised)\b[^.\n]{0,30}\b(a |an )?(ticket|case|request|incident|issue)\b/i,
  /^(re:\s*)?(request|ticket|case) (received|created|opened)\b/i,
];
/** ...unless the sentence is about a comment or reply added to a ticket ("your comment on incident INC1 was received"). */
const UPDATE_ACK = /\b(comment|reply|update|response|note|message|e-?mail)\b/i;

/** The subject or the author's own text announces a NEW ticket. */
export function announcesNewTicket(subject: string, top: string): boolean {
  for (const sentence of `${subject}\n${top}`.split(/[\n.!?]+/)) {
    const s = sentence.trim();
    if (!s || (UPDATE_ACK.test(s) && !NEW_TICKET[0]!.test(s))) continue;
    if (NEW_TICKET.some((re) => re.test(s))) return true;
  }
  return false;
}

/**
 * The ticket id a helpdesk's subject carries in the given token style, or null. Mirrors
 * placeToken: `[#123]`, `[prefix #123]`, `[ABC-123]`, `CRM:0001323`.
 */
export function ticketFromSubject(style: string, subject: string, prefix = 'helpdesk'): string | null {
  switch (style) {
    case 'subject-hash':
      return /\[#(\d+)\]/.exec(subject)?.[1] ?? null;
    case 'subject-tag': {
      const p = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      return new RegExp(`\\[${p}\\s*#(\\d+)\\]`, 'i').exec(subject)?.[1] ?? null;
    }
    case 'subject-key':
      return /\[([A-Z][A-Z0-9_]+-\d+)\]/.exec(subject)?.[1] ?? null;
    case 'tracking-token':
      return /\bCRM:(\d+)\b/i.exec(subject)?.[1] ?? null;
    default:
      return null;
  }
}

/** Same ticket, whatever the form: `CRM:0001323` and `0001323` are one Dynamics ticket. */
export function sameTicket(a: string, b: string): boolean {
  const n = (t: string) => t.trim().replace(/^CRM:/i, '');
  return n(a) === n(b);
}

/** The part of a reply its author wrote: up to the first quoted line or "On ... wrote:" / "Original Message" marker. */
export function unquoted(text: string): string {
  const lines = text.split(/\r?\n/);
  const end = lines.findIndex((l) => /^\s*>/.test(l) || /^On .{3,200} wrote:\s*$/.test(l) || /^-{2,}\s*(Original Message|Forwarded message)/i.test(l) || /^From: .+@/.test(l));
  return (end === -1 ? lines : lines.slice(0, end)).join('\n').slice(0, 4000);
}

/** Threading tokens a helpdesk puts in the body of its notifications: ServiceNow watermarks, Zendesk encoded ids. */
export function threadTokensIn(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/\bRef:MSG\d{4,}\b/g)) out.add(m[0]);
  for (const m of text.matchAll(/\[([0-9A-Z]{6}-[0-9A-Z]{4})\]/g)) out.add(`[${m[1]}]`);
  return [...out].slice(0, 5);
}

// ---------------------------------------------------------------------------------------------
// Metadata e-mails

/**
 * IMAP_ALLOWED_SENDERS: `ccai@ujet.example.com` (that address), `@example.com` or `example.com`
 * (that domain), `*.example.com` (its subdomains), `.example.com` (both). Empty: nobody.
 */
export function parseAllowedSenders(csv: string | undefined): { addresses: string[]; domains: string[] } {
  const addresses: string[] = [];
  const domainCsv: string[] = [];
  for (const raw of (csv ?? '').split(',')) {
    const s = raw.trim().toLowerCase();
    if (!s) continue;
    if (/^[^@\s]+@[^@\s]+$/.test(s)) addresses.push(s);
    else domainCsv.push(s.replace(/^@/, ''));
  }
  return { addresses, domains: parseAllowedHosts(domainCsv.join(',')) };
}

export function isSenderAllowed(address: string | null, rules: { addresses: string[]; domains: string[] }): boolean {
  // exactly one @: `ccai@ujet.example.com@evil.example` is nobody's address
  if (!address || !/^[^@\s]+@[^@\s]+$/.test(address)) return false;
  const a = address.toLowerCase();
  if (rules.addresses.includes(a)) return true;
  const domain = a.split('@')[1];
  return Boolean(domain) && rules.domains.length > 0 && isHostAllowed(domain!, rules.domains);
}

/** JSON documents in a message: JSON attachments (by type, name or content), else a JSON body. */
export function jsonDocuments(mail: InboundMail): Array<{ name: string; bytes: Uint8Array }> {
  const docs: Array<{ name: string; bytes: Uint8Array }> = [];
  mail.parts.forEach((p, i) => {
    const type = p.contentType.toLowerCase();
    if (type.startsWith('message/') || type === 'text/rfc822-headers') return;
    if (type === 'application/json' || type.endsWith('+json') || /\.json$/i.test(p.filename ?? '') || startsLikeJson(p.content)) {
      docs.push({ name: p.filename ?? `attachment-${i + 1}.json`, bytes: p.content });
    }
  });
  if (docs.length === 0) {
    const body = mail.text.trim();
    if (body.startsWith('{')) docs.push({ name: 'body.json', bytes: Buffer.from(body, 'utf8') });
  }
  return docs;
}

function startsLikeJson(b: Uint8Array): boolean {
  for (let i = 0; i < Math.min(b.length, 64); i++) {
    const c = b[i]!;
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xef || c === 0xbb || c === 0xbf) continue;
    return c === 0x7b; // {
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// The verdict

export type MailVerdict =
  | { kind: 'metadata'; documents: Array<{ name: string; bytes: Uint8Array }> }
  | { kind: 'bounce'; original: OurMessageId; reason: string; final: boolean }
  | {
      kind: 'reply';
      /** the e-mail of ours it answers (In-Reply-To/References), when it names one */
      original: OurMessageId | null;
      auto: boolean;
      /** the ticket id the helpdesk's subject carries in our token style */
      subjectTicket: string | null;
      /** the text says a new ticket/case/request was created */
      announcesNew: boolean;
      tokens: string[];
    }
  /** not ours; `keep` when it looked like metadata (JSON) from a sender not allowed: kept with its reason */
  | { kind: 'other'; reason: string; keep: boolean };

export interface ClassifyOptions {
  /** MAIL_FROM's domain: the domain of our Message-IDs (null when we send nothing) */
  ourDomain: string | null;
  /** MAIL_ID_SECRET: when set, only Message-IDs carrying its tag are ours */
  idSecret?: string | null;
  allowedSenders: { addresses: string[]; domains: string[] };
  /** who may speak for the helpdesk (replies, notifications): MAIL_TO's domain unless IMAP_HELPDESK_SENDERS says */
  helpdeskSenders: { addresses: string[]; domains: string[] };
  tokenStyle: string;
  tokenPrefix: string;
}

export function classifyMail(mail: InboundMail, o: ClassifyOptions): MailVerdict {
  const partsText = mail.parts
    .filter((p) => /^(message\/|text\/rfc822-headers)/i.test(p.contentType))
    .map((p) => Buffer.from(p.content).toString('utf8'))
    .join('\n');
  const ours = (text: string) => (o.ourDomain ? findOurMessageIds(text, o.ourDomain, o.idSecret ?? null) : []);

  // 0. A copy of one of our own e-mails (a Bcc, an auto-forward): nothing to learn from it.
  if (mail.messageId && ours(mail.messageId).length) return { kind: 'other', reason: 'a copy of an e-mail ccai-crm-sync sent', keep: false };

  // 1. A delivery report, or a free-text bounce, of an e-mail we sent: named by the Message-ID
  //    line of the returned headers (or the report's envelope id, or its own In-Reply-To).
  const isReport = mail.contentType.toLowerCase() === 'multipart/report' && (mail.reportType ?? '').toLowerCase() === 'delivery-status';
  const looksBounced = isReport || (BOUNCE_SENDER.test(mail.from ?? '') && BOUNCE_SUBJECT.test(mail.subject)) || (mail.from === null && BOUNCE_SUBJECT.test(mail.subject));
  if (looksBounced) {
    const named = [...messageIdLines(partsText), ...messageIdLines(mail.text), ...envelopeIds([mail.text, partsText].join('\n')), ...mail.inReplyTo];
    const original = ours(named.join(' '))[0];
    if (!original) return { kind: 'other', reason: 'a delivery report for an e-mail that ccai-crm-sync did not send', keep: false };
    const dsn = parseDeliveryStatus([mail.text, partsText].join('\n\n'));
    const failed = dsn.filter((r) => r.action === 'failed');
    if (dsn.length > 0 && failed.length === 0) {
      const r = dsn[0]!;
      return { kind: 'bounce', original, final: false, reason: printable(`delivery ${r.action}${r.status ? ` (${r.status})` : ''}${r.diagnostic ? `: ${r.diagnostic}` : ''}`) };
    }
    const reason = failed.length
      ? failed.map((r) => `${r.recipient ?? 'recipient'}: ${r.status ?? ''}${r.diagnostic ? ` ${r.diagnostic}` : ''}`.trim()).join('; ')
      : firstLines(mail.text);
    return { kind: 'bounce', original, final: true, reason: printable(`${mail.subject.trim() || 'bounced'}: ${reason}`) };
  }

  // 2. A reply (human or automatic) from the helpdesk to an e-mail we sent, or its notification
  //    in our token style. Only the helpdesk may steer threading.
  const fromHelpdesk = isSenderAllowed(mail.from, o.helpdeskSenders);
  const original = ours([mail.inReplyTo.join(' '), mail.references.join(' ')].join(' '))[0] ?? null;
  const subjectTicket = ticketFromSubject(o.tokenStyle, mail.subject, o.tokenPrefix);
  if (fromHelpdesk && (original || subjectTicket)) {
    const top = unquoted(mail.text);
    return {
      kind: 'reply',
      original,
      auto: isAutoReply(mail),
      subjectTicket,
      announcesNew: announcesNewTicket(mail.subject, top),
      tokens: threadTokensIn(top),
    };
  }

  // 3. Metadata from an allowed sender.
  const allowed = isSenderAllowed(mail.from, o.allowedSenders);
  const documents = jsonDocuments(mail);
  if (!allowed) {
    return documents.length
      ? { kind: 'other', reason: `the sender ${printable(mail.from ?? '(none)', 200)} is not in IMAP_ALLOWED_SENDERS`, keep: true }
      : { kind: 'other', reason: original ? 'a reply to one of our e-mails from a sender that is not the helpdesk (IMAP_HELPDESK_SENDERS)' : 'not a metadata e-mail, a bounce or a reply to one of ours', keep: false };
  }
  if (documents.length === 0) return { kind: 'other', reason: 'from an allowed sender, but holds no JSON document (attachment or body)', keep: true };
  return { kind: 'metadata', documents };
}

function firstLines(text: string): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !/^this is (the|an automatically generated)/i.test(l))
    .slice(0, 4)
    .join(' ')
    .slice(0, 400);
}
