// Intake: from a document's bytes to the decision of what happens to it, before any queue.
// Pure. Classifies by content, never by file name: external storage folders also hold
// recordings, photos, PDFs and compressed files, which are recognised by their magic bytes
// and ignored.
import { parseSession } from './session/parse.ts';
import { recogniseCompressed, utf16ByteOrder, utf16Label } from './session/decode.ts';
import type { Utf16Order } from './session/decode.ts';
import { matchTicket } from './ticket/match.ts';
import type { InputProblem, InputWarning, Session, TicketRef } from './types.ts';

export interface IntakeOptions {
  maxBytes: number;
  allowedHosts: readonly string[];
  /**
   * true when the document was found by scanning a folder (not handed over explicitly): such
   * folders also hold recordings, photos and transcripts, so media and text that is not JSON
   * at all are ignored rather than rejected. Anything that starts like JSON is still validated.
   * A document handed over explicitly (a named file, an HTTP body) must be a metadata document.
   */
  discovered?: boolean;
}

export type IntakeResult =
  /** a session with a CRM record: to be queued */
  | { status: 'accepted'; session: Session; ticket: TicketRef; warnings: InputWarning[] }
  /** a session that names no CRM record: nothing to do, not an error */
  | { status: 'skipped'; session: Session; reason: string; warnings: InputWarning[] }
  /** not a metadata document at all (a recording, a photo, a PDF): left alone */
  | { status: 'ignored'; reason: string }
  /** cannot be processed: the original must be kept with this problem */
  | { status: 'rejected'; problem: InputProblem; session: Session | null; /** what was corrected before the problem was found */ warnings: InputWarning[] };

const MEDIA_SIGNATURES: Array<{ what: string; test: (b: Uint8Array) => boolean }> = [
  { what: 'an MP3 recording', test: (b) => ascii(b, 0, 'ID3') || (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0 && !utf16Text(b)) },
  { what: 'a WAV recording', test: (b) => ascii(b, 0, 'RIFF') && ascii(b, 8, 'WAVE') },
  { what: 'an OGG/Opus recording', test: (b) => ascii(b, 0, 'OggS') },
  { what: 'a FLAC recording', test: (b) => ascii(b, 0, 'fLaC') },
  { what: 'a JPEG image', test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { what: 'a PNG image', test: (b) => b[0] === 0x89 && ascii(b, 1, 'PNG') },
  { what: 'a GIF image', test: (b) => ascii(b, 0, 'GIF8') },
  { what: 'a PDF document', test: (b) => ascii(b, 0, '%PDF-') },
  { what: 'an MP4/MOV video', test: (b) => ascii(b, 4, 'ftyp') },
  { what: 'a WebM video', test: (b) => b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3 },
];

function ascii(b: Uint8Array, at: number, s: string): boolean {
  if (b.length < at + s.length) return false;
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

/**
 * FF FE is both the UTF-16 LE byte-order mark and the start of an MPEG audio frame (Layer I,
 * with CRC): text after it is a UTF-16 document, a frame header's next bytes are not text.
 */
function utf16Text(b: Uint8Array): boolean {
  if (utf16ByteOrder(b) !== 'UTF-16 LE') return false;
  const c = b[2];
  return b[3] === 0 && c !== undefined && (c === 0x09 || c === 0x0a || c === 0x0d || (c >= 0x20 && c < 0x7f));
}

/** What kind of non-metadata media the bytes are, or null. */
export function recogniseMedia(bytes: Uint8Array): string | null {
  for (const sig of MEDIA_SIGNATURES) if (sig.test(bytes)) return sig.what;
  return null;
}

/** Describes bytes that are readable text but cannot be JSON (first character not { or [), else null. */
export function plainTextNotJson(bytes: Uint8Array): string | null {
  const utf16 = utf16ByteOrder(bytes);
  if (utf16) return plainUtf16NotJson(bytes, utf16);
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  if (i >= bytes.length) return null; // empty: a failed upload, rejected as such
  const first = bytes[i]!;
  if (first === 0x7b || first === 0x5b) return null; // { or [
  const sample = bytes.subarray(i, Math.min(bytes.length, i + 4096));
  for (const b of sample) if (b === 0 || (b < 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09)) return null; // binary
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample.length === bytes.length - i ? sample : sample.subarray(0, Math.max(0, sample.length - 4)));
  } catch {
    return null;
  }
  return 'plain text, not JSON (a transcript or other file?)';
}

