// The note in its reader's language and time: the choice of catalog (NOTE_LANGUAGE, the
// session's `lang`, fr-CA -> fr -> en), the catalogs as admin-editable files (errors named with
// file and line at load), and times in NOTE_TIME_ZONE or the file's own offset, across a
// daylight-saving change.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enrich } from '../../src/domain/enrich/enrich.ts';
import type { RenderedNote, Session } from '../../src/domain/types.ts';
import { loadConfig } from '../../src/config.ts';
import { chooseLanguage } from '../../src/render/i18n.ts';
import { DEFAULT_TEMPLATES_DIR, loadTemplates, renderNote } from '../../src/render/templates.ts';
import type { NoteSettings, NoteTemplates } from '../../src/render/templates.ts';
import { copyTemplates, loadError } from '../helpers/templates.ts';
import { buildChatSession, buildSession, buildTicket } from '../helpers/session-builder.ts';

let tmp: string;
const loaded = new Map<string, NoteTemplates>();

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ccai-note-language-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function templatesFor(settings: Partial<NoteSettings> = {}, dir = DEFAULT_TEMPLATES_DIR): Promise<NoteTemplates> {
  const full: NoteSettings = { language: null, timeZone: null, ...settings };
  const key = `${dir}|${full.language}|${full.timeZone}`;
  let t = loaded.get(key);
  if (t === undefined) {
    t = await loadTemplates(dir, full);
    loaded.set(key, t);
  }
  return t;
}

async function note(s: Session, settings: Partial<NoteSettings> = {}, dir?: string): Promise<RenderedNote> {
  return renderNote(await templatesFor(settings, dir), enrich(s, buildTicket()));
}

describe('the note language', () => {
  it("follows the session's lang, with its region's formats (fr-CA: the fr catalog, Quebec dates)", async () => {
    const fr = await note(buildSession({ lang: 'fr' }));
    const frCa = await note(buildSession({ lang: 'fr_CA' }));
    assert.match(fr.subject, /^Appel 1418 · /);
    assert.match(frCa.subject, /^Appel 1418 · /);
    // the same labels, different date formats: fr "23 mars 2026, 13:12:51", fr-CA "13 h 12 min 51 s"
    assert.ok(fr.text.includes('23 mars 2026'), fr.text);
    assert.notEqual(fr.text, frCa.text);
    assert.ok(frCa.text.includes('h 12'), frCa.text);
  });

  it('falls back to English for a language without a catalog, and for no lang at all', async () => {
    const ja = await note(buildSession({ lang: 'ja' }));
    const none = await note(buildSession({ lang: null }));
    const en = await note(buildSession({ lang: 'en' }));
    assert.equal(ja.subject, en.subject);
    assert.equal(ja.text.replace('language ja', 'language en'), en.text);
    assert.ok(none.text.startsWith('Call 1418'));
    assert.ok(en.text.includes('Mar 23, 2026, 1:12:51 PM'), 'English dates for an unknown language, not Japanese ones');
  });

  it('NOTE_LANGUAGE puts every note in one language, whatever the session says', async () => {
    const n = await note(buildSession({ lang: 'en' }), { language: 'de' });
    assert.match(n.subject, /^Anruf 1418 · /);
    assert.ok(!n.text.includes('Customer rating'), n.text);
  });

  it('chooses along the chain fr-CA -> fr -> en, keeping the locale for Intl', async () => {
    const t = await templatesFor();
    assert.deepEqual(pick(chooseLanguage(t.catalogs, 'fr-CA', null)), { catalog: 'fr', locale: 'fr-CA' });
    assert.deepEqual(pick(chooseLanguage(t.catalogs, 'pt-BR', null)), { catalog: 'pt', locale: 'pt-BR' });
    assert.deepEqual(pick(chooseLanguage(t.catalogs, 'ja-JP', null)), { catalog: 'en', locale: 'en' });
    assert.deepEqual(pick(chooseLanguage(t.catalogs, 'not a tag!', null)), { catalog: 'en', locale: 'en' });
    assert.deepEqual(pick(chooseLanguage(t.catalogs, 'fr', 'es')), { catalog: 'es', locale: 'es' });
  });

  it('plurals follow the language (French counts 0 and 1 as singular)', async () => {
    const s = buildChatSession({ lang: 'fr' });
    s.chat = { messages: 0, averageResponse: null, longestResponse: null };
    const zero = await note(s);
    s.chat = { messages: 2, averageResponse: null, longestResponse: null };
    const two = await note(s);
    const line = (t: string) => t.split('\n').find((l) => /\d message/.test(l)) ?? '';
    assert.match(line(zero.text), /0 message(?!s)/);
    assert.match(line(two.text), /2 messages/);
  });

  it('NOTE_LANGUAGE and NOTE_TIME_ZONE are checked with the rest of the configuration', () => {
    const ok = loadConfig({ NOTE_LANGUAGE: 'pt_br', NOTE_TIME_ZONE: 'America/Sao_Paulo' });
    assert.equal(ok.NOTE_LANGUAGE, 'pt-BR');
    assert.equal(ok.NOTE_TIME_ZONE, 'America/Sao_Paulo');
    assert.throws(() => loadConfig({ NOTE_TIME_ZONE: 'Mars/Olympus' }), /NOTE_TIME_ZONE.*IANA time zone/s);
    assert.throws(() => loadConfig({ NOTE_LANGUAGE: 'français!' }), /NOTE_LANGUAGE.*language tag/s);
  });
});

