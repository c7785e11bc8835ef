// `show <ticket> --html` end to end: `run` a session whose CSAT comment, disposition note,
// agent names, custom data and ticket link carry HTML and script, then `show --html`, and read
// the page the admin would save and open in a browser. It must be one complete document whose
// every value is escaped and which can neither run script nor fetch anything.
// A second record is written through an admin's edited note template that uses `| raw`: the
// page must stay safe even when the HTML stored with a note is not.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FIXTURES, ROOT, TEST_REDIS_URL, dropPrefix, runCli, tempDir, uniquePrefix } from '../helpers/env.ts';

const TICKET = '500ak000024vyCVAAY';
const RAW_TICKET = '500ak000024vyDWAAY';

// What a hostile or careless file can put in front of the admin. Each is asserted to come back
// as text, escaped, never as markup.
const CSAT_SCRIPT = '<script>alert(1)</script>';
const CSAT_COMMENT = `Agent was fine.\n${CSAT_SCRIPT}\nThird line`;
const NOTE_IMG = '<img src="http://127.0.0.1:9/x.png">';
const NOTE_ONERROR = "<img src=x onerror='alert(2)'>";
const CODE = '</pre></td></table><script>alert(3)</script>';
const AGENT = '"><svg onload=alert(4)>';
const MENU = "'><svg/onload=alert(5)>";
const CUSTOM_LABEL = '<svg onload=alert(6)>';
const CUSTOM_VALUE = '"><iframe src="http://127.0.0.1:9/frame"></iframe>';
// A ticket link is an attribute (`href`) on the page: a quote in its query must not end it.
const TICKET_URL = `https://crm.example.com/lightning/r/Case/${TICKET}/view?x="><svg onload=alert(7)>&y='z'`;

/** The parts of a session file the test changes. */
interface SessionDoc {
  id: number;
  out_ticket_id: string;
  out_ticket_url: string | null;
  feedback: string;
  agent_info: { name: string };
  menu_path: { name: string };
  dispositions: Array<{ note: string; code: string }>;
  custom_data_not_secured: Record<string, { label: string; value: string }>;
}

/** The hostile-notes fixture with the values above in it. */
function hostileSession(ticket: string, id: number): SessionDoc {
  const doc = JSON.parse(readFileSync(join(FIXTURES, 'sessions/hostile-notes-call.json'), 'utf8')) as SessionDoc;
  doc.id = id;
  doc.out_ticket_id = ticket;
  doc.out_ticket_url = ticket === TICKET ? TICKET_URL : null;
  doc.feedback = CSAT_COMMENT;
  doc.agent_info.name = AGENT;
  doc.menu_path.name = MENU;
  doc.dispositions[0]!.note = `Customer sent ${NOTE_IMG}\nand ${NOTE_ONERROR}`;
  doc.dispositions[0]!.code = CODE;
  doc.custom_data_not_secured = { OrderRef: { label: CUSTOM_LABEL, value: CUSTOM_VALUE } };
  return doc;
}

/** The same characters as escape() in the page: & < > " ' */
function escaped(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');
}

