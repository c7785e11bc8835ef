// The note's language: the label catalogs (templates/locales/<language>.json, one file per
// language, editable by an admin) read with i18next, and the choice of language for one
// session (`NOTE_LANGUAGE`, else the file's `lang`, along `fr-CA` -> `fr` -> `en`).
//
// A catalog is JSON: nested objects of strings. i18next gives the lookups, the fallback to
// English for a label a catalog lacks, `{{name}}` interpolation and plurals by the language's
// own rules (`_one`, `_other`, `_many` ... from Intl.PluralRules). Values are plain text: the
// HTML template escapes them like any other output, so a catalog cannot inject markup.
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import i18next from 'i18next';
import type { i18n, TFunction } from 'i18next';
import { SyncError } from '../errors.ts';

/** The folder inside a templates folder that holds the catalogs. */
export const CATALOG_FOLDER = 'locales';
/** The language every other one falls back to; its catalog must exist. */
export const BASE_LANGUAGE = 'en';

/** The catalogs as read: their folder, and the text of each by language (`fr` from `fr.json`). */
export interface CatalogSources {
  readonly folder: string;
  readonly files: Readonly<Record<string, string>>;
}

export interface Catalogs {
  readonly i18n: i18n;
  /** the languages a catalog exists for, sorted */
  readonly languages: readonly string[];
  /** what is wrong but tolerated: labels a catalog lacks (English is used for them) */
  readonly notices: readonly string[];
  /** the folder they were read from */
  readonly folder: string;
  /** a remembering `t` per locale (see memoised) */
  readonly memo: Map<string, TFunction>;
}

/** The language a note is written in: the catalog's and the locale `Intl` formats with. */
export interface NoteLanguage {
  /** the catalog used (`fr`) */
  readonly catalog: string;
  /** the locale for dates, numbers and plurals (`fr-CA`), the session's when its catalog exists */
  readonly locale: string;
  readonly t: TFunction;
}

const LANGUAGE_FILE = /^([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\.json$/;

/**
 * Reads every `locales/<language>.json` of a templates folder. A folder without `locales/` (a
 * copy made before the note spoke other languages) uses `fallbackDir`'s, the shipped ones.
 */
export async function readCatalogs(dir: string, fallbackDir: string): Promise<CatalogSources> {
  let folder = join(dir, CATALOG_FOLDER);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && dir !== fallbackDir) return readCatalogs(fallbackDir, fallbackDir);
    const why = code === 'ENOENT' ? 'is missing' : `cannot be read (${code ?? String(err)})`;
    throw new SyncError('CONFIG_INVALID', `the label catalogs folder ${folder} ${why}: a templates folder needs ${CATALOG_FOLDER}/${BASE_LANGUAGE}.json at least`, { cause: err });
  }
  const files: Record<string, string> = {};
  for (const name of names.sort()) {
    const m = LANGUAGE_FILE.exec(name);
    if (m === null) continue;
    const source = await readFile(join(folder, name), 'utf8');
    files[canonical(m[1]!) ?? m[1]!] = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  }
  folder = resolve(folder);
  return { folder, files };
}

/**
 * `fr_ca` -> `fr-CA`; null when it is not a language tag. Only language, script and region are
 * kept: a file's `-u-ca-islamic-nu-arab` or `-x-…` would change the calendar and digits of a
 * note, and make every session a locale of its own.
 */
export function canonical(tag: string): string | null {
  try {
    const first = Intl.getCanonicalLocales(tag.trim().replace(/_/g, '-'))[0];
    return first === undefined ? null : new Intl.Locale(first).baseName;
  } catch {
    return null;
  }
}