function pick(l: { catalog: string; locale: string }): { catalog: string; locale: string } {
  return { catalog: l.catalog, locale: l.locale };
}

describe('values from the file stay values', () => {
  it('a code with i18next syntax in it is written as it is, never looked up or filled in', async () => {
    const s = buildSession({ disconnectedBy: '$t(label.rating, {"lng": "de"}) {{context}}' });
    const t = (await note(s)).text;
    assert.ok(t.includes('  Ended by: $t(label.rating, {"lng": "de"}) {{context}}\n'), t);
  });

  it('a duration of 0 says 0; one no session can last is written plainly instead of failing the job', async () => {
    const zero = (await note(buildChatSession({ durations: { talk: 0, handle: 0 } }))).text;
    assert.ok(zero.includes('Conversation: 2 messages · 0 sec of chat\n'), zero);
    const huge = (await note(buildSession({ durations: { talk: 1e15, afterCallWork: 0, handle: 1e15 } }))).text;
    assert.match(huge, /Duration: \d+h \d{2}m \d{2}s on the call\n/);
  });

  it("a lang with a calendar or digits of its own (-u-ca-…-nu-…) gets the language's usual ones", async () => {
    const t = (await note(buildSession({ lang: 'fr-u-ca-islamic-nu-arab' }))).text;
    assert.ok(t.includes('23 mars 2026'), t);
  });
});

describe('the label catalogs are files an admin edits', () => {
  it('an edited label is used without any code change', async () => {
    const en = JSON.parse(await readFile(join(DEFAULT_TEMPLATES_DIR, 'locales', 'en.json'), 'utf8'));
    en.label.rating = 'How the caller rated us';
    const dir = await copyTemplates(tmp, 'edited', { 'locales/en.json': JSON.stringify(en, null, 2) });
    const n = await note(buildSession(), {}, dir);
    assert.ok(n.text.includes('How the caller rated us: 5/5'), n.text);
  });

  it('a new language is a new file; a label it lacks falls back to English, and the load says so', async () => {
    const it = { kind: { call: 'Chiamata', chat: 'Chat' }, label: { rating: 'Valutazione del cliente' } };
    const dir = await copyTemplates(tmp, 'italian', { 'locales/it.json': JSON.stringify(it) });
    const t = await loadTemplates(dir, { language: null, timeZone: null });
    assert.ok(t.catalogs.languages.includes('it'));
    assert.ok(t.catalogs.notices.some((m) => /it\.json lacks \d+ label/.test(m) && /en text is used/.test(m)), t.catalogs.notices.join('\n'));
    const n = renderNote(t, enrich(buildSession({ lang: 'it-IT' }), buildTicket()));
    assert.match(n.subject, /^Chiamata 1418/);
    assert.ok(n.text.includes('Valutazione del cliente: 5/5'));
    assert.ok(n.text.includes('Handled by: '), 'English for what the catalog lacks');
  });

  it('a catalog that is not JSON is reported at load with its file, line and column', async () => {
    const dir = await copyTemplates(tmp, 'broken-json', { 'locales/fr.json': '{\n  "kind": {\n    "call": "Appel",\n    "chat": "Chat"\n  ,\n}\n' });
    const err = await loadError(dir);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, /label catalog fr\.json is not valid JSON/);
    assert.ok(err.message.includes(join(dir, 'locales', 'fr.json')));
    assert.match(err.message, /line 6, column 1/);
  });

  it('a label that is not text, or a broken {{placeholder}}, is named', async () => {
    let dir = await copyTemplates(tmp, 'not-text', { 'locales/de.json': JSON.stringify({ label: { rating: 5 } }) });
    assert.match((await loadError(dir)).message, /de\.json is broken .*label\.rating must be text/);
    dir = await copyTemplates(tmp, 'braces', { 'locales/de.json': JSON.stringify({ text: { wait: '{{duration in der Warteschlange' } }) });
    assert.match((await loadError(dir)).message, /text\.wait has 1 "\{\{" but 0 "\}\}"/);
  });

  it('a templates copy made before the catalogs existed (no locales/) uses the shipped ones', async () => {
    const dir = await copyTemplates(tmp, 'no-locales', {});
    await rm(join(dir, 'locales'), { recursive: true });
    const t = await loadTemplates(dir, { language: null, timeZone: null });
    assert.equal(t.catalogs.folder, join(DEFAULT_TEMPLATES_DIR, 'locales'));
    const n = renderNote(t, enrich(buildSession({ lang: 'es' }), buildTicket()));
    assert.match(n.subject, /^Llamada 1418 /);
  });

  it('the English catalog must exist; NOTE_LANGUAGE must have a catalog', async () => {
    const dir = await copyTemplates(tmp, 'no-en', { 'locales/en.json': null });
    assert.match((await loadError(dir)).message, /en\.json is missing: every other language falls back to it/);
    const err = await loadError(DEFAULT_TEMPLATES_DIR, { language: 'ja' });
    assert.match(err.message, /NOTE_LANGUAGE=ja has no label catalog .*there are: de, en, es, fr, pt/);
  });

  it('catalog text is escaped in the HTML note like any other output', async () => {
    const en = JSON.parse(await readFile(join(DEFAULT_TEMPLATES_DIR, 'locales', 'en.json'), 'utf8'));
    en.label.rating = '<img src=x onerror=alert(1)>';
    const dir = await copyTemplates(tmp, 'hostile-catalog', { 'locales/en.json': JSON.stringify(en) });
    const n = await note(buildSession(), {}, dir);
    assert.ok(n.html.includes('&lt;img src=x onerror=alert(1)&gt;: '), n.html);
    assert.doesNotMatch(n.html, /<img/);
  });
});

