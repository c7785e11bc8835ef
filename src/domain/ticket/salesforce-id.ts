// Salesforce record ids. Pure.
// From docs/crm-targets.md ("Record URLs"): ids are 15 characters (case-sensitive) or 18
// characters; the 18-character form appends a 3-character checksum of the 15: for each
// 5-character chunk, bit i is set when character i is A–Z, and the 0–31 value indexes
// `ABCDEFGHIJKLMNOPQRSTUVWXYZ012345` (docs sample: `500xx000000bpkT` -> `500xx000000bpkTAAQ`).

const CHECKSUM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const ID15 = /^[0-9A-Za-z]{15}$/;
const ID15_OR_18 = /^(?:[0-9A-Za-z]{15}|[0-9A-Za-z]{18})$/;

/** Key prefixes the worker can name (docs/crm-targets.md, plus the usual standard objects). */
const KEY_PREFIX_OBJECTS: Readonly<Record<string, string>> = {
  '500': 'Case',
  '00T': 'Task',
  '00U': 'Event',
  '003': 'Contact',
  '001': 'Account',
  '006': 'Opportunity',
  '00Q': 'Lead',
};

/** The 3-character checksum of a 15-character id. Throws RangeError for anything else. */
export function salesforceIdChecksum(id15: string): string {
  if (!ID15.test(id15)) throw new RangeError('a Salesforce checksum needs exactly 15 letters or digits');
  let out = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let flags = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) flags |= 1 << i; // A–Z
    }
    out += CHECKSUM_ALPHABET[flags];
  }
  return out;
}

/**
 * The 18-character form of a Salesforce id: a 15-character id gets its checksum appended; an
 * 18-character id is returned when its checksum matches its first 15 characters. Anything else
 * (wrong length, not alphanumeric, wrong checksum) is null. Surrounding whitespace is ignored.
 */
export function normaliseSalesforceId(id: string): string | null {
  const s = id.trim();
  if (!ID15_OR_18.test(s)) return null;
  const head = s.slice(0, 15);
  const sum = salesforceIdChecksum(head);
  if (s.length === 15) return head + sum;
  return s.slice(15) === sum ? s : null;
}

/** The sObject a key prefix (first 3 characters of an id) names, when the worker knows it. */
export function salesforceObjectForId(id: string): string | null {
  return KEY_PREFIX_OBJECTS[id.slice(0, 3)] ?? null;
}

/** 15 or 18 letters/digits: the shape of a Salesforce id, checksum not verified. */
export function hasSalesforceIdShape(id: string): boolean {
  return ID15_OR_18.test(id);
}

/**
 * Whether an id seen ALONE (no URL saying it is Salesforce) looks like a Salesforce id rather
 * than some other CRM's key. Heuristic, checksum not verified:
 *   - 15 or 18 letters/digits, with at least one letter (a long number is some other ticket id);
 *   - a key prefix that looks like a real one: a known prefix, a standard-object prefix (they
 *     start with a digit: `001`, `500`, `00T`) or a custom-object prefix (`a0B`);
 *   - the 6th character, reserved by Salesforce, is `0` (`500ak0…`, `001500…`).
 */
export function looksLikeSalesforceId(id: string): boolean {
  if (!ID15_OR_18.test(id) || !/[A-Za-z]/.test(id.slice(0, 15))) return false;
  const prefix = id.slice(0, 3);
  const knownLooking = prefix in KEY_PREFIX_OBJECTS || /^[0-9][0-9A-Za-z]{2}$/.test(prefix) || /^a[0-9A-Za-z]{2}$/.test(prefix);
  return knownLooking && id[5] === '0';
}