/** The same for UTF-16 with a byte-order mark. */
function plainUtf16NotJson(bytes: Uint8Array, order: Utf16Order): string | null {
  const whole = bytes.length <= 2 + 4096;
  // a sample cut off mid-file may end in half a surrogate pair (a replacement character): leave its last unit out
  const sample = bytes.subarray(2, whole ? bytes.length & ~1 : 2 + 4096 - 2);
  const text = new TextDecoder(utf16Label(order), { ignoreBOM: true }).decode(sample).replace(/^[ \t\r\n]+/, '');
  if (text === '' || text[0] === '{' || text[0] === '[') return null;
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffd]/.test(text)) return null; // binary, or not UTF-16 after all
  return 'plain text, not JSON (a transcript or other file?)';
}

/**
 * For a document found in a folder, where recordings, photos, PDFs and transcripts live too:
 * why its first bytes (4 KiB are enough) show it is not a metadata document, or null.
 */
export function notMetadata(head: Uint8Array): string | null {
  const what = recogniseCompressed(head) ?? recogniseMedia(head) ?? plainTextNotJson(head);
  return what ? `not a metadata document: ${what}` : null;
}

const MEDIA_BY_EXTENSION: Array<[RegExp, string]> = [
  [/\.(mp3|wav|ogg|oga|opus|flac|m4a|aac|amr|wma)$/i, 'a recording'],
  [/\.(mp4|mov|webm|mkv|avi|m4v|3gp)$/i, 'a video'],
  [/\.(jpe?g|png|gif|webp|heic|heif|bmp|tiff?)$/i, 'a photo'],
  [/\.pdf$/i, 'a PDF document'],
  [/\.(zip|gz|tgz|7z|bz2|xz|zst)$/i, 'an archive'],
];
const MEDIA_BY_TYPE: Array<[RegExp, string]> = [
  [/^audio\//i, 'a recording'],
  [/^video\//i, 'a video'],
  [/^image\//i, 'a photo'],
  [/^application\/pdf\b/i, 'a PDF document'],
];

/**
 * For an object in a bucket or an SFTP folder, where CCAI Platform writes recordings
 * (`call-{id}.mp3|wav`), transcripts (`chat-{id}.txt`), photos, videos and `email-{id}.pdf`
 * beside the metadata (`metadata-{id}.json|txt`): why its name or content type alone shows
 * it is not a metadata document, so that it is skipped without being downloaded; else null
 * (the content decides, as for a folder).
 */
export function notMetadataByName(name: string, contentType?: string | null): string | null {
  const base = name.slice(name.lastIndexOf('/') + 1);
  if (/^metadata[-_]/i.test(base)) return null;
  const byName = MEDIA_BY_EXTENSION.find(([re]) => re.test(base))?.[1] ?? (/^chat-\d+\.txt$/i.test(base) ? 'a chat transcript' : null);
  if (byName) return `not a metadata document: ${byName} (${base}), by its name; not downloaded`;
  const byType = MEDIA_BY_TYPE.find(([re]) => re.test(contentType ?? ''))?.[1];
  return byType ? `not a metadata document: ${byType} (${base}, ${contentType}), by its content type; not downloaded` : null;
}

export function intake(bytes: Uint8Array, opts: IntakeOptions): IntakeResult {
  if (opts.discovered) {
    const other = notMetadata(bytes);
    if (other) return { status: 'ignored', reason: other };
  }
  const parsed = parseSession(bytes, { maxBytes: opts.maxBytes });
  if (!parsed.ok) return { status: 'rejected', problem: parsed.problem, session: null, warnings: [] };
  const { session, warnings } = parsed;
  const match = matchTicket(session.ticket, { allowedHosts: opts.allowedHosts });
  switch (match.outcome) {
    case 'matched':
      return { status: 'accepted', session, ticket: match.ticket, warnings: [...warnings, ...match.warnings] };
    case 'no-ticket':
      return { status: 'skipped', session, reason: match.reason, warnings };
    case 'invalid':
      return { status: 'rejected', session, problem: { code: match.code, field: match.field, message: match.reason }, warnings };
  }
  return unreachable(match);
}

function unreachable(x: never): never {
  throw new Error(`unexpected ticket match ${JSON.stringify(x)}`);
}
