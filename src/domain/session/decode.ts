// From a document's bytes to its text, before any JSON: empty, too large, BOM, binary, UTF-8
// (or UTF-16 with a byte-order mark). Pure. Each check names what it found, with byte offsets,
// so an admin can open the file and see the problem.
import type { InputProblem } from '../types.ts';

/** `warning`: how the text was read, when that is worth telling (UTF-16) */
export type TextResult = { ok: true; text: string; warning?: string } | { ok: false; problem: InputProblem };

export type Utf16Order = 'UTF-16 LE' | 'UTF-16 BE';

/**
 * The UTF-16 byte order a byte-order mark at the start names, or null. Windows tools
 * (Notepad's "Unicode", PowerShell 5's Out-File) re-save files that way. FF FE 00 00 is
 * UTF-32 LE's mark, not UTF-16's.
 */
export function utf16ByteOrder(b: Uint8Array): Utf16Order | null {
  if (b[0] === 0xff && b[1] === 0xfe && !(b[2] === 0 && b[3] === 0)) return 'UTF-16 LE';
  if (b[0] === 0xfe && b[1] === 0xff) return 'UTF-16 BE';
  return null;
}

/** The TextDecoder label of a UTF-16 byte order. */
export function utf16Label(order: Utf16Order): 'utf-16le' | 'utf-16be' {
  return order === 'UTF-16 LE' ? 'utf-16le' : 'utf-16be';
}

/**
 * The text of a document decodeDocument accepted, as a job carries it (text, not bytes):
 * UTF-16 decoded as such, a byte-order mark removed.
 */
export function documentText(bytes: Uint8Array): string {
  const order = utf16ByteOrder(bytes);
  if (order) return new TextDecoder(utf16Label(order), { ignoreBOM: true }).decode(bytes.subarray(2));
  return new TextDecoder('utf-8').decode(bytes).replace(/^\uFEFF/, '');
}

const COMPRESSED: Array<{ what: string; test: (b: Uint8Array) => boolean }> = [
  { what: 'a gzip-compressed file: decompress it first', test: (b) => b[0] === 0x1f && b[1] === 0x8b },
  { what: 'a zip archive: unzip it first', test: (b) => b[0] === 0x50 && b[1] === 0x4b && ((b[2] === 3 && b[3] === 4) || (b[2] === 5 && b[3] === 6) || (b[2] === 7 && b[3] === 8)) },
  { what: 'a bzip2-compressed file: decompress it first', test: (b) => startsWith(b, [0x42, 0x5a, 0x68]) && b[3]! >= 0x31 && b[3]! <= 0x39 && startsWith(b.subarray(4), [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]) },
  { what: 'an xz-compressed file: decompress it first', test: (b) => startsWith(b, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) },
  { what: 'a zstd-compressed file: decompress it first', test: (b) => startsWith(b, [0x28, 0xb5, 0x2f, 0xfd]) },
  { what: 'a 7-Zip archive: unpack it first', test: (b) => startsWith(b, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]) },
];

function startsWith(b: Uint8Array, sig: number[]): boolean {
  return b.length >= sig.length && sig.every((x, i) => b[i] === x);
}

/**
 * What kind of compressed file or archive the bytes are (`a gzip-compressed file: decompress
 * it first`), or null. Only named: never decompressed here (a small file can expand to
 * gigabytes), the admin unpacks it.
 */
export function recogniseCompressed(bytes: Uint8Array): string | null {
  for (const c of COMPRESSED) if (c.test(bytes)) return c.what;
  return null;
}

/** How many bytes of the start are sampled to tell binary from text. */
const BINARY_SAMPLE = 8192;
/** Share of control bytes (other than tab, CR, LF) above which a sample is called binary. */
const BINARY_CONTROL_SHARE = 0.1;

