// The note examples: the real sample call (call-1418) and chat (chat-135) rendered through the
// shipped templates in each shipped language. test/fixtures/notes/<language>/<session>.txt
// holds the reviewed text of each (subject, blank line, text note); scripts/note-examples.ts
// writes them again after a deliberate change, for review; test/unit/note-examples.test.ts
// compares.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { enrich } from '../../src/domain/enrich/enrich.ts';
import { parseSession } from '../../src/domain/session/parse.ts';
import { matchTicket } from '../../src/domain/ticket/match.ts';
import type { RenderedNote } from '../../src/domain/types.ts';
import { DEFAULT_TEMPLATES_DIR, loadTemplates, renderNote } from '../../src/render/templates.ts';
import { ROOT } from './env.ts';

/** Each shipped catalog, and the `lang` a session in it carries (CCAI writes `pt-BR`). */
export const NOTE_LANGUAGES = { en: 'en', fr: 'fr', es: 'es', de: 'de', pt: 'pt-BR' } as const;
export type NoteLanguage = keyof typeof NOTE_LANGUAGES;
export const NOTE_EXAMPLES_DIR = join(ROOT, 'test/fixtures/notes');

/**
 * The samples. chat-135 has no CRM record (its out_ticket_url is a media download): its example
 * puts it on the Case call-1418 belongs to, to show a chat note as a ticket would.
 */
export const NOTE_SAMPLES = {
  'call-1418': { file: 'test/fixtures/sessions/metadata_call-1418.json', ticket: null },
  'chat-135': {
    file: 'test/fixtures/sessions/metadata_chat-135.json',
    ticket: { id: '500ak000024vx4uAAA', url: 'https://crm.example.com/lightning/r/Case/500ak000024vx4uAAA/view' },
  },
} as const;

export type NoteSample = keyof typeof NOTE_SAMPLES;

/**
 * One sample's note in one language, as the worker writes it for a session whose file says
 * `lang` (no NOTE_LANGUAGE), times in the file's own offset.
 */
export async function renderExample(language: NoteLanguage, sample: NoteSample, timeZone: string | null = null): Promise<RenderedNote> {
  const { file, ticket } = NOTE_SAMPLES[sample];
  const parsed = parseSession(readFileSync(join(ROOT, file)));
  if (!parsed.ok) throw new Error(`${file}: ${parsed.problem.message}`);
  const session = parsed.session;
  session.lang = NOTE_LANGUAGES[language];
  if (ticket !== null) session.ticket = { id: ticket.id, url: ticket.url, isAccount: false };
  const match = matchTicket(session.ticket, { allowedHosts: [] });
  if (match.outcome !== 'matched') throw new Error(`${file}: no ticket`);
  const templates = await loadTemplates(DEFAULT_TEMPLATES_DIR, { language: null, timeZone });
  return renderNote(templates, enrich(session, match.ticket));
}

/** The fixture's form: the subject, a blank line, the text note. */
export function exampleText(note: RenderedNote): string {
  return `${note.subject}\n\n${note.text}`;
}

export function examplePath(language: string, sample: NoteSample): string {
  return join(NOTE_EXAMPLES_DIR, language, `${sample}.txt`);
}
