// Matching a session to the CRM record it belongs to, from `out_ticket_id`, `out_ticket_url` and
// `is_out_ticket_account` (docs/session-metadata.md, "Ticket link": either may be null). Pure:
// the URL is parsed with `new URL()` and never fetched.
//
// Rules, in order:
//   1. Nothing usable (no id, and no URL or a URL that is not a CRM record link) -> no-ticket.
//      A chat has been seen with no id and a CCAI media download URL: that is not a record.
//   2. A URL recognised as a CRM record link must be on an allowed host (CRM_ALLOWED_HOSTS; an
//      empty list allows any host), even when the id alone would do -> TICKET_HOST_NOT_ALLOWED.
//   3. Its id must be valid for that CRM (a Salesforce checksum) -> TICKET_INVALID_ID.
//   4. With both an id and a record link, they must name the same record, compared normalised
//      (Salesforce by the 18-character form, GUIDs and sys_ids case-insensitively, ticket
//      numbers as numbers) -> TICKET_MISMATCH.
//   5. An id alone is read by its shape (Salesforce, ServiceNow, Dynamics 365); an id no CRM
//      recognises is kept as given (`generic`), unless it only looks like one of those shapes
//      through look-alike characters (a Cyrillic `а` for `a`, full-width digits, an invisible
//      format character) -> TICKET_INVALID_ID, rather than a look-alike ticket. A URL that is
//      not a record link is ignored, with a warning.
// A user name and password in out_ticket_url (`https://user:secret@crm/...`) are removed before
// anything else, with a warning: they are never stored, shown or sent.
import { dynamics365 } from './dynamics.ts';
import { freshdesk } from './freshdesk.ts';
import { isHostAllowed } from './hosts.ts';
import type { CrmRecogniser, IdOk, IdReading, RecordLink } from './recogniser.ts';
import { hostIn, quote } from './recogniser.ts';
import { salesforce } from './salesforce.ts';
import { servicenow } from './servicenow.ts';
import { zendesk } from './zendesk.ts';
import type { CrmSystem, InputWarning, TicketMatch, TicketRef } from '../types.ts';

export { isHostAllowed, parseAllowedHosts } from './hosts.ts';
export { normaliseSalesforceId, salesforceIdChecksum } from './salesforce-id.ts';

/** Recognisers in the order they are tried. Salesforce first: its custom-domain path is the most common. */
const RECOGNISERS: readonly CrmRecogniser[] = [salesforce, zendesk, freshdesk, servicenow, dynamics365];

/** A generic id longer than this, or with control characters, is not an id (it would go into logs and keys). */
const MAX_GENERIC_ID = 255;

export interface TicketInput {
  id: string | null;
  url: string | null;
  isAccount: boolean;
}

export interface MatchOptions {
  /** parsed CRM_ALLOWED_HOSTS; empty: any host */
  allowedHosts: readonly string[];
}

type UrlVerdict =
  | { kind: 'record'; crm: CrmRecogniser; link: RecordLink; host: string; url: string }
  /**
   * not a CRM record link; `what` completes "out_ticket_url …"; `host` for an http(s) URL,
   * `platform` when it is CCAI Platform's own (media) link
   */
  | { kind: 'not-crm'; what: string; host?: string; platform?: boolean };

