// Parsing and validation of CCAI Platform session metadata files. Pure: bytes (or text) in,
// a normalised `Session` or one precise `InputProblem` out. Never throws.
//
// The checks run in a fixed order, each with its own error code (src/errors.ts), so the same
// bad file always gets the same reason:
//   1. empty                        INPUT_EMPTY
//   2. over the size limit          INPUT_TOO_LARGE
//   3. a UTF-8 BOM is stripped and accepted; UTF-16 with a BOM is decoded (with a warning)
//   4. binary / not UTF-8           INPUT_BINARY / INPUT_NOT_UTF8
//   5. not JSON / cut short         INPUT_NOT_JSON / INPUT_TRUNCATED
//   6. not an object                INPUT_NOT_OBJECT
//   7. `id`                         INPUT_MISSING_FIELD / INPUT_INVALID_FIELD
//   8. kind (call_type / chat_type) INPUT_NOT_SESSION / INPUT_INVALID_FIELD
//   9. `updated_at`                 INPUT_MISSING_FIELD / INPUT_BAD_TIMESTAMP
//  10. fields the worker writes with (schema)  INPUT_INVALID_FIELD
// Messages never name the file: the caller prefixes it.
import { describeValue, quote, readDocument } from './schema.ts';
import { parseJson } from './json.ts';
import { normaliseSession } from './normalise.ts';
import { decodeDocument } from './decode.ts';
import { parseTimestamp } from './time.ts';
import type { InputProblem, InputWarning, ParseResult, SessionKind } from '../types.ts';

/** Default size limit for one metadata document: 5 MiB (the real files are about 5 to 16 KB). */
export const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;

export interface ParseOptions {
  /** documents larger than this many bytes are rejected (INPUT_TOO_LARGE); default 5 MiB */
  maxBytes?: number;
}

/** Parses one session metadata document. Never throws: failures come back as `problem`. */
export function parseSession(input: Uint8Array | string, opts: ParseOptions = {}): ParseResult {
  try {
    return parse(input, opts);
  } catch (err) {
    // a bug here must not take the worker down with it: report it against the document
    const why = err instanceof Error ? err.message : String(err);
    return { ok: false, problem: { code: 'INTERNAL', message: `the document could not be parsed because of an unexpected error: ${why}` } };
  }
}

function parse(input: Uint8Array | string, opts: ParseOptions): ParseResult {
  const maxBytes = typeof opts.maxBytes === 'number' && opts.maxBytes >= 0 ? opts.maxBytes : DEFAULT_MAX_BYTES;

  // 1 to 4
  const decoded = decodeDocument(input, maxBytes);
  if (!decoded.ok) return reject(decoded.problem);

  // 5
  const json = parseJson(decoded.text);
  if (!json.ok) return reject(json.problem);

  // 6
  const value = json.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return reject({
      code: 'INPUT_NOT_OBJECT',
      message: `the JSON is ${value === null ? 'null' : describeValue(value)}, not an object: a session metadata document is one JSON object`,
    });
  }
  const raw = value as Record<string, unknown>;
  // the encoding is about the whole document, which formatPath calls '(the document)'
  const warnings: InputWarning[] = decoded.warning ? [{ field: '(the document)', message: decoded.warning }] : [];

  // 7
  const id = readId(raw.id, warnings);
  if (typeof id !== 'number') return reject(id);

  // 8
  const kind = readKind(raw);
  if (typeof kind !== 'string') return reject(kind);

  // 9: updated_at orders the versions of a session (docs, "Identity and versions")
  const updated = raw.updated_at;
  if (updated === undefined || updated === null) {
    return reject({
      code: 'INPUT_MISSING_FIELD',
      field: 'updated_at',
      message: `updated_at is ${updated === null ? 'null' : 'missing'}: it orders the versions of a session, so a file without it cannot be used`,
    });
  }
  if (typeof updated !== 'string') {
    return reject({
      code: 'INPUT_BAD_TIMESTAMP',
      field: 'updated_at',
      message: `updated_at must be an ISO-8601 timestamp string such as 2026-03-23T13:12:51.000-07:00, found ${describeValue(updated)}`,
    });
  }
  const version = parseTimestamp(updated);
  if (!version.ok) {
    return reject({
      code: 'INPUT_BAD_TIMESTAMP',
      field: 'updated_at',
      message: `updated_at ${quote(updated)} cannot be parsed: ${version.reason}`,
    });
  }
  if (version.assumedUtc) warnings.push({ field: 'updated_at', message: `updated_at ${quote(updated)} has no UTC offset; read as UTC` });

  // 10
  const schema = readDocument(raw);
  if (!schema.ok) return reject({ code: 'INPUT_INVALID_FIELD', field: schema.field, message: schema.message });
  warnings.push(...schema.dropped);

  const session = normaliseSession(
    raw,
    schema.doc,
    { kind, id, key: sessionKey(kind, id), version: version.iso, versionMs: version.ms },
    warnings,
  );
  return { ok: true, session, warnings };
}

/** Docs: `id` (integer) is the key. A numeric string is read as the number, with a warning. */
function readId(v: unknown, warnings: InputWarning[]): number | InputProblem {
  if (v === undefined || v === null) {
    return {
      code: 'INPUT_MISSING_FIELD',
      field: 'id',
      message: `id is ${v === null ? 'null' : 'missing'}: a session metadata document carries its session id`,
    };
  }
  if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) return v;
  if (typeof v === 'string' && /^\s*\d+\s*$/.test(v)) {
    const n = Number(v);
    if (Number.isSafeInteger(n) && n > 0) {
      warnings.push({ field: 'id', message: `id was the string ${quote(v)}; read as the number ${n}` });
      return n;
    }
  }
  return { code: 'INPUT_INVALID_FIELD', field: 'id', message: `id must be a positive whole number, found ${describeValue(v)}` };
}

/** Docs: kind is `call` when `call_type` is present, `chat` when `chat_type` is; never both. */
function readKind(doc: Record<string, unknown>): SessionKind | InputProblem {
  const call = doc.call_type !== undefined && doc.call_type !== null;
  const chat = doc.chat_type !== undefined && doc.chat_type !== null;
  if (call && chat) {
    return {
      code: 'INPUT_INVALID_FIELD',
      field: 'call_type',
      message: `the document has both call_type (${describeValue(doc.call_type)}) and chat_type (${describeValue(doc.chat_type)}): a session is either a call or a chat`,
    };
  }
  if (call) return 'call';
  if (chat) return 'chat';
  const keys = Object.keys(doc);
  const shown = keys.slice(0, 8).join(', ') + (keys.length > 8 ? `, … (${keys.length} keys)` : '');
  return {
    code: 'INPUT_NOT_SESSION',
    message: `the JSON object has neither call_type nor chat_type, so it is not a CCAI Platform session metadata document (its keys: ${shown || 'none'})`,
  };
}

/** The identity of a session: calls and chats are numbered separately (`call-1418`, `chat-135`). */
export function sessionKey(kind: SessionKind, id: number): string {
  return `${kind}-${id}`;
}

/** Reads a session key such as `call-1418` (case-insensitive kind, surrounding spaces ignored). */
export function parseSessionKey(s: string): { kind: SessionKind; id: number } | null {
  const m = /^(call|chat)-(\d+)$/i.exec(s.trim());
  if (!m) return null;
  const id = Number(m[2]);
  if (!Number.isSafeInteger(id) || id <= 0) return null;
  return { kind: m[1]!.toLowerCase() as SessionKind, id };
}

function reject(problem: InputProblem): ParseResult {
  return { ok: false, problem };
}