// Every start tag on the page with its attributes, read the way a browser reads them (values
// are escaped, so no `>` hides inside a quoted value and no quote ends one early).
function startTags(html: string): Array<{ tag: string; name: string; attrs: Array<{ name: string; value: string }> }> {
  return [...html.matchAll(/<([a-zA-Z][^\s/>]*)([^>]*)>/g)].map((m) => ({
    tag: m[0],
    name: m[1]!.toLowerCase(),
    attrs: [...m[2]!.matchAll(/([^\s"'>\/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)].map((a) => ({
      name: a[1]!.toLowerCase(),
      value: a[2] ?? a[3] ?? a[4] ?? '',
    })),
  }));
}

const PAGE_TAGS = new Set([
  'html', 'head', 'meta', 'title', 'style', 'body', 'header', 'main', 'section', 'footer',
  'h1', 'h2', 'h3', 'p', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'pre', 'a', 'br', 'small', 'span', 'div', 'code', 'caption',
]);

/** Asserts the page is inert: only plain tags, no event handlers, nothing that loads or runs. */
function assertInert(page: string): void {
  for (const bad of ['<script', '<img', '<svg', '<iframe', '<object', '<embed', '<link', '<base', '<form']) {
    assert.ok(!page.toLowerCase().includes(bad), `the page holds no ${bad}…>`);
  }
  for (const t of startTags(page)) {
    assert.ok(PAGE_TAGS.has(t.name), `unexpected <${t.name}> on the page: ${t.tag}`);
    for (const a of t.attrs) {
      assert.ok(!a.name.startsWith('on'), `${t.tag} carries an event handler`);
      assert.ok(!['src', 'srcset', 'background', 'poster', 'formaction', 'style'].includes(a.name), `${t.tag} loads or styles something`);
      if (a.name === 'href') assert.match(a.value, /^https?:\/\//i, `${t.tag} links only to http(s)`);
    }
  }
}

describe('show --html: one safe HTML page', () => {
  const prefix = uniquePrefix('showhtml');
  const tmp = tempDir('ccai-show-html');
  const dataDir = join(tmp.path, 'data');
  const env = { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: dataDir };
  let page = '';

  before(async () => {
    const inbox = join(tmp.path, 'drop');
    mkdirSync(inbox, { recursive: true });
    writeFileSync(join(inbox, 'metadata_call-91506.json'), JSON.stringify(hostileSession(TICKET, 91506), null, 2));
    const r = await runCli(['run', '--json', inbox], env, { timeoutMs: 90_000 });
    const results = (JSON.parse(r.stdout) as { results: Array<{ status: string; reason: string | null }> }).results;
    assert.equal(results[0]?.status, 'delivered', `${JSON.stringify(results)}\n${r.stderr}`);

    // An admin's edited copy of the note templates that prints the disposition note with `raw`:
    // the note's stored HTML then holds a live <img> and <script>.
    const rawTemplates = join(tmp.path, 'raw-templates');
    mkdirSync(rawTemplates);
    for (const f of ['subject.liquid', 'note.txt.liquid']) copyFileSync(join(ROOT, 'templates', f), join(rawTemplates, f));
    writeFileSync(
      join(rawTemplates, 'note.html.liquid'),
      '<div>{% for d in dispositions %}<p>{{ d.note | raw }}</p>{% endfor %}<p>{{ csat.comment | raw }}</p></div>\n',
    );
    const rawInbox = join(tmp.path, 'drop-raw');
    mkdirSync(rawInbox);
    writeFileSync(join(rawInbox, 'metadata_call-91507.json'), JSON.stringify(hostileSession(RAW_TICKET, 91507), null, 2));
    const r2 = await runCli(['run', '--json', rawInbox], { ...env, TEMPLATES_DIR: rawTemplates }, { timeoutMs: 90_000 });
    const results2 = (JSON.parse(r2.stdout) as { results: Array<{ status: string }> }).results;
    assert.equal(results2[0]?.status, 'delivered', `${JSON.stringify(results2)}\n${r2.stderr}`);

    const shown = await runCli(['show', TICKET, '--html'], env);
    assert.equal(shown.code, 0, shown.stderr);
    page = shown.stdout;
  });

  after(async () => {
    await dropPrefix(prefix);
    tmp.cleanup();
  });

  it('is one complete HTML5 document: doctype, utf-8, a title naming the ticket', () => {
    assert.ok(page.startsWith('<!doctype html>'), `starts with the doctype: ${page.slice(0, 80)}`);
    assert.equal(page.match(/<!doctype/gi)?.length, 1, 'one document, not one per note');
    assert.equal(page.match(/<html[\s>]/gi)?.length, 1);
    assert.match(page.trimEnd(), /<\/html>$/, 'nothing after the document');
    const head = page.slice(0, page.indexOf('</head>'));
    assert.match(head, /<meta charset="utf-8">/i);
    const title = /<title>([^<]*)<\/title>/.exec(head);
    assert.ok(title, 'a <title>');
    assert.ok(title[1]!.includes(TICKET), `the title names the ticket: ${title[1]}`);
    assert.ok(head.indexOf('charset') < head.indexOf('<title>'), 'the charset comes before any text');
  });

  it('forbids script and every fetch with a Content-Security-Policy, and sends no referrer', () => {
    const head = page.slice(0, page.indexOf('</head>'));
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/i.exec(head);
    assert.ok(csp, 'a CSP meta tag in <head>');
    const policy = csp[1]!.replace(/&#39;/g, "'");
    assert.match(policy, /(^|;)\s*default-src 'none'\s*(;|$)/, policy);
    assert.doesNotMatch(policy, /script-src|img-src[^;]*(http|\*)|connect-src|frame-src|\*/, policy);
    assert.match(policy, /base-uri 'none'/, policy);
    assert.match(policy, /form-action 'none'/, policy);
    // The policy only governs what comes after it: it is the first thing after the charset.
    assert.ok(head.indexOf('Content-Security-Policy') < head.indexOf('<title>'), 'CSP before the title');
    assert.ok(head.indexOf('Content-Security-Policy') < head.indexOf('<style'), 'CSP before the style');
    assert.match(head, /<meta name="referrer" content="no-referrer">/i);
  });

  it('holds no markup from the session: no <script>, <img>, <svg>, <iframe>, no event handlers', () => {
    assertInert(page);
  });

  it('shows each hostile value as text, escaped, and never as it came', () => {
    for (const s of [CSAT_SCRIPT, NOTE_IMG, NOTE_ONERROR, CODE, AGENT, MENU, CUSTOM_LABEL, CUSTOM_VALUE]) {
      assert.ok(page.includes(escaped(s)), `${s} appears as ${escaped(s)}`);
      assert.ok(!page.includes(s), `${s} never appears unescaped`);
    }
    assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  });

  it('lists the fields as a table, key and value escaped, multi-line values kept on their lines', () => {
    const rows = [...page.matchAll(/<tr>\s*<th[^>]*>([^<]*)<\/th>\s*<td[^>]*>([^<]*)<\/td>\s*<\/tr>/g)].map((m) => ({ key: m[1]!, value: m[2]! }));
    const field = (k: string) => rows.find((r) => r.key === k)?.value;
    assert.ok(page.includes('<table'), 'a <table>');
    assert.equal(field('csat_comment'), escaped(CSAT_COMMENT), 'the CSAT comment, escaped, line breaks kept');
    assert.equal(field('csat_rating'), '1');
    assert.equal(field('session_key'), 'call-91506');
    assert.ok(field('agents')?.includes(escaped(AGENT)), `agents: ${field('agents')}`);
    assert.ok(field('last_disposition')?.includes(escaped(CODE)), `last_disposition: ${field('last_disposition')}`);
    // The cells keep line breaks on screen (the comment is three lines, not one run-on line).
    assert.match(page, /white-space:\s*pre-wrap/);
  });

  it('links the ticket with its address escaped inside the attribute', () => {
    assert.ok(page.includes(`href="${escaped(TICKET_URL)}"`), 'the href holds the escaped address');
    assert.ok(!page.includes('"><svg'), 'no quote ends an attribute early');
  });

  it('shows each note: subject, session and version, and the note text', async () => {
    const j = await runCli(['show', TICKET, '--json'], env);
    const { notes } = JSON.parse(j.stdout) as { notes: Array<{ subject: string; text: string; version: string }> };
    assert.equal(notes.length, 1);
    const n = notes[0]!;
    assert.ok(page.includes(escaped(n.subject)), 'the subject');
    assert.ok(page.includes(n.version), 'the version');
    assert.ok(page.includes('call-91506'), 'the session');
    // The note body is the text note, escaped, in a <pre> that keeps its layout.
    const pre = /<pre[^>]*>([^<]*)<\/pre>/.exec(page);
    assert.ok(pre, 'the note body in a <pre>');
    assert.equal(pre[1]!.trimEnd(), escaped(n.text).trimEnd());
  });

  it('stays safe when the HTML stored with a note is not (edited template with `raw`)', async () => {
    const j = await runCli(['show', RAW_TICKET, '--json'], env);
    const stored = (JSON.parse(j.stdout) as { notes: Array<{ html: string }> }).notes[0]!.html;
    assert.ok(stored.includes(NOTE_IMG) && stored.includes(CSAT_SCRIPT), 'the stored HTML really is live markup');
    const r = await runCli(['show', RAW_TICKET, '--html'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith('<!doctype html>'));
    assertInert(r.stdout);
    assert.ok(r.stdout.includes(escaped(NOTE_IMG)), 'the note is still shown, as text');
  });

  it('leaves the text and --json output as they were', async () => {
    const text = await runCli(['show', TICKET], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^Ticket ${TICKET} \\(salesforce`));
    assert.match(text.stdout, /\nFields\n/);
    assert.ok(!text.stdout.includes('<!doctype'), 'no HTML in the text output');
    const j = await runCli(['show', TICKET, '--json'], env);
    const rec = JSON.parse(j.stdout) as { found: boolean; fields: Record<string, unknown> };
    assert.equal(rec.found, true);
    assert.equal(rec.fields.csat_comment, CSAT_COMMENT, 'JSON carries the raw value, unescaped');
  });
});