export function matchTicket(ref: TicketInput, opts: MatchOptions): TicketMatch {
  const id = blankToNull(ref.id);
  const given = blankToNull(ref.url);
  const urlText = given === null ? null : withoutCredentials(given);
  const verdict = urlText === null ? null : readTicketUrl(urlText);

  // With an allowlist, any http(s) link outside it is refused, recognised or not: an unknown
  // host is exactly what the list is for. CCAI Platform's own media links are not CRM links.
  if (verdict?.kind === 'not-crm' && verdict.host && !verdict.platform && opts.allowedHosts.length > 0 && !isHostAllowed(verdict.host, opts.allowedHosts)) {
    return {
      outcome: 'invalid',
      code: 'TICKET_HOST_NOT_ALLOWED',
      field: 'out_ticket_url',
      reason: `out_ticket_url is on host ${verdict.host}, which is not in CRM_ALLOWED_HOSTS (and not a CRM record link the worker recognises); add the host to CRM_ALLOWED_HOSTS if it is your CRM`,
    };
  }
  if (id === null && verdict === null) {
    return { outcome: 'no-ticket', reason: 'no CRM record: out_ticket_id and out_ticket_url are both empty' };
  }
  if (id === null && verdict !== null && verdict.kind === 'not-crm') {
    return { outcome: 'no-ticket', reason: `no CRM record: out_ticket_id is empty and out_ticket_url ${verdict.what}` };
  }

  const warnings: InputWarning[] = [];
  if (urlText !== given) {
    warnings.push({ field: 'out_ticket_url', message: 'out_ticket_url carried a user name or password; removed (credentials in a ticket link are never stored, shown or sent)' });
  }
  if (ref.isAccount) warnings.push({ field: 'is_out_ticket_account', message: "is_out_ticket_account is true: the record is the customer's account" });

  // A URL that is not a record link: match by id alone (below), saying the URL was ignored.
  if (verdict !== null && verdict.kind === 'not-crm') warnings.push({ field: 'out_ticket_url', message: `out_ticket_url ignored in favour of out_ticket_id: it ${verdict.what}` });

  if (verdict !== null && verdict.kind === 'record') {
    const { crm, link, host } = verdict;
    if (!isHostAllowed(host, opts.allowedHosts)) {
      return {
        outcome: 'invalid',
        code: 'TICKET_HOST_NOT_ALLOWED',
        field: 'out_ticket_url',
        reason: `out_ticket_url is a ${crm.label} link on host ${host}, which is not in CRM_ALLOWED_HOSTS; add ${host} (or a wildcard such as *.${parentDomain(host)}) to CRM_ALLOWED_HOSTS if it is your CRM`,
      };
    }
    const fromUrl = crm.readId(link.rawId);
    if (!fromUrl.ok) {
      return {
        outcome: 'invalid',
        code: 'TICKET_INVALID_ID',
        field: 'out_ticket_url',
        reason: `out_ticket_url (host ${host}) links to a ${crm.label} ${crm.noun}, but ${fromUrl.reason}`,
      };
    }
    const urlOk = withObject(fromUrl, link.object, crm, warnings);
    if (id === null) {
      warnings.push({ field: 'out_ticket_id', message: `out_ticket_id is empty: using the ${crm.label} ${crm.noun} id ${urlOk.id} from out_ticket_url` });
      return matched(crm.system, urlOk, verdict.url, ref.isAccount, [...warnings, ...about('out_ticket_url', urlOk.notes)]);
    }
    const fromId = crm.readId(id);
    if (!fromId.ok && fromId.fault === 'malformed') return invalidId(fromId.reason);
    const mismatch: TicketMatch = {
      outcome: 'invalid',
      code: 'TICKET_MISMATCH',
      field: 'out_ticket_id',
      reason: `out_ticket_id ${quote(id)} and out_ticket_url (${crm.label} ${crm.noun} ${quote(link.rawId)} on host ${host}) name different records${fromId.ok ? '' : `: ${fromId.reason}`}`,
    };
    if (!fromId.ok) return mismatch;
    const r = crm.reconcile ? crm.reconcile(fromId, urlOk) : fromId.id === urlOk.id ? { same: true as const, use: fromId, notes: [] } : { same: false as const };
    if (!r.same) return mismatch;
    const use = { ...r.use, object: r.use.object ?? urlOk.object };
    return matched(crm.system, use, verdict.url, ref.isAccount, [...warnings, ...about('out_ticket_id', [...fromId.notes, ...r.notes])]);
  }

  // An id alone (no URL, or a URL that is not a record link).
  if (id === null) throw new Error('unreachable: no id and no record link were handled above');
  for (const crm of RECOGNISERS) {
    if (!crm.claimsBareId?.(id)) continue;
    const reading = crm.readId(id);
    if (!reading.ok) return invalidId(reading.reason);
    return matched(crm.system, reading, null, ref.isAccount, [...warnings, ...about('out_ticket_id', reading.notes)]);
  }
  const generic = readGenericId(id);
  if (!generic.ok) return invalidId(generic.reason);
  return matched('generic', generic, null, ref.isAccount, warnings);
}