/**
 * Checks 1 to 4 of the parser, in order: empty, over the size limit, a UTF-8 BOM (stripped and
 * accepted: common on Windows-written files, per the docs) or a UTF-16 one (decoded as such),
 * binary (a compressed file named as such), not UTF-8.
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
  const utf16 = utf16ByteOrder(bytes);
  if (utf16) return checkUtf16(bytes, utf16);
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  const body = bom ? bytes.subarray(3) : bytes;
  if (isBlank(body)) return fail('INPUT_EMPTY', blankMessage(bytes.length, bom));

  const packed = recogniseCompressed(bytes);
  if (packed) return fail('INPUT_BINARY', `the document is ${packed} (it starts with bytes ${hexStart(bytes)})`);
  if (startsWith(bytes, [0xff, 0xfe, 0, 0]) || startsWith(bytes, [0, 0, 0xfe, 0xff])) {
    return fail('INPUT_NOT_UTF8', 'the document is UTF-32 (its byte-order mark says so), which is not read: save it as UTF-8');
  }
  const binary = binaryEvidence(controlCountOfBytes(body));
  if (binary) {
    const order = utf16WithoutMark(body);
    if (order) {
      return fail(
        'INPUT_NOT_UTF8',
        `the document looks like ${order} without a byte-order mark (a NUL byte beside each of its first characters): ` +
          'save it as UTF-8, or as UTF-16 with a byte-order mark',
      );
    }
    return fail('INPUT_BINARY', `${binary}; the document starts with bytes ${hexStart(bytes)}`);
  }

  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body) };
  } catch {
    const at = firstInvalidUtf8(body);
    const offset = at + (bom ? 3 : 0);
    // an upload or copy caught between the bytes of one character: cut short, not mis-encoded
    if (utf8CharEnd(body, at) === 'cut') {
      return fail('INPUT_TRUNCATED', `the document ends in the middle of a UTF-8 character at byte offset ${offset} (truncated file?)`);
    }
    const { line, column } = lineColumnOfByte(body, at);
    return fail(
      'INPUT_NOT_UTF8',
      `the document is not valid UTF-8: byte 0x${hex(bytes[offset] ?? 0)} at byte offset ${offset} (line ${line}, column ${column}) ` +
        'does not start or continue a UTF-8 character (was the file saved as Latin-1 or Windows-1252?)',
    );
  }
}

function checkUtf16(bytes: Uint8Array, order: Utf16Order): TextResult {
  const body = bytes.subarray(2);
  const cut = () =>
    fail('INPUT_TRUNCATED', `the document is ${order} (it starts with a byte-order mark) and ends in the middle of a UTF-16 character (truncated file?)`);
  if (body.length % 2 === 1) return cut();
  let text: string;
  try {
    text = new TextDecoder(utf16Label(order), { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    const at = unpairedSurrogate(body, order);
    if (at === body.length - 2 && isHighSurrogate(unitAt(body, at, order))) return cut(); // the first half of a pair, then the end
    return fail(
      'INPUT_NOT_UTF8',
      `the document is ${order} (it starts with a byte-order mark) but not valid UTF-16: half a surrogate pair at byte offset ${at + 2}`,
    );
  }
  if (/^[ \t\r\n]*$/.test(text)) return fail('INPUT_EMPTY', blankMessage(bytes.length, true));
  const count = controlCountOfString(text);
  // a string index is a UTF-16 unit: two bytes, after the two of the mark
  const binary = binaryEvidence({ ...count, nulAt: count.nulAt >= 0 ? 2 + 2 * count.nulAt : -1 });
  if (binary) return fail('INPUT_BINARY', `${binary} (read as ${order}); the document starts with bytes ${hexStart(bytes)}`);
  return { ok: true, text, warning: `the document is ${order} (it starts with a byte-order mark); read as such` };
}

/** Byte offset in `b` (UTF-16 without its mark) of the first surrogate without its other half, or -1. */
function unpairedSurrogate(b: Uint8Array, order: Utf16Order): number {
  for (let i = 0; i + 1 < b.length; i += 2) {
    const u = unitAt(b, i, order);
    if (isLowSurrogate(u)) return i;
    if (isHighSurrogate(u)) {
      if (i + 3 >= b.length || !isLowSurrogate(unitAt(b, i + 2, order))) return i;
      i += 2;
    }
  }
  return -1;
}

function unitAt(b: Uint8Array, i: number, order: Utf16Order): number {
  return order === 'UTF-16 LE' ? b[i]! | (b[i + 1]! << 8) : (b[i]! << 8) | b[i + 1]!;
}

function isHighSurrogate(u: number): boolean {
  return u >= 0xd800 && u <= 0xdbff;
}

function isLowSurrogate(u: number): boolean {
  return u >= 0xdc00 && u <= 0xdfff;
}

/**
 * UTF-16 saved without a byte-order mark: JSON starts with ASCII, so each of the first
 * characters is one ASCII byte beside a NUL (RFC 4627's rule). Only named, not guessed at.
 */
function utf16WithoutMark(b: Uint8Array): Utf16Order | null {
  const units = Math.min(8, Math.floor(b.length / 2));
  if (units < 2) return null;
  const ascii = (x: number) => x >= 0x09 && x < 0x7f;
  let le = true;
  let be = true;
  for (let i = 0; i < units * 2; i += 2) {
    le &&= ascii(b[i]!) && b[i + 1] === 0;
    be &&= b[i] === 0 && ascii(b[i + 1]!);
  }
  return le ? 'UTF-16 LE' : be ? 'UTF-16 BE' : null;
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
    const end = utf8CharEnd(b, i);
    if (typeof end !== 'number') return i;
    i = end;
  }
  return -1;
}

/**
 * Where the UTF-8 character starting at b[i] ends: the next offset; 'bad' when it is not a
 * well-formed character; 'cut' when it starts well but the bytes end before it does.
 */
function utf8CharEnd(b: Uint8Array, i: number): number | 'bad' | 'cut' {
  const c = b[i]!;
  if (c < 0x80) return i + 1;
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
  } else return 'bad';
  for (let k = 1; k <= need; k++) {
    const n = b[i + k];
    if (n === undefined) return 'cut';
    if (k === 1 ? n < lo || n > hi : n < 0x80 || n > 0xbf) return 'bad';
  }
  return i + need + 1;
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
