import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { enrich } from '../../src/domain/enrich/enrich.ts';
import type { EnrichOptions } from '../../src/domain/enrich/options.ts';
import type { Enrichment, RenderedNote, Session } from '../../src/domain/types.ts';
import { SyncError } from '../../src/errors.ts';
import { sanitiseData, tidyText, toSubjectLine } from '../../src/render/sanitise.ts';
import { DEFAULT_TEMPLATES_DIR, loadTemplates, renderNote } from '../../src/render/templates.ts';
import type { NoteTemplates } from '../../src/render/templates.ts';
import { buildChatSession, buildSession, buildTicket, disposition } from '../helpers/session-builder.ts';

const HOSTILE_LIQUID = "{{ 7*7 }} {{ 7 | times: 7 }} {% include '/etc/passwd' %} {{ 'x' | append: 'y' }}";

let templates: NoteTemplates;
let tmp: string;

before(async () => {
  templates = await loadTemplates(DEFAULT_TEMPLATES_DIR);
  tmp = await mkdtemp(join(tmpdir(), 'ccai-render-test-'));
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function note(s: Session, opts?: EnrichOptions): RenderedNote {
  return renderNote(templates, enrich(s, buildTicket(), opts));
}

/** A copy of the default templates in a fresh temp folder, with some files replaced. */
async function templateDir(name: string, files: Record<string, string | null> = {}): Promise<string> {
  const dir = join(tmp, name);
  await cp(DEFAULT_TEMPLATES_DIR, dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    if (content === null) await unlink(join(dir, file));
    else await writeFile(join(dir, file), content);
  }
  return dir;
}

async function loadError(dir: string): Promise<SyncError> {
  try {
    await loadTemplates(dir);
  } catch (err) {
    assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
    return err;
  }
  assert.fail(`loadTemplates(${dir}) should have failed`);
}

describe('default templates', () => {
  it('are the repository templates/ folder', async () => {
    assert.equal(DEFAULT_TEMPLATES_DIR, fileURLToPath(new URL('../../templates', import.meta.url)));
    assert.equal(templates.dir, DEFAULT_TEMPLATES_DIR);
    const readme = await readFile(join(DEFAULT_TEMPLATES_DIR, 'README.md'), 'utf8');
    assert.match(readme, /note\.html\.liquid/);
  });

  it('subject: kind, id, type, dispositions and CSAT on one line', () => {
    assert.equal(note(buildSession()).subject, 'Call 1418 · Voice Inbound (IVR) · No Resolution - followup needed; key_1 · CSAT 5/5');
    assert.equal(note(buildChatSession()).subject, 'Chat 135 · Messaging Inbound (Web Chat)');
  });

  it('text note: dispositions with notes, CSAT, recording link, people, routing, transfers, durations', () => {
    const t = note(buildSession()).text;
    for (const expected of [
      'Call 1418 · Voice Inbound (IVR) · finished',
      '1. No Resolution - followup needed · Jane Smith',
      'Note: notes',
      '2. key_1 · Jane Smith · after transfer',
      'Rating:          5/5 ★★★★★',
      'https://crm.example.com/sfc/servlet.shepherd/version/download/068ak00000HCpbFAAT',
      'Permission:      not asked',
      'Started:         2026-03-23 20:12:51 UTC',
      'Agent:           Jane Smith',
      'Virtual agent:   ccaas_escalation_va',
      'Menu:            optional-dispositions_menu-8 · path menu-path-test/optional-dispositions_menu-8 · id 6/8',
      'ccaas_escalation_va → Jane Smith · by virtual agent',
      'Jane Smith (va-escalation_menu_id) → Jane Smith (menu-path-test/optional-dispositions_menu-8) · transferred',
      'Handle time:     2m 20s',
      'Talk:            2m 06s',
      'Salesforce Case 500ak000024vx4uAAA',
    ]) {
      assert.ok(t.includes(expected), `text note lacks ${JSON.stringify(expected)}:\n${t}`);
    }
    assert.doesNotMatch(t, /\n\n\n/, 'no runs of blank lines');
    assert.doesNotMatch(t, /[ \t]+\n/, 'no trailing spaces');
    assert.ok(t.endsWith('\n'));
  });

  it('text and HTML notes carry the CSAT comment', () => {
    const n = note(buildSession({ csat: { rating: 4, comment: 'Very helpful, thanks!\nWill call again.' } }));
    assert.match(n.text, /Rating: +4\/5 ★★★★☆/);
    assert.match(n.text, /Comment: +Very helpful, thanks!\n +Will call again\./);
    assert.ok(n.html.includes('4/5 ★★★★☆'));
    assert.ok(n.html.includes('Very helpful, thanks!<br>Will call again.'));
    assert.equal(n.subject, 'Call 1418 · Voice Inbound (IVR) · No Resolution - followup needed; key_1 · CSAT 4/5');
  });

  it('HTML note: the same content, with a link to the recording and the ticket, and nothing external', () => {
    const h = note(buildSession()).html;
    assert.ok(h.includes('<strong>No Resolution - followup needed</strong>'));
    assert.ok(h.includes('Note: notes'));
    assert.ok(h.includes('5/5 ★★★★★'));
    assert.ok(
      h.includes(
        '<a href="https://crm.example.com/sfc/servlet.shepherd/version/download/068ak00000HCpbFAAT">',
      ),
    );
    assert.ok(h.includes('<a href="https://crm.example.com/lightning/r/Case/500ak000024vx4uAAA/view">500ak000024vx4uAAA</a>'));
    assert.doesNotMatch(h, /<script|<style|<img|<link|<iframe|src=|url\(|@import/i);
    assert.ok(h.startsWith('<div'));
  });

  it('omits sections the file does not carry (chat-135: no recording, dispositions, CSAT, transfers)', () => {
    const n = note(buildChatSession());
    for (const heading of ['Recording', 'Disposition', 'Customer satisfaction', 'CSAT', 'Transfer', 'Escalation', 'How it ended', 'Secured', 'Routing\n  Support']) {
      assert.ok(!n.text.includes(heading), `text has ${heading}:\n${n.text}`);
      assert.ok(!n.html.includes(`>${heading}`), `html has ${heading}`);
    }
    assert.ok(n.text.includes('Chat:            59s'));
    assert.ok(n.text.includes('CustomDataOne: test1'));
    assert.ok(n.html.includes('CustomDataOne'));
  });

  it('omits the CSAT section and the CSAT part of the subject when there is no rating', () => {
    const n = note(buildSession({ csat: { rating: null, comment: null } }));
    assert.ok(!n.subject.includes('CSAT'));
    assert.ok(!n.text.includes('Customer satisfaction'));
    assert.ok(!n.text.includes('★'));
    assert.ok(!n.html.includes('Customer satisfaction'));
  });

  it('says why a recording link is withheld', () => {
    const n = note(buildSession({ recording: { permission: 'denied' } }));
    assert.ok(n.text.includes('Link withheld: the caller denied recording'));
    assert.ok(n.html.includes('withheld: the caller denied recording'));
    assert.ok(!n.text.includes('068ak00000HCpbFAAT'));
    assert.ok(!n.html.includes('068ak00000HCpbFAAT'));
  });

  it('writes secured custom data only when the admin opts in', () => {
    const s = buildSession({ securedCustomData: [{ label: 'Card last 4', value: '4242' }] });
    const hidden = note(s);
    assert.ok(!`${hidden.text}${hidden.html}`.includes('4242'));
    const shown = note(s, { recordingLink: 'unless-denied', includeSecuredCustomData: true });
    assert.ok(shown.text.includes('Card last 4: 4242'));
    assert.ok(shown.html.includes('4242'));
  });

  it('renders the same note twice for the same session (idempotent writes rely on it)', () => {
    assert.deepEqual(note(buildSession()), note(buildSession()));
  });
});

describe('hostile text in the session', () => {
  it('Liquid in an agent note is printed literally, never evaluated', () => {
    const n = note(buildSession({ dispositions: [disposition({ code: 'Resolved', note: HOSTILE_LIQUID })] }));
    for (const out of [n.text, n.html]) {
      assert.ok(!out.includes('49'), `49 appeared:\n${out}`);
      assert.ok(!out.includes('root:'), 'no file was read');
      assert.ok(!out.includes(' xy'), 'no filter was applied');
    }
    assert.ok(n.text.includes(`Note: ${HOSTILE_LIQUID}`));
    assert.ok(n.html.includes('{{ 7*7 }}'));
    assert.ok(n.html.includes('{% include &#39;/etc/passwd&#39; %}'));
  });

  it('Liquid in a disposition code stays literal in the subject', () => {
    const n = note(buildSession({ dispositions: [disposition({ code: '{{ 7*7 }}' })], csat: { rating: null } }));
    assert.equal(n.subject, 'Call 1418 · Voice Inbound (IVR) · {{ 7*7 }}');
  });

  it('HTML in a note is escaped in the HTML note and kept as text in the text note', () => {
    const s = buildSession({
      dispositions: [disposition({ code: 'Resolved', note: '<script>alert("x")</script><img src=x onerror=alert(1)>' })],
      customData: [{ label: '<b>tier</b>', value: '"gold" & \'vip\'' }],
    });
    const n = note(s);
    assert.ok(n.html.includes('&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(n.html.includes('&lt;b&gt;tier&lt;/b&gt;'));
    assert.ok(n.html.includes('&#34;gold&#34; &amp; &#39;vip&#39;'));
    assert.doesNotMatch(n.html, /<script|<img|<b>tier/);
    assert.ok(n.text.includes('<script>alert("x")</script>'));
  });

  it('CR/LF in a disposition code never reaches the subject', () => {
    const n = note(buildSession({ dispositions: [disposition({ code: 'Callback\r\nBcc: victim@example.com\r\n' })] }));
    assert.doesNotMatch(n.subject, /[\r\n]/);
    assert.equal(n.subject, 'Call 1418 · Voice Inbound (IVR) · Callback Bcc: victim@example.com · CSAT 5/5');
  });

  it('CR/LF put in the view directly (not through enrich) is still collapsed in the subject', () => {
    const e = enrich(buildSession(), buildTicket());
    const forged: Enrichment = { ...e, view: { ...e.view, disposition_codes: 'A\r\nSubject: forged\n\tB' } };
    const n = renderNote(templates, forged);
    assert.equal(n.subject, 'Call 1418 · Voice Inbound (IVR) · A Subject: forged B · CSAT 5/5');
  });

  it('control characters are stripped from every output (\\u0007, ESC, NUL), line breaks kept', () => {
    const e = enrich(buildSession(), buildTicket());
    const forged: Enrichment = {
      ...e,
      view: {
        ...e.view,
        disposition_codes: 'bell\u0007code',
        dispositions: [{ leg: 1, code: 'esc\u001b[2Jcode', note_lines: ['nul\u0000line', 'tab\there'] }],
      },
    };
    const n = renderNote(templates, forged);
    for (const out of [n.subject, n.text, n.html]) assert.doesNotMatch(out, /[\u0000-\u0008\u000b-\u001f\u007f]/);
    assert.ok(n.subject.includes('bellcode'));
    assert.ok(n.text.includes('1. esc[2Jcode'));
    assert.ok(n.text.includes('Note: nulline\n           tab\there'));
  });

  it('a very long code gives a subject of at most 200 characters', () => {
    const n = note(buildSession({ dispositions: [disposition({ code: 'x'.repeat(500) })] }));
    assert.equal(Array.from(n.subject).length, 200);
    assert.ok(n.subject.endsWith('…'));
  });
});

describe('loading templates', () => {
  it('a broken template fails with the file name and the Liquid error line', async () => {
    const dir = await templateDir('broken', { 'note.html.liquid': '<p>\n{{ session.key }}\n{% iff csat %}x{% endif %}\n</p>\n' });
    const err = await loadError(dir);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, /template note\.html\.liquid is broken/);
    assert.match(err.message, /line:3/);
    assert.ok(err.message.includes(join(dir, 'note.html.liquid')));
  });

  it('an unclosed tag is reported with its file', async () => {
    const dir = await templateDir('unclosed', { 'subject.liquid': '{% if csat %}CSAT' });
    const err = await loadError(dir);
    assert.match(err.message, /template subject\.liquid is broken/);
    assert.match(err.message, /line:1/);
  });

  it('an unknown filter is an error at load time, not silently ignored', async () => {
    const dir = await templateDir('filter', { 'note.txt.liquid': 'ok\n{{ session.key | upcasee }}\n' });
    const err = await loadError(dir);
    assert.match(err.message, /template note\.txt\.liquid is broken/);
    assert.match(err.message, /upcasee/);
  });

  it('a missing template is named', async () => {
    const dir = await templateDir('missing', { 'subject.liquid': null });
    const err = await loadError(dir);
    assert.match(err.message, /template subject\.liquid is missing/);
  });

  it('a missing folder is named', async () => {
    const err = await loadError(join(tmp, 'does-not-exist'));
    assert.match(err.message, /templates folder .*does-not-exist does not exist/);
  });

  it('an edited template is used, and may render a partial from its own folder', async () => {
    const dir = await templateDir('partial', {
      'subject.liquid': 'Case note {{ session.key }}{% render "suffix" %}',
      'suffix.liquid': ' [ccai]',
    });
    const t = await loadTemplates(dir);
    const n = renderNote(t, enrich(buildSession(), buildTicket()));
    assert.equal(n.subject, 'Case note call-1418 [ccai]');
  });

  it('templates cannot read files outside their folder (absolute path, ../, symlink)', async () => {
    const secretDir = join(tmp, 'outside');
    await mkdir(secretDir, { recursive: true });
    const secret = join(secretDir, 'secret.liquid');
    await writeFile(secret, 'TOP-SECRET');
    const attempts = [
      `{% include '${secret}' %}`,
      "{% include '../outside/secret' %}",
      "{% include './../outside/secret.liquid' %}",
      "{% render 'link' %}",
      "{% include '/etc/passwd' %}",
    ];
    for (const [i, attempt] of attempts.entries()) {
      const dir = await templateDir(`escape-${i}`, { 'note.txt.liquid': `x ${attempt}` });
      await symlink(secret, join(dir, 'link.liquid'));
      const t = await loadTemplates(dir);
      assert.throws(
        () => renderNote(t, enrich(buildSession(), buildTicket())),
        (err: unknown) => err instanceof SyncError && /template note\.txt\.liquid failed to render/.test(err.message) && /ENOENT/.test(err.message),
        attempt,
      );
    }
  });

  it('templates see only the data itself, not inherited JavaScript properties', async () => {
    const dir = await templateDir('proto', {
      'subject.liquid': '[{{ session.constructor.name }}][{{ fields.__proto__ }}][{{ agents.constructor }}][{{ session.key }}]',
    });
    const t = await loadTemplates(dir);
    assert.equal(renderNote(t, enrich(buildSession(), buildTicket())).subject, '[][][][call-1418]');
  });

  it('the HTML engine escapes by default; the text engine does not', async () => {
    const dir = await templateDir('escape', {
      'note.txt.liquid': '{{ session.type }}',
      'note.html.liquid': '<p>{{ session.type }}</p>',
    });
    const t = await loadTemplates(dir);
    const n = renderNote(t, enrich(buildSession({ type: 'Voice <Inbound> & "IVR"' }), buildTicket()));
    assert.equal(n.text, 'Voice <Inbound> & "IVR"\n');
    assert.equal(n.html, '<p>Voice &lt;Inbound&gt; &amp; &#34;IVR&#34;</p>\n');
  });
});

describe('render helpers', () => {
  it('toSubjectLine: one line, trimmed, bounded', () => {
    assert.equal(toSubjectLine('  a\r\nb\tc\u2028d  '), 'a b c d');
    assert.equal(toSubjectLine('é'.repeat(10), 5), 'éééé…');
    assert.equal(toSubjectLine('😀'.repeat(3), 2), '😀…', 'never cuts a surrogate pair');
  });

  it('tidyText: LF endings, no trailing spaces, at most one blank line', () => {
    assert.equal(tidyText('\n\na  \r\n\r\n\r\n\nb\t\n\n'), 'a\n\nb\n');
    assert.equal(tidyText('  \n '), '');
  });

  it('sanitiseData: strips control characters everywhere and keeps only plain data', () => {
    const input = JSON.parse('{"__proto__": {"polluted": "yes"}}') as Record<string, unknown>;
    const out = sanitiseData({
      a: ['x\u0007y', { 'k\u0000ey': 'v\u001bw\r\nz' }],
      f: () => 'called',
      d: new Date(0),
      n: Number.NaN,
      ok: true,
      p: input,
    }) as Record<string, any>;
    assert.deepEqual(out.a, ['xy', { key: 'vw\nz' }]);
    assert.equal('f' in out, false);
    assert.equal('d' in out, false);
    assert.equal(out.n, null);
    assert.equal(out.ok, true);
    assert.equal(Object.getPrototypeOf(out.p), Object.prototype);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.deepEqual(Object.keys(out.p), ['__proto__']);
  });
});