describe('times on the note', () => {
  // 2026-03-08: clocks in Toronto go from 02:00 EST to 03:00 EDT (UTC-5 to UTC-4)
  const acrossSpringForward = () =>
    buildSession({
      utcOffsetMinutes: -300,
      times: {
        created: '2026-03-08T06:50:00.000Z', // 01:50 EST
        queued: '2026-03-08T06:55:00.000Z', // 01:55 EST
        assigned: '2026-03-08T06:59:30.000Z', // 01:59:30 EST
        connected: '2026-03-08T06:52:00.000Z',
        ended: '2026-03-08T07:10:00.000Z', // 03:10 EDT
        updated: '2026-03-08T07:10:12.000Z',
      },
    });

  it('NOTE_TIME_ZONE: every time in that zone, named once, across the daylight-saving change', async () => {
    const t = (await note(acrossSpringForward(), { timeZone: 'America/Toronto' })).text;
    assert.ok(t.includes('Details · times in America/Toronto\n'), t);
    assert.ok(t.includes('  Started: Mar 8, 2026, 1:50:00 AM\n'), t);
    assert.ok(t.includes('  Assigned: 1:59:30 AM\n'), t);
    // twenty minutes after 1:50 EST is 3:10 EDT, not 2:10
    assert.ok(t.includes('  Ended: 3:10:00 AM\n'), t);
    assert.equal(t.split('America/Toronto').length - 1, 1, 'the zone is named once');
  });

  it("unset: the file's own offset, fixed (UTC-05:00 all along), named once", async () => {
    const t = (await note(acrossSpringForward())).text;
    assert.ok(t.includes('Details · times in UTC-05:00\n'), t);
    assert.ok(t.includes('  Started: Mar 8, 2026, 1:50:00 AM\n'), t);
    assert.ok(t.includes('  Ended: 2:10:00 AM\n'), t);
  });

  it('the autumn change: the same wall-clock hour twice, told apart by the zone', async () => {
    // 2026-11-01: 02:00 EDT becomes 01:00 EST; 05:30Z is 01:30 EDT and 06:30Z is 01:30 EST
    const s = buildSession({ times: { created: '2026-11-01T05:30:00.000Z', ended: '2026-11-01T06:30:00.000Z', updated: '2026-11-01T06:31:00.000Z' } });
    const t = (await note(s, { timeZone: 'America/Toronto' })).text;
    assert.ok(t.includes('  Started: Nov 1, 2026, 1:30:00 AM\n'), t);
    assert.ok(t.includes('  Ended: 1:30:00 AM\n'), t);
    const paris = (await note(s, { timeZone: 'Europe/Paris', language: 'fr' })).text;
    assert.ok(paris.includes('heure de Europe/Paris') || paris.includes('Europe/Paris'), paris);
    assert.ok(paris.includes('1 nov. 2026, 06:30:00'), paris);
  });

  it('a time on another day than the start carries its date', async () => {
    const s = buildSession({ times: { created: '2026-03-23T23:58:00.000-07:00', ended: '2026-03-24T00:03:00.000-07:00' } });
    s.times.created = '2026-03-24T06:58:00.000Z';
    s.times.ended = '2026-03-24T07:03:00.000Z';
    const t = (await note(s)).text;
    assert.ok(t.includes('  Started: Mar 23, 2026, 11:58:00 PM\n'), t);
    assert.ok(t.includes('  Ended: Mar 24, 2026, 12:03:00 AM\n'), t);
  });

  it('NOTE_TIME_ZONE is named as Intl knows it: utc is UTC, -0800 is UTC-08:00', async () => {
    assert.ok((await note(buildSession(), { timeZone: 'utc' })).text.includes('Details · times in UTC\n'));
    assert.ok((await note(buildSession(), { timeZone: '-0800' })).text.includes('Details · times in UTC-08:00\n'));
  });

  it('a file written in UTC says so', async () => {
    const t = (await note(buildSession({ utcOffsetMinutes: 0 }))).text;
    assert.ok(t.includes('Details · times in UTC\n'), t);
    assert.ok(t.includes('  Started: Mar 23, 2026, 8:12:51 PM\n'), t);
  });
});
