// The Liquid filters that put a note into its reader's language and time: labels from the
// catalogs (`t`, `label`, `code`), times in the note's time zone (`time`, `clock`), durations,
// numbers and lists as `Intl` writes them in the note's locale. The language and zone of the
// note being rendered travel in the render's globals (NOTE_CONTEXT), so one parsed template
// serves every language.
import type { Context, Liquid } from 'liquidjs';
import { formatDuration as plainDuration, humanise } from '../domain/enrich/format.ts';
import type { NoteLanguage } from './i18n.ts';

/** What the filters need for one note; `note` in the templates shows its public part. */
export interface NoteContext {
  readonly language: NoteLanguage;
  /** an IANA zone (`America/Toronto`) or an offset (`-07:00`) for Intl */
  readonly timeZone: string;
  /** the zone as the note names it once: `America/Toronto`, `UTC-07:00`, `UTC` */
  readonly zoneLabel: string;
  /** the local date (yyyy-mm-dd) the session started on, for `clock` */
  readonly day: string | null;
  /**
   * `call` or `chat`: the i18next context of every `label` and `code`, so a catalog may word a
   * label for one kind (`handled_by_call` before `handled_by`: gender agrees with "la llamada")
   */
  readonly kind: string | null;
}

/** A fixed offset as Intl names it: `-07:00`. */
const OFFSET_ZONE = /^([+-])(\d{2}):(\d{2})$/;

/** What LiquidJS binds `this` to in a filter. */
interface FilterImpl {
  context: Context;
}

/** The key under which a render's globals carry its NoteContext; not reachable from a template. */
export const NOTE_CONTEXT: unique symbol = Symbol('note-context');

function noteContext(f: FilterImpl): NoteContext {
  const globals = f.context.globals as Record<PropertyKey, unknown>;
  const c = globals[NOTE_CONTEXT] as NoteContext | undefined;
  if (c === undefined) throw new Error('a note filter was used outside a note');
  return c;
}

