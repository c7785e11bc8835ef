// Loading the admin-editable note templates (templates/*.liquid) and rendering an Enrichment
// through them. Templates are parsed once at load time, so a broken template stops the worker
// at start-up with the file and line, not on the first session.
//
// Safety (docs: "Templates live in `templates/` as files an admin can edit; rendering escapes
// by default"):
//   - data is never evaluated as a template: values are substituted, never re-parsed, so an
//     agent note containing `{{ 7*7 }}` or `{% include '/etc/passwd' %}` prints literally;
//   - before rendering, control characters other than \n and \t are removed from every string;
//   - the HTML engine escapes every output (`outputEscape: 'escape'`); only `| raw` opts out;
//   - the subject is forced onto one line of at most 200 characters (an e-mail header later);
//   - templates can include/render other templates from their own folder only (`root`,
//     `partials` and `layouts` are the folder, relative references are off, and LiquidJS'
//     file system checks the real path is inside it, so `../` and symlinks cannot escape);
//   - unknown filters are errors (`strictFilters`), only own properties of the data are
//     readable (`ownPropertyOnly`), and parse size, render time and memory are bounded.
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Liquid } from 'liquidjs';
import type { LiquidOptions, Template } from 'liquidjs';
import { codePointLength, cutText, NOTE_TEXT_MAX_CHARS } from '../domain/text-cut.ts';
import type { Enrichment, InputWarning, RenderedNote } from '../domain/types.ts';
import { SyncError } from '../errors.ts';
import { catalogFor, chooseLanguage, compileCatalogs, readCatalogs } from './i18n.ts';
import type { CatalogSources, Catalogs } from './i18n.ts';
import { localDay, NOTE_CONTEXT, noteZone, registerNoteFilters } from './note-format.ts';
import type { NoteContext } from './note-format.ts';
import { escapeHtml, sanitiseData, tidyText, toSubjectLine } from './sanitise.ts';

/** The repository's `templates/` folder (the defaults shipped with the package). */
export const DEFAULT_TEMPLATES_DIR = resolve(fileURLToPath(new URL('../../templates/', import.meta.url)));

/** The three files every templates folder must hold. */
export const TEMPLATE_FILES = {
  subject: 'subject.liquid',
  text: 'note.txt.liquid',
  html: 'note.html.liquid',
} as const;

type Part = keyof typeof TEMPLATE_FILES;

interface CompiledTemplate {
  readonly file: string;
  readonly engine: Liquid;
  readonly parsed: Template[];
}

/** The text of the three templates and of the label catalogs, as read. */
export type TemplateSources = Record<Part, string> & { catalogs: CatalogSources };

/** The admin's choices for every note: NOTE_LANGUAGE and NOTE_TIME_ZONE (null: the file's). */
export interface NoteSettings {
  /** a language tag with a catalog: every note in it, whatever the session's `lang` */
  readonly language: string | null;
  /** an IANA zone for every time on a note; null: the offset the file carries */
  readonly timeZone: string | null;
}

export const DEFAULT_NOTE_SETTINGS: NoteSettings = Object.freeze({ language: null, timeZone: null });

/** Parsed templates, ready to render. Create with loadTemplates(). */
export interface NoteTemplates {
  /** absolute path of the folder the templates came from */
  readonly dir: string;
  /** their text (job threads compile the same text rather than read the folder again) */
  readonly sources: TemplateSources;
  readonly subject: CompiledTemplate;
  readonly text: CompiledTemplate;
  readonly html: CompiledTemplate;
  readonly catalogs: Catalogs;
  readonly settings: NoteSettings;
}

// Bounds against a template (or data) that would hang or exhaust the worker.
const PARSE_LIMIT_CHARS = 1_000_000;
const RENDER_LIMIT_MS = 5_000;
const MEMORY_LIMIT = 64_000_000;

