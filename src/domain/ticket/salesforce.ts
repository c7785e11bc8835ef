// Salesforce record links and ids (docs/crm-targets.md, "Record URLs"). Pure.
//   Lightning  https://{domain}.lightning.force.com/lightning/r/{Object}/{id}/view   (/edit,
//              /related/{list}/view, extra query strings). The /lightning/r/ path is recognised
//              on ANY host: orgs use custom domains (the real fixtures use crm.example.com).
//   Classic    https://{domain}.my.salesforce.com/{id}   (also sandboxes
//              *.sandbox.my.salesforce.com and other *.salesforce.com / *.force.com hosts)
//   Old Lightning  https://{domain}.lightning.force.com/one/one.app#/sObject/{id}/view
import {
  hasSalesforceIdShape,
  looksLikeSalesforceId,
  normaliseSalesforceId,
  salesforceIdChecksum,
  salesforceObjectForId,
} from './salesforce-id.ts';
import type { CrmRecogniser, IdReading, RecordLink } from './recogniser.ts';
import { hostIn, pathSegments, quote } from './recogniser.ts';

const OBJECT_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

function isVendorHost(host: string): boolean {
  return hostIn(host, 'salesforce.com') || hostIn(host, 'force.com');
}

function readUrl(url: URL): RecordLink | null {
  const seg = pathSegments(url);
  // Lightning: /lightning/r/{Object}/{id}/... or the short /lightning/r/{id}/view
  if (seg[0] === 'lightning' && seg[1] === 'r') {
    const [, , a, b] = seg;
    if (a === undefined) return null;
    const object = OBJECT_NAME.test(a) ? a : null;
    // `ContentDocument` is 15 letters: an id in the 4th segment wins over the 3rd.
    if (b !== undefined && hasSalesforceIdShape(b)) return { rawId: b, object };
    if (hasSalesforceIdShape(a)) return { rawId: a, object: null };
    // A record path whose id is not a Salesforce id: recognised, so the id is reported as invalid.
    return b !== undefined ? { rawId: b, object } : null;
  }
  if (!isVendorHost(url.hostname)) return null;
  // Old Lightning: /one/one.app#/sObject/{id}/view
  if (seg[0] === 'one' && seg[1] === 'one.app') {
    const hash = url.hash.replace(/^#\/?/, '').split(/[/?]/);
    if (hash[0] === 'sObject' && hash[1] !== undefined && hasSalesforceIdShape(hash[1])) return { rawId: hash[1], object: null };
    return null;
  }
  // Classic: /{id} or /{id}/e
  const first = seg[0];
  if (first !== undefined && hasSalesforceIdShape(first) && seg.length <= 2) return { rawId: first, object: null };
  return null;
}

function readId(raw: string): IdReading {
  const id = raw.trim();
  if (!hasSalesforceIdShape(id)) {
    return { ok: false, fault: 'foreign', reason: `${quote(id)} is not a Salesforce id (15 or 18 letters and digits)` };
  }
  const normalised = normaliseSalesforceId(id);
  if (normalised === null) {
    return {
      ok: false,
      fault: 'malformed',
      reason: `${quote(id)} is not a valid Salesforce id: its checksum ${quote(id.slice(15))} does not match its first 15 characters (expected ${salesforceIdChecksum(id.slice(0, 15))})`,
    };
  }
  const notes = id.length === 15 ? [`${quote(id)} is a 15-character Salesforce id; using its 18-character form ${normalised}`] : [];
  return { ok: true, id: normalised, object: salesforceObjectForId(normalised), notes };
}

export const salesforce: CrmRecogniser = {
  system: 'salesforce',
  label: 'Salesforce',
  noun: 'record',
  isVendorHost,
  readUrl,
  readId,
  // 15-character ids are case-sensitive, so comparing the 18-character forms (the default) is
  // exact: a 15 and an 18 naming the same record agree, a case change does not.
  claimsBareId: (id) => looksLikeSalesforceId(id.trim()),
};
