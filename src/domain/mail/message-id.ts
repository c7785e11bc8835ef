// Our Message-IDs: made from the session version (`<ccai.call-1418.1774297018000@domain>`),
// with a resend generation (`.r1`) and, with MAIL_ID_SECRET, an HMAC tag; found again in the
// headers and text of what comes back. Pure.
import { createHmac, timingSafeEqual } from 'node:crypto';

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