/** A LiquidJS engine with the limits above, reading templates from `dir` only; `escapeHtml` escapes every output. */
export function createEngine(dir: string, escapeHtml: boolean): Liquid {
  const options: LiquidOptions = {
    root: [dir],
    partials: [dir],
    layouts: [dir],
    relativeReference: false,
    extname: '.liquid',
    cache: true,
    strictFilters: true,
    strictVariables: false,
    ownPropertyOnly: true,
    jsTruthy: false,
    // the `date` filter works in UTC, like every time in the view
    timezoneOffset: 0,
    parseLimit: PARSE_LIMIT_CHARS,
    renderLimit: RENDER_LIMIT_MS,
    memoryLimit: MEMORY_LIMIT,
  };
  if (escapeHtml) options.outputEscape = 'escape';
  const engine = new Liquid(options);
  registerNoteFilters(engine);
  return engine;
}

async function readTemplate(dir: string, file: string): Promise<string> {
  try {
    const source = await readFile(join(dir, file), 'utf8');
    return source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'is missing' : `cannot be read (${code ?? String(err)})`;
    throw new SyncError(
      'CONFIG_INVALID',
      `template ${file} ${why} in ${dir}: a templates folder needs ${Object.values(TEMPLATE_FILES).join(', ')}`,
      { cause: err },
    );
  }
}

function compile(engine: Liquid, dir: string, file: string, source: string): CompiledTemplate {
  const path = join(dir, file);
  try {
    return { file, engine, parsed: engine.parse(source, path) };
  } catch (err) {
    // LiquidJS messages carry the position, e.g. `tag "iff" not found, file:…, line:3, col:1`
    const message = err instanceof Error ? err.message : String(err);
    throw new SyncError('CONFIG_INVALID', `template ${file} is broken (${path}): ${message}`, { cause: err });
  }
}

/**
 * Reads and parses subject.liquid, note.txt.liquid and note.html.liquid from `dir`.
 * Throws SyncError CONFIG_INVALID naming the file (and the Liquid error with its line) when a
 * template is missing or does not parse.
 */
