// `show <ticket> --html`: the local CRM record as one standalone HTML page, rendered from the
// admin-editable templates/record.html.liquid. An admin saves it and opens it in a browser,
// so everything on it came from session files and must stay text:
//   - a LiquidJS template with `outputEscape: 'escape'` (the engine the HTML note uses), so
//     every `{{ … }}` goes through one escape function (& < > " ') without anyone having to
//     remember it; the page's layout stays editable like the notes' (a template rather than
//     string building in code, where one forgotten escape call would be a hole);
//   - the note body is the note's plain text, escaped, not its stored HTML. The stored HTML
//     was rendered by our escaping template, but a record may come from an older version or
//     from an admin's edited template that uses `raw`, and making HTML safe would take an
//     allow-list sanitiser built on a real HTML parser (regex "sanitisers" are the classic
//     bypass, and we add no dependency for this). The text note carries the same content;
//   - only data the page needs is passed in, control characters removed (sanitiseData);
//   - a link is made only from an http(s) address: `href` is absent otherwise;
//   - the template's Content-Security-Policy forbids script and every fetch, in case
//     something gets through anyway (an edited template using `raw`).
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { LocalRecord } from '../targets/local/local-crm.ts';
import { httpUrl } from '../domain/enrich/format.ts';
import { SyncError } from '../errors.ts';
import { createEngine, DEFAULT_TEMPLATES_DIR } from './templates.ts';
import { sanitiseData } from './sanitise.ts';

export const RECORD_PAGE_FILE = 'record.html.liquid';


/** What record.html.liquid sees (documented in templates/README.md). */
export function recordPageScope(rec: LocalRecord): Record<string, unknown> {
  const href = httpUrl(rec.url);
  const scope = {
    ticket: {
      id: rec.ticketId,
      system: rec.system,
      ...(rec.object !== null ? { object: rec.object } : {}),
      ...(rec.url !== null ? { url: rec.url } : {}),
      ...(href !== null ? { href } : {}),
    },
    created_at: rec.createdAt,
    updated_at: rec.updatedAt,
    // Like the text output: only fields with a value. Numbers and booleans as text, so the
    // template prints `0` and `false` as they are.
    fields: Object.entries(rec.fields)
      .filter(([, v]) => v !== null && v !== '')
      .map(([key, value]) => ({ key, value: String(value) })),
    sessions: rec.sessions.map((s) => ({ key: s.sessionKey, version: s.version })),
    notes: rec.notes.map((n) => ({
      session_key: n.sessionKey,
      version: n.version,
      subject: n.subject,
      text: n.text,
      created_at: n.createdAt,
    })),
  };
  return sanitiseData(scope) as Record<string, unknown>;
}

/**
 * The folder record.html.liquid is read from: TEMPLATES_DIR when it has one, else the shipped
 * default, so a copy of the templates folder made before this page existed keeps working.
 */
async function pageDir(templatesDir: string): Promise<string> {
  const dir = resolve(templatesDir);
  try {
    await access(join(dir, RECORD_PAGE_FILE));
    return dir;
  } catch {
    return DEFAULT_TEMPLATES_DIR;
  }
}

/** The record as one complete HTML document. Throws CONFIG_INVALID naming a broken template. */
export async function renderRecordPage(rec: LocalRecord, templatesDir: string = DEFAULT_TEMPLATES_DIR): Promise<string> {
  const dir = await pageDir(templatesDir);
  const path = join(dir, RECORD_PAGE_FILE);
  const engine = createEngine(dir, true);
  try {
    const html = String(await engine.renderFile(RECORD_PAGE_FILE, recordPageScope(rec)));
    return html.trim() + '\n';
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new SyncError('CONFIG_INVALID', `template ${RECORD_PAGE_FILE} failed (${path}): ${message}`, { cause: err });
  }
}