/** `-420` -> `-07:00` (for Intl), `0` -> `+00:00` */
export function offsetZone(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const m = Math.abs(minutes);
  return `${sign}${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

/**
 * The zone a note is written in: NOTE_TIME_ZONE when set; else the offset the file's times
 * carry; else UTC.
 */
export function noteZone(configured: string | null, fileOffsetMinutes: number | null): { timeZone: string; zoneLabel: string } {
  if (configured !== null) {
    const zone = new Intl.DateTimeFormat('en', { timeZone: configured }).resolvedOptions().timeZone;
    return { timeZone: zone, zoneLabel: OFFSET_ZONE.test(zone) ? `UTC${zone}` : zone };
  }
  if (fileOffsetMinutes === null || fileOffsetMinutes === 0) return { timeZone: 'UTC', zoneLabel: 'UTC' };
  const zone = offsetZone(fileOffsetMinutes);
  return { timeZone: zone, zoneLabel: `UTC${zone}` };
}

/** True for a name Intl knows as a time zone (`Europe/Paris`, `UTC`, `-07:00`). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

// Intl formatters are costly to build and a worker renders thousands of notes in a handful of
// languages and zones: kept per (kind, locale, zone).
const formatters = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat | Intl.ListFormat | Intl.DurationFormat>();
function cached<T extends Intl.DateTimeFormat | Intl.NumberFormat | Intl.ListFormat | Intl.DurationFormat>(key: string, make: () => T): T {
  const known = formatters.get(key) as T | undefined;
  if (known !== undefined) return known;
  if (formatters.size > 500) formatters.clear();
  const made = make();
  formatters.set(key, made);
  return made;
}

function dateTimeFormat(locale: string, timeZone: string, style: 'full' | 'time' | 'day'): Intl.DateTimeFormat {
  return cached(`dt|${style}|${locale}|${timeZone}`, () => {
    if (style === 'day') return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    if (style === 'time') return new Intl.DateTimeFormat(locale, { timeZone, hour: 'numeric', minute: '2-digit', second: '2-digit' });
    return new Intl.DateTimeFormat(locale, { timeZone, dateStyle: 'medium', timeStyle: 'medium' });
  });
}

/** The instant of a view time (`{ iso, human }`) or an ISO string; null for anything else. */
function instant(value: unknown): Date | null {
  const iso = typeof value === 'string' ? value : typeof value === 'object' && value !== null && 'iso' in value ? (value as { iso: unknown }).iso : null;
  if (typeof iso !== 'string') return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : new Date(ms);
}

/** The local calendar day of an instant in a zone, `2026-03-23`. */
export function localDay(at: Date, timeZone: string): string {
  // a fixed offset (the file's own, the usual case) is arithmetic; a named zone asks Intl
  const m = OFFSET_ZONE.exec(timeZone);
  if (m !== null) {
    const minutes = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
    return new Date(at.getTime() + minutes * 60_000).toISOString().slice(0, 10);
  }
  if (timeZone === 'UTC') return at.toISOString().slice(0, 10);
  return dateTimeFormat('en-CA', timeZone, 'day').format(at);
}

// Intl.DurationFormat.format costs tens of microseconds a call and a note has several; the
// same few hundred durations (in seconds) recur across notes: kept per locale, bounded.
const durations = new Map<string, string>();
function formatDuration(locale: string, total: number): string {
  const key = `${locale}|${total}`;
  const known = durations.get(key);
  if (known !== undefined) return known;
  if (durations.size > 20_000) durations.clear();
  let text: string;
  if (total > LONGEST_DURATION_S) text = plainDuration(total);
  else if (total === 0) {
    // every unit zero: DurationFormat prints nothing unless told to show the seconds
    text = cached(`du0|${locale}`, () => new Intl.DurationFormat(locale, { style: 'short', secondsDisplay: 'always' })).format({ seconds: 0 });
  } else text = cached(`du|${locale}`, () => new Intl.DurationFormat(locale, { style: 'short' })).format(durationParts(total));
  durations.set(key, text);
  return text;
}

/** Longer than any session (ten years): written as plain h/m/s, past what Intl.DurationFormat takes. */
const LONGEST_DURATION_S = 315_360_000;

function seconds(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'object' && value !== null && 'seconds' in value ? (value as { seconds: unknown }).seconds : null;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : null;
}

/** 126 s -> `{ minutes: 2, seconds: 6 }` */
function durationParts(total: number): Intl.DurationInput {
  const s = Math.round(total);
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const secs = s % 60;
  const parts: Intl.DurationInput = {};
  if (hours > 0) parts.hours = hours;
  if (minutes > 0) parts.minutes = minutes;
  if (secs > 0 || (hours === 0 && minutes === 0)) parts.seconds = secs;
  return parts;
}

/** Named arguments of a filter (`| t: count: 2`) arrive as [name, value] pairs. */
function namedArgs(args: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of args) if (Array.isArray(a) && a.length === 2 && typeof a[0] === 'string') out[a[0]] = a[1];
  return out;
}

/** Registers the note filters on an engine. */
export function registerNoteFilters(engine: Liquid): void {
  /** `{{ "top.agent_note" | t }}`, `{{ "chat.messages" | t: count: chat.messages }}` */
  engine.registerFilter('t', function (this: FilterImpl, key: unknown, ...args: unknown[]) {
    return noteContext(this).language.t(String(key), namedArgs(args) as Record<string, string>) as string;
  });
  /** `{{ "rating" | label }}`: the label `label.rating` followed by the language's colon (`: `, ` : `) */
  engine.registerFilter('label', function (this: FilterImpl, key: unknown) {
    const c = noteContext(this);
    const { t } = c.language;
    return `${t(`label.${String(key)}`, c.kind === null ? {} : { context: c.kind })}${t('punctuation.colon')}`;
  });
  /** `{{ outcome.disconnected_by | code: "disconnected_by" }}`: a code in words, the code itself (readable) when the catalog has none */
  engine.registerFilter('code', function (this: FilterImpl, value: unknown, field: unknown) {
    if (value === null || value === undefined || value === '') return '';
    const code = String(value);
    const key = `code.${String(field)}.${code.toLowerCase().replace(/[^a-z0-9_]+/g, '_')}`;
    const c = noteContext(this);
    // the file's own text never goes through i18next (it would read `{{…}}` and `$t(…)` in it):
    // a code the catalog does not know comes back as its key, and is written readable here
    const words = c.language.t(key, c.kind === null ? {} : { context: c.kind }) as string;
    return words === key ? humanise(code) : words;
  });
  /** `{{ times.created | time }}`: date and time in the note's zone and locale */
  engine.registerFilter('time', function (this: FilterImpl, value: unknown) {
    const at = instant(value);
    if (at === null) return '';
    const c = noteContext(this);
    return dateTimeFormat(c.language.locale, c.timeZone, 'full').format(at);
  });
  /** `{{ times.ended | clock }}`: the time only when it falls on the day the session started, else date and time */
  engine.registerFilter('clock', function (this: FilterImpl, value: unknown) {
    const at = instant(value);
    if (at === null) return '';
    const c = noteContext(this);
    const sameDay = c.day !== null && localDay(at, c.timeZone) === c.day;
    return dateTimeFormat(c.language.locale, c.timeZone, sameDay ? 'time' : 'full').format(at);
  });
  /** `{{ durations.talk | duration }}`: `2 min, 6 sec`, `2 min et 6 s` */
  engine.registerFilter('duration', function (this: FilterImpl, value: unknown) {
    const s = seconds(value);
    if (s === null) return '';
    return formatDuration(noteContext(this).language.locale, Math.round(s));
  });
  /** `{{ participants.total | number }}` */
  engine.registerFilter('number', function (this: FilterImpl, value: unknown) {
    if (typeof value !== 'number' || !Number.isFinite(value)) return value === null || value === undefined ? '' : String(value);
    const { locale } = noteContext(this).language;
    return cached(`nu|${locale}`, () => new Intl.NumberFormat(locale)).format(value);
  });
  /** `{{ names | list }}`: `a, b and c` as the language writes it */
  engine.registerFilter('list', function (this: FilterImpl, value: unknown) {
    if (!Array.isArray(value)) return value === null || value === undefined ? '' : String(value);
    const { locale } = noteContext(this).language;
    return cached(`li|${locale}`, () => new Intl.ListFormat(locale, { type: 'conjunction' })).format(value.map(String));
  });
}
