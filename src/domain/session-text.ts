// From a document's bytes to its text, before any JSON: empty, too large, BOM, binary, UTF-8.
// Pure. Each check names what it found, with byte offsets, so an admin can open the file and
// see the problem.
import type { InputProblem } from './types.ts';

export type TextResult = { ok: true; text: string } | { ok: false; problem: InputProblem };

/** How many bytes of the start are sampled to tell binary from text. */
const BINARY_SAMPLE = 8192;
/** Share of control bytes (other than tab, CR, LF) above which a sample is called binary. */
const BINARY_CONTROL_SHARE = 0.1;

/**
 * Checks 1 to 4 of the parser, in order: empty, over the size limit, a UTF-8 BOM (stripped and
 * accepted: common on Windows-written files, per the docs), binary, not UTF-8.
 */
export function decodeDocument(input: Uint8Array | string, maxBytes: number): TextResult {
  const size = typeof input === 'string' ? utf8Length(input) : input.length;
  if (size === 0) return fail('INPUT_EMPTY', 'the document is empty (0 bytes)');
  if (size > maxBytes) {
    return fail(
      'INPUT_TOO_LARGE',
      `the document is ${formatSize(size)}, over the ${formatSize(maxBytes)} limit (${groupDigits(size)} bytes > ${groupDigits(maxBytes)} bytes)`,
    );
  }
  return typeof input === 'string' ? checkString(input, size) : checkBytes(input);
}

function checkBytes(bytes: Uint8Array): TextResult {
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  const body = bom ? bytes.subarray(3) : bytes;
  if (isBlank(body)) return fail('INPUT_EMPTY', blankMessage(bytes.length, bom));

  const binary = binaryEvidence(controlCountOfBytes(body));
  if (binary) return fail('INPUT_BINARY', `${binary}; the document starts with bytes ${hexStart(bytes)}`);

  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body) };
  } catch {
    const at = firstInvalidUtf8(body);
    const offset = at + (bom ? 3 : 0);
    const { line, column } = lineColumnOfByte(body, at);
    return fail(
      'INPUT_NOT_UTF8',
      `the document is not valid UTF-8: byte 0x${hex(bytes[offset] ?? 0)} at byte offset ${offset} (line ${line}, column ${column}) ` +
        'does not start or continue a UTF-8 character (was the file saved as Latin-1 or Windows-1252?)',
    );
  }
}

function checkString(text: string, size: number): TextResult {
  const bom = text.charCodeAt(0) === 0xfeff;
  const body = bom ? text.slice(1) : text;
  if (/^[ \t\r\n]*$/.test(body)) return fail('INPUT_EMPTY', blankMessage(size, bom));
  const binary = binaryEvidence(controlCountOfString(body));
  if (binary) return fail('INPUT_BINARY', binary);
  return { ok: true, text: body };
}

function blankMessage(size: number, bom: boolean): string {
  return `the document is empty: its ${groupDigits(size)} byte${size === 1 ? ' is' : 's are'} only ${bom ? 'a byte-order mark and ' : ''}whitespace`;
}

function isBlank(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
  }
  return true;
}

/** What the start of the document holds: its first NUL, or else how many control units in how many. */
type ControlCount = { nulAt: number; controls: number; sampled: number };

// Two copies of one loop, for bytes and for UTF-16 units: every document is checked (twice
// when a worker takes a job), and a loop reading through a callback was a visible cost.
function controlCountOfBytes(b: Uint8Array): ControlCount {
  const n = Math.min(b.length, BINARY_SAMPLE);
  let controls = 0;
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c === 0) return { nulAt: i, controls, sampled: n };
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) controls++;
  }
  return { nulAt: -1, controls, sampled: n };
}

function controlCountOfString(s: string): ControlCount {
  const n = Math.min(s.length, BINARY_SAMPLE);
  let controls = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return { nulAt: i, controls, sampled: n };
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) controls++;
  }
  return { nulAt: -1, controls, sampled: n };
}

/** Why a sample of the document is binary rather than text, or null when it looks like text. */
function binaryEvidence({ nulAt, controls, sampled: n }: ControlCount): string | null {
  if (nulAt >= 0) return `the document is binary, not JSON text: it contains a NUL byte at byte offset ${nulAt}`;
  if (controls > 0 && controls / n > BINARY_CONTROL_SHARE) {
    return `the document is binary, not JSON text: ${controls} of its first ${n} bytes are control characters`;
  }
  return null;
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence, or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0; // no overlong forms
      if (c === 0xed) hi = 0x9f; // no UTF-16 surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f; // nothing past U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      const n = b[i + k];
      if (n === undefined) return i;
      if (k === 1 ? n < lo || n > hi : n < 0x80 || n > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

function lineColumnOfByte(b: Uint8Array, at: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < at && i < b.length; i++) {
    if (b[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: at - lineStart + 1 };
}

/** UTF-8 byte length of a JS string, without encoding it. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** `12.3 MB`, `640 KB`, `120 bytes` (binary multiples: 1 MB = 1,048,576 bytes). */
export function formatSize(bytes: number): string {
  const one = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1).replace(/\.0$/, ''));
  if (bytes >= 1024 * 1024) return `${one(bytes / (1024 * 1024))} MB`;
  if (bytes >= 1024) return `${one(bytes / 1024)} KB`;
  return `${bytes} byte${bytes === 1 ? '' : 's'}`;
}

/** `5242880` → `5,242,880`, independent of the locale. */
export function groupDigits(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function hex(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}

function hexStart(b: Uint8Array): string {
  return Array.from(b.subarray(0, 8), hex).join(' ');
}

function fail(code: InputProblem['code'], message: string): TextResult {
  return { ok: false, problem: { code, message } };
}
