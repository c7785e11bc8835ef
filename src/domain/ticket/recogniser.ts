// What every CRM recogniser (salesforce.ts, zendesk.ts, ...) provides, and the
// small helpers they share. Pure: URLs are parsed with `new URL()` by the caller, never fetched.
import type { CrmSystem } from '../types.ts';

/** A record link found in out_ticket_url: the id exactly as the URL carries it. */
export interface RecordLink {
  rawId: string;
  /** sObject, table or entity named by the URL, when it names one */
  object: string | null;
}

/** An id in a CRM's format, normalised. */
export interface IdOk {
  ok: true;
  id: string;
  /** what the id itself says about the object (Salesforce key prefix, ServiceNow number prefix) */
  object: string | null;
  /** noteworthy normalisation, e.g. a 15-character Salesforce id made 18 */
  notes: string[];
}

export type IdReading =
  | IdOk
  /** malformed: it has this CRM's shape but is not valid (wrong checksum); foreign: not this CRM's shape */
  | { ok: false; fault: 'malformed' | 'foreign'; reason: string };

/** How two readings (out_ticket_id, and the id in out_ticket_url) relate. */
export type Reconciled = { same: true; use: IdOk; notes: string[] } | { same: false };

export interface CrmRecogniser {
  readonly system: Exclude<CrmSystem, 'generic'>;
  /** for messages: `Salesforce`, `Zendesk` */
  readonly label: string;
  /** what the records are called in messages: `record`, `ticket` */
  readonly noun: string;
  /** the vendor's own hosts, to say "a Zendesk link but not to a ticket" */
  isVendorHost(host: string): boolean;
  /** the record a URL links to, or null when it is not a record link of this CRM */
  readUrl(url: URL): RecordLink | null;
  /** an id in this CRM's format (out_ticket_id, or the id taken from a URL) */
  readId(id: string): IdReading;
  /** whether an id seen without a URL is recognisably this CRM's (optional: numeric ids are not) */
  claimsBareId?(id: string): boolean;
  /** whether out_ticket_id and the URL's id name the same record (default: equal normalised ids) */
  reconcile?(fromId: IdOk, fromUrl: IdOk): Reconciled;
}

/** A value for a message: JSON-quoted (control characters escaped) and cut to a readable length. */
export function quote(value: string, max = 80): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut);
}

/** `host` is `domain` or one of its subdomains. */
export function hostIn(host: string, domain: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === domain || h.endsWith(`.${domain}`);
}

/** Non-empty path segments, percent-decoded where that is possible. */
export function pathSegments(url: URL): string[] {
  return url.pathname
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}

/**
 * A ticket number (Zendesk, Freshdesk): digits, optionally written `#123`. Normalised without
 * leading zeros so `00123` and `123` compare as the same number.
 */
export function readTicketNumber(id: string, label: string): IdReading {
  const m = /^#?(\d{1,20})$/.exec(id.trim());
  if (!m) return { ok: false, fault: 'foreign', reason: `${quote(id)} is not a ${label} ticket number` };
  const digits = m[1]!.replace(/^0+(?=\d)/, '');
  const notes = digits !== id.trim() ? [`${label} ticket number ${quote(id.trim())} read as ${digits}`] : [];
  return { ok: true, id: digits, object: 'ticket', notes };
}
