// Salesforce record ids: 15 case-sensitive characters (3-character key prefix + the rest),
// or 18 with a 3-character checksum that makes them case-insensitive.
// Checksum (documented; docs sample 500xx000000bpkT -> 500xx000000bpkTAAQ): for each
// 5-character chunk, bit i is set when character i is A-Z; the 0-31 value indexes
// ABCDEFGHIJKLMNOPQRSTUVWXYZ012345.

const CHECKSUM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function checksum(id15: string): string {
  let out = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    out += CHECKSUM_ALPHABET[bits];
  }
  return out;
}

export function to18(id15: string): string {
  return id15 + checksum(id15);
}

/** The 15-character form of a well-formed id, or null (wrong shape or wrong checksum). */
export function normalizeId(id: unknown): string | null {
  if (typeof id !== 'string' || !/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(id)) return null;
  const id15 = id.slice(0, 15);
  if (id.length === 18 && id.slice(15).toUpperCase() !== checksum(id15)) return null;
  return id15;
}

/** Builds a 15-character id: key prefix + pod-like chars + a base-62 counter (mixed case, so
 *  the checksum is exercised), returned in the 18-character form. */
export function makeId(keyPrefix: string, counter: number, pod = '5g'): string {
  let n = counter;
  let tail = '';
  while (tail.length < 10) {
    tail = BASE62[n % 62] + tail;
    n = Math.floor(n / 62);
  }
  return to18((keyPrefix + pod + tail).slice(0, 15));
}
