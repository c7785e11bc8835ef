// Formatting session values for the ticket: text hygiene (control characters, one-line
// values, http(s)-only links), times, durations, labels. Pure.
import type { AgentRef, TicketRef } from '../types.ts';

/** Values the file uses to say "nothing happened": not worth a line in a note. */
const MEANINGLESS = new Set(['no_deflection', 'not_voicemail', 'nothing', 'none', '']);

export const CSAT_SCALE = 5;

// ---------------------------------------------------------------------------------------
// Text hygiene

// C0 and C1 control characters except \t (\u0009) and \n (\u000A), and the Unicode
// bidirectional embedding/override/isolate controls, which can make a note display
// something other than what it contains.
const CONTROL_CHARS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;
/** Anything cleanText changes: CONTROL_CHARS (CR included), and U+2028/U+2029. Not global: test() keeps no state. */
const NEEDS_CLEANING = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028-\u202E\u2066-\u2069]/;

/**
 * User text made safe to store and render: CR LF, lone CR and the Unicode line/paragraph
 * separators become \n; every other control character is removed. Keeps \n and \t.
 */
export function cleanText(s: string): string {
  // Most text has nothing to clean: one scan to find out, instead of two replacing passes.
  if (!NEEDS_CLEANING.test(s)) return s;
  return s.replace(/\r\n?|[\u2028\u2029]/g, '\n').replace(CONTROL_CHARS, '');
}

/** cleanText, trimmed; null when nothing is left. */
export function text(s: string | null | undefined): string | null {
  if (s === null || s === undefined) return null;
  const t = cleanText(String(s)).trim();
  return t === '' ? null : t;
}

/** A single line: runs of whitespace (line breaks included) become one space. */
export function oneLine(s: string | null | undefined): string | null {
  const t = text(s);
  return t === null ? null : t.replace(/\s+/g, ' ');
}

export function lines(s: string): string[] {
  return s.split('\n').map((l) => l.trimEnd());
}

/** Only http(s) links are written: a `javascript:` or `data:` URL is never made clickable. */
export function httpUrl(s: string | null | undefined): string | null {
  const t = oneLine(s);
  if (t === null) return null;
  try {
    const u = new URL(t);
    return u.protocol === 'https:' || u.protocol === 'http:' ? t : null;
  } catch {
    return null;
  }
}

/** `after_hours_message_only` -> `after hours message only` */
export function humanise(code: string): string {
  return code.replace(/[_-]+/g, ' ').replace(/\s+/g, ' ').trim();
}

export function meaningful(code: string | null): string | null {
  const t = oneLine(code);
  return t === null || MEANINGLESS.has(t.toLowerCase()) ? null : t;
}

// ---------------------------------------------------------------------------------------
// Formatting

/** `2026-03-23T20:12:51.000Z` -> iso (UTC, milliseconds) and `2026-03-23 20:12:51 UTC` */
export function formatTime(iso: string | null): { iso: string; human: string } | null {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  const utc = new Date(ms).toISOString();
  return { iso: utc, human: `${utc.slice(0, 10)} ${utc.slice(11, 19)} UTC` };
}

/** 126 -> `2m 06s`; 27 -> `27s`; 3723 -> `1h 02m 03s` */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h ${pad(m)}m ${pad(sec)}s`;
  if (m > 0) return `${m}m ${pad(sec)}s`;
  return `${sec}s`;
}

export function duration(seconds: number | null): { seconds: number; human: string } | null {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return null;
  return { seconds, human: formatDuration(seconds) };
}

/** 4 -> `★★★★☆` on the 1–5 scale; null outside it. */
export function stars(rating: number): string | null {
  if (!Number.isInteger(rating) || rating < 1 || rating > CSAT_SCALE) return null;
  return '★'.repeat(rating) + '☆'.repeat(CSAT_SCALE - rating);
}

export function agentName(a: AgentRef | null): string | null {
  if (a === null) return null;
  const name = oneLine(a.name);
  if (name !== null) return name;
  return a.id !== null ? `${a.virtual ? 'virtual agent' : 'agent'} #${a.id}` : null;
}

export function menuLeaf(name: string): string {
  const parts = name.split('/').filter((p) => p.trim() !== '');
  return parts.length > 0 ? parts[parts.length - 1]!.trim() : name;
}

export const ANSWER_TYPE_LABELS: Record<string, string> = {
  manual: 'human agent',
  human: 'human agent',
  agent: 'human agent',
  virtual_agent: 'virtual agent',
  va: 'virtual agent',
};

export function answerTypeLabel(code: string): string {
  return ANSWER_TYPE_LABELS[code.toLowerCase()] ?? humanise(code);
}

/** `disconnected_by_end_user` -> `end user` */
export function disconnectedByLabel(code: string): string {
  return humanise(code.replace(/^disconnected_by_/i, ''));
}

export const SYSTEM_LABELS: Record<TicketRef['system'], string> = {
  salesforce: 'Salesforce',
  zendesk: 'Zendesk',
  freshdesk: 'Freshdesk',
  servicenow: 'ServiceNow',
  dynamics365: 'Dynamics 365',
  generic: 'CRM',
};
