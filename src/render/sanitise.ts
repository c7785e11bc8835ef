// Making data and output safe around template rendering. Every string in the data a template
// sees is user text (agent notes, customer comments, labels from the file): before rendering
// it is copied with control characters removed, and after rendering the subject is forced
// onto one line so it can be used as an e-mail header.
import { cleanText } from '../domain/enrich/format.ts';

/** Maximum length of a rendered subject, in characters. */
export const SUBJECT_MAX_CHARS = 200;

/** Nesting deeper than this is not data the templates need; it is dropped. */
const MAX_DEPTH = 12;

/**
 * A deep copy of plain data (objects, arrays, strings, numbers, booleans, null) with control
 * characters other than \n and \t removed from every string, object keys included. Anything
 * else (functions, class instances, symbols) is dropped, so a template can only ever read
 * inert data. Templates read own properties only
 * (`ownPropertyOnly`), so nothing inherited is reachable.
 */
export function sanitiseData(value: unknown, depth = 0): unknown {
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
      return cleanText(value);
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'boolean':
      return value;
    case 'object':
      break;
    default:
      return undefined;
  }
  if (depth >= MAX_DEPTH) return undefined;
  if (Array.isArray(value)) {
    return value.map((v) => sanitiseData(v, depth + 1)).filter((v) => v !== undefined);
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const out: Record<string, unknown> = {};
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    const clean = sanitiseData((value as Record<string, unknown>)[k], depth + 1);
    if (clean === undefined) continue;
    const key = cleanText(k);
    // A key named `__proto__` stays a plain key, never a prototype (defineProperty). Every
    // other key is a plain assignment: the same own, enumerable, writable property, and the
    // object keeps V8's fast properties (defineProperty on each key made it a slow dictionary,
    // which every template lookup paid for).
    if (key === '__proto__') Object.defineProperty(out, key, { value: clean, enumerable: true, writable: true, configurable: true });
    else out[key] = clean;
  }
  return out;
}

/**
 * A subject usable as an e-mail header: one line (CR, LF, tabs and every other whitespace run
 * become one space), no control characters, trimmed, at most SUBJECT_MAX_CHARS characters
 * (cut with `…`, never inside a surrogate pair).
 */
export function toSubjectLine(s: string, max = SUBJECT_MAX_CHARS): string {
  const line = cleanText(s).replace(/\s+/g, ' ').trim();
  const chars = Array.from(line);
  if (chars.length <= max) return line;
  return chars.slice(0, max - 1).join('').trimEnd() + '…';
}

/**
 * Plain text tidied after rendering, so templates can be written readably: \n line endings,
 * no trailing spaces, at most one blank line in a row, no leading/trailing blank lines.
 */
export function tidyText(s: string): string {
  const body = s
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/^\n+|\n+$/g, '');
  return body === '' ? '' : body + '\n';
}

/** Text for HTML: the five characters that can end text or an attribute, as entities. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