/**
 * The URL without the user name and password it may carry (`https://user:secret@host/x` ->
 * `https://host/x`); the text as given when it has none or is not a URL.
 */
export function withoutCredentials(text: string): string {
  // cheap test first: most links have no '@' before their path
  if (!text.includes('@')) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  if (url.username === '' && url.password === '') return text;
  url.username = '';
  url.password = '';
  return url.toString();
}

/** What out_ticket_url is: a CRM record link, or why it is not one. */
function readTicketUrl(text: string): UrlVerdict {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { kind: 'not-crm', what: 'is not a valid absolute URL, so not a CRM record link' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { kind: 'not-crm', what: `is a ${url.protocol} URL, not an http(s) link to a CRM record` };
  }
  const host = url.hostname;
  for (const crm of RECOGNISERS) {
    const link = crm.readUrl(url);
    if (link !== null) return { kind: 'record', crm, link, host, url: text };
  }
  if (hostIn(host, 'ccaiplatform.com') || hostIn(host, 'ujet.co') || hostIn(host, 'ujet.cx')) {
    const what = /\/download(\/|$)/.test(url.pathname) ? 'media download link' : 'link';
    return { kind: 'not-crm', what: `is a CCAI Platform ${what} (host ${host}), not a CRM record`, host, platform: true };
  }
  const vendor = RECOGNISERS.find((crm) => crm.isVendorHost(host));
  if (vendor) return { kind: 'not-crm', what: `is a ${vendor.label} link (host ${host}) but not to a ${vendor.noun}`, host };
  return { kind: 'not-crm', what: `(host ${host}) is not a CRM record link the worker recognises`, host };
}

/** The object for a URL reading: what the id says (Salesforce key prefix) wins over the URL path. */
function withObject(reading: IdOk, linkObject: string | null, crm: CrmRecogniser, warnings: InputWarning[]): IdOk {
  if (reading.object !== null && linkObject !== null && reading.object.toLowerCase() !== linkObject.toLowerCase()) {
    warnings.push({ field: 'out_ticket_url', message: `out_ticket_url names the object ${quote(linkObject)} but the ${crm.label} id ${reading.id} is a ${reading.object}; using ${reading.object}` });
  }
  return { ...reading, object: reading.object ?? linkObject };
}

/** Any other CRM's id, kept as given (trimmed), unless it cannot be an id. */
function readGenericId(id: string): IdReading {
  if (id.length > MAX_GENERIC_ID) {
    return { ok: false, fault: 'malformed', reason: `${id.length} characters long (at most ${MAX_GENERIC_ID}), not a record id` };
  }
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(id)) {
    return { ok: false, fault: 'malformed', reason: `${quote(id)} contains control characters, not a record id` };
  }
  const lookalike = lookalikeOf(id);
  if (lookalike) return { ok: false, fault: 'malformed', reason: lookalike };
  return { ok: true, id, object: null, notes: [] };
}

// Letters that look like Latin ones (Cyrillic and Greek), for telling a forged or mistyped id
// from a real one. Full-width and other compatibility forms are folded by NFKC first.
const CONFUSABLES: Record<string, string> = {
  'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'х': 'x', 'у': 'y', 'і': 'i', 'ј': 'j', 'ѕ': 's', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'һ': 'h', 'ӏ': 'l',
  'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T', 'Х': 'X', 'У': 'Y', 'І': 'I', 'Ј': 'J', 'Ѕ': 'S',
  'α': 'a', 'ο': 'o', 'ν': 'v', 'ι': 'i', 'κ': 'k', 'ρ': 'p', 'τ': 't', 'υ': 'u',
  'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M', 'Ν': 'N', 'Ο': 'O', 'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
};

