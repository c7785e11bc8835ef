// Cutting text to a size limit, visibly. Pure. What is cut ends with a marker saying how much
// was left out, `… (4,184,304 characters more)`, so a reader of the ticket knows the text goes
// on and where to find it whole (the metadata file). Never cuts inside a surrogate pair.

/** Agent text (a disposition note, a CSAT comment, Smart Action text, a custom data value): at most this many characters each, wherever it is written. */
export const AGENT_TEXT_MAX_CHARS = 10_000;
/** A latest-state field on the ticket (`disposition_notes` joins every leg's note): at most this many characters. */
export const FIELD_TEXT_MAX_CHARS = 32_000;
/** The note: its text at most this many characters, its HTML at most twice as many. */
export const NOTE_TEXT_MAX_CHARS = 100_000;

export interface Cut {
  text: string;
  /** characters (code points) left out; 0 when the text fit */
  removed: number;
}

export function cutMarker(removed: number): string {
  return `… (${removed.toLocaleString('en-US')} character${removed === 1 ? '' : 's'} more)`;
}

/** `text` in at most `max` UTF-16 units (the length JavaScript and Salesforce count), marker included. */
export function cutText(text: string, max: number): Cut {
  if (text.length <= max) return { text, removed: 0 };
  if (max <= 0) return { text: '', removed: countCodePoints(text, 0) };
  // The full marker when it takes at most half the room (its longest form for this text is
  // enough to reserve), a bare `…` in a small field: Text(20) keeps 19 characters, not a marker.
  const full = cutMarker(text.length).length * 2 <= max;
  let keep = max - (full ? cutMarker(text.length).length : 1);
  if (keep > 0 && isHighSurrogate(text.charCodeAt(keep - 1))) keep--;
  const removed = countCodePoints(text, keep);
  return { text: text.slice(0, keep) + (full ? cutMarker(removed) : '…'), removed };
}

/** `text` in at most `maxBytes` bytes of UTF-8 (Salesforce's CaseComment counts bytes), marker included. */
export function cutUtf8(text: string, maxBytes: number): Cut {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return { text, removed: 0 };
  const ellipsis = 3; // `…` in UTF-8
  if (maxBytes < ellipsis) return { text: '', removed: countCodePoints(text, 0) };
  const full = Buffer.byteLength(cutMarker(text.length), 'utf8') * 2 <= maxBytes;
  const room = maxBytes - (full ? Buffer.byteLength(cutMarker(text.length), 'utf8') : ellipsis);
  // walk code points until the room is used: at most maxBytes steps
  let keep = 0;
  let bytes = 0;
  while (keep < text.length) {
    const cp = text.codePointAt(keep)!;
    const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + size > room) break;
    bytes += size;
    keep += cp >= 0x10000 ? 2 : 1;
  }
  const removed = countCodePoints(text, keep);
  return { text: text.slice(0, keep) + (full ? cutMarker(removed) : '…'), removed };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Characters as a reader counts them (code points: an emoji is one). */
export function codePointLength(text: string): number {
  return countCodePoints(text, 0);
}

function countCodePoints(text: string, from: number): number {
  let n = 0;
  for (let i = from; i < text.length; i++) {
    n++;
    if (isHighSurrogate(text.charCodeAt(i)) && i + 1 < text.length) i++;
  }
  return n;
}