/** Line and column of a character position, both from 1. */
function lineColumn(source: string, position: number): string {
  const before = source.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

type Tree = { [key: string]: string | Tree };

/** Checks one parsed catalog: objects of strings, `{{ }}` balanced. Returns the problems. */
function checkTree(value: unknown, path: string, problems: string[]): value is Tree {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${path || 'the file'} must be an object of labels`);
    return false;
  }
  for (const [key, v] of Object.entries(value)) {
    const at = path === '' ? key : `${path}.${key}`;
    if (typeof v === 'string') {
      const opens = v.split('{{').length - 1;
      const closes = v.split('}}').length - 1;
      if (opens !== closes) problems.push(`${at} has ${opens} "{{" but ${closes} "}}": write a value as {{name}}`);
    } else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      checkTree(v, at, problems);
    } else {
      problems.push(`${at} must be text (or an object of labels), not ${v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v}`);
    }
  }
  return true;
}

function keysOf(tree: Tree, prefix = '', out: string[] = []): string[] {
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (typeof v === 'string') out.push(key.replace(/_(zero|one|two|few|many|other)$/, ''));
    else keysOf(v, key, out);
  }
  return out;
}

function formatValue(value: unknown, _format: string | undefined, lng: string | undefined): unknown {
  if (typeof value !== 'number' || !Number.isFinite(value)) return value;
  try {
    return new Intl.NumberFormat(lng ?? BASE_LANGUAGE).format(value);
  } catch {
    return String(value);
  }
}

/**
 * Parses the catalogs as read into one i18next instance. Throws SyncError
 * CONFIG_INVALID naming the file and the line for a catalog that is not JSON or not labels.
 */
export function compileCatalogs(sources: CatalogSources): Catalogs {
  const { folder } = sources;
  if (sources.files[BASE_LANGUAGE] === undefined) {
    throw new SyncError('CONFIG_INVALID', `the label catalog ${join(folder, `${BASE_LANGUAGE}.json`)} is missing: every other language falls back to it`);
  }
  const resources: Record<string, { translation: Tree }> = {};
  for (const [language, source] of Object.entries(sources.files)) {
    const file = join(folder, `${language}.json`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(source);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const position = /position (\d+)/.exec(message);
      const where = position === null ? '' : ` (${lineColumn(source, Number(position[1]))})`;
      throw new SyncError('CONFIG_INVALID', `label catalog ${language}.json is not valid JSON (${file})${where}: ${message}`, { cause: err });
    }
    const problems: string[] = [];
    if (!checkTree(parsed, '', problems) || problems.length > 0) {
      throw new SyncError('CONFIG_INVALID', `label catalog ${language}.json is broken (${file}): ${problems.slice(0, 5).join('; ')}`);
    }
    resources[language] = { translation: parsed };
  }

  const base = new Set(keysOf(resources[BASE_LANGUAGE]!.translation));
  const notices: string[] = [];
  for (const [language, r] of Object.entries(resources)) {
    if (language === BASE_LANGUAGE) continue;
    const have = new Set(keysOf(r.translation));
    const missing = [...base].filter((k) => !have.has(k));
    if (missing.length > 0) {
      notices.push(`label catalog ${language}.json lacks ${missing.length} label(s) that ${BASE_LANGUAGE}.json has (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}); the ${BASE_LANGUAGE} text is used for them`);
    }
  }

  const instance = i18next.createInstance();
  void instance.init({
    resources,
    lng: BASE_LANGUAGE,
    fallbackLng: BASE_LANGUAGE,
    initAsync: false,
    // catalog values and the values put into them are plain text; the HTML engine escapes
    // the result once, on output. Numbers (`{{count}}`) are written as the language writes
    // them: 1,000,000 / 1 000 000 / 1.000.000.
    interpolation: { escapeValue: false, alwaysFormat: true, format: formatValue },
    returnNull: false,
    returnEmptyString: false,
    keySeparator: '.',
    nsSeparator: false,
    showSupportNotice: false,
  } as Parameters<i18n['init']>[0]);
  return { i18n: instance, languages: Object.keys(resources).sort(), notices, folder, memo: new Map() };
}

/**
 * The language for one note: `forced` (NOTE_LANGUAGE) when set, else the session's `lang`,
 * along `fr-CA` -> `fr` -> `en`. The locale keeps the session's region (`fr-CA` formats dates
 * as Quebec does) when the catalog is its language's.
 */
export function chooseLanguage(catalogs: Catalogs, sessionLang: string | null, forced: string | null): NoteLanguage {
  const wanted = canonical(forced ?? sessionLang ?? BASE_LANGUAGE) ?? BASE_LANGUAGE;
  const catalog = catalogFor(catalogs, wanted);
  const locale = catalog === null ? BASE_LANGUAGE : wanted;
  // i18next looks a label up along the same chain: fr-CA, fr, then en
  return { catalog: catalog ?? BASE_LANGUAGE, locale, t: memoised(catalogs, locale) };
}

/** The options of one lookup as a key: each value with its type, so `undefined`, NaN and null stay apart. */
function memoKey(options: Record<string, unknown>): string {
  return Object.keys(options)
    .sort()
    .map((k) => {
      const v = options[k];
      return `${k}\u0001${typeof v}\u0001${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`;
    })
    .join('\u0002');
}

/**
 * i18next's `t` for a locale, remembering its answers: a lookup walks the fallback chain,
 * plural and context suffixes and interpolation (about 20 µs), and a note makes dozens, mostly
 * the same labels with the same values. Bounded per locale.
 */
function memoised(catalogs: Catalogs, locale: string): TFunction {
  let entry = catalogs.memo.get(locale);
  if (entry === undefined) {
    // one per locale a file named (`fr-CA`, `fr-BE`, …): a few dozen at most in real use
    if (catalogs.memo.size >= 200) catalogs.memo.clear();
    const fixed = catalogs.i18n.getFixedT(locale);
    const answers = new Map<string, string>();
    const t = ((key: string, options?: Record<string, unknown>) => {
      const id = options === undefined ? key : `${key}\u0000${memoKey(options)}`;
      const known = answers.get(id);
      if (known !== undefined) return known;
      if (answers.size > 5_000) answers.clear();
      const answer = String(options === undefined ? fixed(key) : fixed(key, options));
      answers.set(id, answer);
      return answer;
    }) as unknown as TFunction;
    entry = t;
    catalogs.memo.set(locale, entry);
  }
  return entry;
}

/** The catalog for a language tag, its own or its language's (`fr-CA` -> `fr`); null when none. */
export function catalogFor(catalogs: Catalogs, tag: string): string | null {
  const parts = (canonical(tag) ?? tag).split('-');
  for (let n = parts.length; n > 0; n--) {
    const candidate = parts.slice(0, n).join('-');
    if (catalogs.languages.includes(candidate)) return candidate;
  }
  return null;
}