/**
 * The shapes of the ids the recognisers read, with any letter or digit (not only ASCII) where
 * they take one: an id of one of these shapes that holds a non-ASCII character is a look-alike
 * of a real id, whichever character it is (a Cyrillic `к`, an accented `á`, a dotless `ı`).
 */
const CRM_ID_SHAPES: ReadonlyArray<{ label: string; shape: RegExp }> = [
  { label: 'Salesforce record', shape: /^[\p{L}\p{N}]{15}(?:[\p{L}\p{N}]{3})?$/u },
  { label: 'ServiceNow sys_id', shape: /^[\p{L}\p{N}]{32}$/u },
  { label: 'ServiceNow record number', shape: /^\p{L}{2,6}\p{N}{7,}$/u },
  { label: 'Dynamics 365 record', shape: /^\{?[\p{L}\p{N}]{8}-[\p{L}\p{N}]{4}-[\p{L}\p{N}]{4}-[\p{L}\p{N}]{4}-[\p{L}\p{N}]{12}\}?$/u },
];

/**
 * Why an id that no CRM recognises would still be mistaken for one of theirs: it holds an
 * invisible format character; it has the shape of a Salesforce, ServiceNow or Dynamics 365 id
 * with a non-ASCII letter or digit in it; or it becomes one of their ids once look-alike
 * characters are read as the ASCII ones they imitate (`500ak000024vx4u-АAA`). Null for an
 * honest id (`Réclamation-42` is kept as given).
 */
function lookalikeOf(id: string): string | null {
  const invisible = /\p{Cf}/u.exec(id);
  if (invisible) return `${quote(id)} contains the invisible character ${codePoint(invisible[0])}, not a record id`;
  if (/^[\x20-\x7e]*$/.test(id)) return null;
  const odd = Array.from(id).filter((c) => c > '\x7e');
  const because = (what: string) => `${quote(id)} looks like a ${what} id but contains ${odd.map(codePoint).join(', ')}: such ids are ASCII letters and digits only`;
  const shaped = CRM_ID_SHAPES.find((s) => s.shape.test(id));
  if (shaped) return because(shaped.label);
  // accents off (NFKD, then combining marks dropped), compatibility forms folded, look-alikes read as ASCII
  const skeleton = Array.from(id.normalize('NFKD').replace(/\p{M}/gu, '').normalize('NFKC'), (c) => CONFUSABLES[c] ?? c).join('');
  const crm = /^[\x20-\x7e]*$/.test(skeleton) ? RECOGNISERS.find((r) => r.claimsBareId?.(skeleton)) : undefined;
  return crm ? because(`${crm.label} ${crm.noun}`) : null;
}

function codePoint(c: string): string {
  return `"${c}" (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`;
}

function invalidId(reason: string): TicketMatch {
  return { outcome: 'invalid', code: 'TICKET_INVALID_ID', field: 'out_ticket_id', reason: `out_ticket_id: ${reason}` };
}

/** A recogniser's notes (how it read an id) as warnings about the field the id came from. */
function about(field: string, notes: readonly string[]): InputWarning[] {
  return notes.map((message) => ({ field, message }));
}

function matched(system: CrmSystem, reading: IdOk, url: string | null, isAccount: boolean, warnings: InputWarning[]): TicketMatch {
  const ticket: TicketRef = { system, id: reading.id, url, object: reading.object, isAccount };
  return { outcome: 'matched', ticket, warnings };
}

function blankToNull(s: string | null): string | null {
  if (s === null || s === undefined) return null;
  const t = String(s).trim(); // String(): tolerate a number that slipped past intake
  return t === '' ? null : t;
}

/** `eu12.crm.example.com` -> `crm.example.com`; a two-label host is kept. */
function parentDomain(host: string): string {
  const labels = host.split('.');
  return labels.length > 2 ? labels.slice(1).join('.') : host;
}