export async function loadTemplates(dir: string = DEFAULT_TEMPLATES_DIR, settings: NoteSettings = DEFAULT_NOTE_SETTINGS): Promise<NoteTemplates> {
  const root = resolve(dir);
  let isDir = false;
  try {
    isDir = (await stat(root)).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new SyncError('CONFIG_INVALID', `templates folder ${root} does not exist or is not a folder`);

  const [subject, text, html, catalogs] = await Promise.all([
    readTemplate(root, TEMPLATE_FILES.subject),
    readTemplate(root, TEMPLATE_FILES.text),
    readTemplate(root, TEMPLATE_FILES.html),
    readCatalogs(root, DEFAULT_TEMPLATES_DIR),
  ]);
  return compileTemplates(root, { subject, text, html, catalogs }, settings);
}

/**
 * Parses templates and catalogs already read from the folder `dir` (which still serves their
 * includes). Throws CONFIG_INVALID for NOTE_LANGUAGE without a catalog.
 */
export function compileTemplates(dir: string, sources: TemplateSources, settings: NoteSettings = DEFAULT_NOTE_SETTINGS): NoteTemplates {
  const catalogs = compileCatalogs(sources.catalogs);
  if (settings.language !== null && catalogFor(catalogs, settings.language) === null) {
    throw new SyncError(
      'CONFIG_INVALID',
      `NOTE_LANGUAGE=${settings.language} has no label catalog in ${catalogs.folder} (there are: ${catalogs.languages.join(', ')}); add ${settings.language}.json there or choose one of those`,
    );
  }
  const textEngine = createEngine(dir, false);
  const htmlEngine = createEngine(dir, true);
  return {
    dir,
    sources,
    subject: compile(textEngine, dir, TEMPLATE_FILES.subject, sources.subject),
    text: compile(textEngine, dir, TEMPLATE_FILES.text, sources.text),
    html: compile(htmlEngine, dir, TEMPLATE_FILES.html, sources.html),
    catalogs,
    settings,
  };
}

/**
 * The language and zone of one note, and what templates see of them as `note`:
 * `note.language` (the catalog, `fr`), `note.locale` (`fr-CA`), `note.time_zone`
 * (`America/Toronto`, `UTC-07:00`).
 */
export function noteGlobals(t: NoteTemplates, view: Record<string, unknown>): Record<PropertyKey, unknown> {
  const session = (view['session'] ?? {}) as { lang?: unknown; utc_offset_minutes?: unknown; kind?: unknown };
  const times = (view['times'] ?? {}) as Record<string, { iso?: unknown } | undefined>;
  const language = chooseLanguage(t.catalogs, typeof session.lang === 'string' ? session.lang : null, t.settings.language);
  const zone = noteZone(t.settings.timeZone, typeof session.utc_offset_minutes === 'number' ? session.utc_offset_minutes : null);
  const start = times['created']?.iso ?? times['updated']?.iso;
  const startMs = typeof start === 'string' ? Date.parse(start) : Number.NaN;
  const context: NoteContext = {
    language,
    timeZone: zone.timeZone,
    zoneLabel: zone.zoneLabel,
    day: Number.isNaN(startMs) ? null : localDay(new Date(startMs), zone.timeZone),
    kind: typeof session.kind === 'string' ? session.kind : null,
  };
  return {
    note: { language: language.catalog, locale: language.locale, time_zone: zone.zoneLabel },
    [NOTE_CONTEXT]: context,
  };
}

/**
 * The data a template sees: the enrichment's view at the top level plus `fields`, copied with
 * control characters removed from every string.
 */
export function templateScope(e: Enrichment): Record<string, unknown> {
  const view = sanitiseData(e.view) as Record<string, unknown>;
  return { ...view, fields: sanitiseData(e.fields) };
}

function renderPart(t: NoteTemplates, part: Part, scope: Record<string, unknown>, globals: Record<PropertyKey, unknown>): string {
  const c = t[part];
  try {
    return String(c.engine.renderSync(c.parsed, scope, { globals }));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new SyncError('CONFIG_INVALID', `template ${c.file} failed to render (${join(t.dir, c.file)}): ${message}`, {
      cause: err,
    });
  }
}

/**
 * Renders the note for one enrichment. Synchronous (templates are parsed already); callers
 * may `await` it. Throws SyncError CONFIG_INVALID naming the template when rendering fails.
 */
/**
 * Renders the note. `html: false` skips the HTML part (it comes back empty) for targets that
 * only write text, such as Salesforce Tasks: rendering is most of a job's CPU time.
 */
/**
 * The note within its size limits: the text cut at NOTE_TEXT_MAX_CHARS with the visible marker;
 * an HTML part over twice that is replaced by the cut text, escaped, in a <pre> (HTML cannot be
 * cut just anywhere). Each piece of agent text is limited already; this holds a note with
 * hundreds of legs, or an edited template that repeats something, to a size a ticket takes.
 */
export function fitNote(note: RenderedNote): { note: RenderedNote; warnings: InputWarning[] } {
  const warnings: InputWarning[] = [];
  let { text, html } = note;
  const cut = cutText(text, NOTE_TEXT_MAX_CHARS);
  if (cut.removed > 0) {
    text = cut.text;
    warnings.push({ field: 'note.text', message: `the note's text is ${codePointLength(note.text).toLocaleString('en-US')} characters long; cut to ${NOTE_TEXT_MAX_CHARS.toLocaleString('en-US')} (the limit for a note), ${cut.removed.toLocaleString('en-US')} left out` });
  }
  if (html.length > 2 * NOTE_TEXT_MAX_CHARS) {
    warnings.push({ field: 'note.html', message: `the note's HTML is ${html.length.toLocaleString('en-US')} characters long, over ${(2 * NOTE_TEXT_MAX_CHARS).toLocaleString('en-US')}; the text part, escaped, stands in for it` });
    html = `<pre style="white-space:pre-wrap">${escapeHtml(text)}</pre>\n`;
  }
  return { note: { subject: note.subject, text, html }, warnings };
}

export function renderNote(t: NoteTemplates, e: Enrichment, opts: { html?: boolean } = {}): RenderedNote {
  const scope = templateScope(e);
  const globals = noteGlobals(t, scope);
  return {
    subject: toSubjectLine(renderPart(t, 'subject', scope, globals)),
    text: tidyText(renderPart(t, 'text', scope, globals)),
    html: opts.html === false ? '' : renderPart(t, 'html', scope, globals).trim() + '\n',
  };
}
