import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
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
import { copyTemplates, loadError } from '../helpers/templates.ts';
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

  it('text note: what matters first (disposition, note, rating, who, how long, recording), then the details', () => {
    const t = note(buildSession()).text;
    const top = [
      'Call 1418 · Voice Inbound (IVR)\n',
      'Disposition: No Resolution - followup needed\n',
      "Agent's note: notes\n",
      'Disposition after transfer: key_1\n',
      'Customer rating: 5/5 ★★★★★\n',
      'Handled by: Jane Smith, after the virtual agent ccaas_escalation_va\n',
      'Customer: https://crm.example.com/lightning/r/Contact/003ak00000ipFq5AAE/view\n',
      'Duration: 2 min, 6 sec on the call · 14 sec of wrap-up · 2 min, 20 sec in all\n',
      'Waiting: 27 sec in the queue · 5 sec on hold\n',
      'Recording: https://crm.example.com/sfc/servlet.shepherd/version/download/068ak00000HCpbFAAT\n',
      'Details · times in UTC-07:00\n',
      '  Started: Mar 23, 2026, 1:12:51 PM\n',
      '  Ended: 1:16:46 PM\n',
      '  Transfer: Jane Smith (va-escalation_menu_id) → Jane Smith (optional-dispositions_menu-8) · 1:15:03 PM\n',
      '  Participants: 1 agent, 1 customer, and 2 virtual agents\n',
      'Salesforce Case 500ak000024vx4uAAA',
    ];
    let at = 0;
    for (const expected of top) {
      const found = t.indexOf(expected, at);
      assert.ok(found >= 0, `text note lacks ${JSON.stringify(expected)} after position ${at}:\n${t}`);
      at = found + expected.length;
    }
    // noise a reader cannot use: zero priority, menu ids, the version, "finished", unverified Smart Actions, 2 agents for 2 legs
    for (const noise of ['Queue priority', '6/8', '2026-03-23T20:16:58', 'finished', 'Smart Actions', '2 agents', 'virtual agent #']) {
      assert.ok(!t.includes(noise), `text note has ${JSON.stringify(noise)}:\n${t}`);
    }
    assert.doesNotMatch(t, /\n\n\n/, 'no runs of blank lines');
    assert.doesNotMatch(t, /[ \t]+\n/, 'no trailing spaces');
    assert.ok(t.endsWith('\n'));
  });

  it('text and HTML notes carry the CSAT comment', () => {
    const n = note(buildSession({ csat: { rating: 4, comment: 'Very helpful, thanks!\nWill call again.' } }));
    assert.ok(n.text.includes('Customer rating: 4/5 ★★★★☆\n'));
    assert.ok(n.text.includes("Customer's comment:\n  Very helpful, thanks!\n  Will call again.\n"));
    assert.ok(n.html.includes('4/5 ★★★★☆'));
    assert.ok(n.html.includes('Very helpful, thanks!<br>Will call again.'));
    assert.equal(n.subject, 'Call 1418 · Voice Inbound (IVR) · No Resolution - followup needed; key_1 · CSAT 4/5');
  });

  it('HTML note: the same content, labels in their own words with their colon, links, nothing external', () => {
    const h = note(buildSession()).html;
    assert.ok(h.includes('<strong>Disposition: </strong>No Resolution - followup needed<br>'));
    assert.ok(h.includes('<strong>Agent&#39;s note: </strong>notes<br>'));
    assert.ok(h.includes('<strong>Customer rating: </strong>5/5 ★★★★★<br>'));
    assert.ok(h.includes('<a href="https://crm.example.com/sfc/servlet.shepherd/version/download/068ak00000HCpbFAAT">'));
    assert.ok(h.includes('<a href="https://crm.example.com/lightning/r/Contact/003ak00000ipFq5AAE/view">Contact 003ak00000ipFq5AAE</a>'));
    assert.ok(h.includes('<a href="https://crm.example.com/lightning/r/Case/500ak000024vx4uAAA/view">500ak000024vx4uAAA</a>'));
    assert.doesNotMatch(h, /<script|<style|<img|<link|<iframe|src=|url\(|@import/i);
    assert.ok(h.startsWith('<div'));
  });

  it('chat-135: messages and chat time named as such; no recording, disposition, rating, transfer', () => {
    const n = note(buildChatSession());
    for (const absent of ['Recording', 'Disposition', 'Customer rating', 'CSAT', 'Transfer', 'Escalation', 'How it ended', 'Secured', 'on the call']) {
      assert.ok(!n.text.includes(absent), `text has ${absent}:\n${n.text}`);
      assert.ok(!n.html.includes(absent), `html has ${absent}`);
    }
    assert.ok(n.text.includes('Conversation: 2 messages · 59 sec of chat\n'), n.text);
    assert.ok(n.text.includes('Customer: customer@example.com\n'));
    assert.ok(n.text.includes('  CustomDataOne: test1'));
    assert.ok(n.html.includes('CustomDataOne: test1<br>'));
  });

  it('chat: response times and the transcript file CCAI stores, by name', () => {
    const s = buildChatSession();
    s.chat = { messages: 1, averageResponse: 12, longestResponse: 75 };
    s.media = { transcript: true, recordings: 0 };
    const n = note(s);
    assert.ok(n.text.includes('Conversation: 1 message · 59 sec of chat\n'), n.text);
    assert.ok(n.text.includes('Response time: 12 sec on average · 1 min, 15 sec at the longest\n'), n.text);
    assert.ok(n.text.includes("Transcript: chat-135.txt, stored beside this session's metadata file\n"), n.text);
  });

  it('omits the rating and the CSAT part of the subject when there is no rating', () => {
    const n = note(buildSession({ csat: { rating: null, comment: null } }));
    assert.ok(!n.subject.includes('CSAT'));
    assert.ok(!n.text.includes('Customer rating'));
    assert.ok(!n.text.includes('★'));
    assert.ok(!n.html.includes('Customer rating'));
  });

  it('says why a recording link is withheld', () => {
    const n = note(buildSession({ recording: { permission: 'denied' } }));
    assert.ok(n.text.includes('Recording: link not shown (the caller refused recording)\n'));
    assert.ok(n.html.includes('link not shown (the caller refused recording)'));
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
    assert.ok(n.text.includes(`Agent's note: ${HOSTILE_LIQUID}`));
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
    const forged: Enrichment = { ...e, view: { ...e.view, dispositions: [{ leg: 1, code: 'A\r\nSubject: forged\n\tB' }] } };
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
    assert.ok(n.subject.includes('esc[2Jcode'));
    assert.ok(n.text.includes('Disposition: esc[2Jcode'));
    assert.ok(n.text.includes("Agent's note:\n  nulline\n  tab\there"));
  });

  it('a very long code gives a subject of at most 200 characters', () => {
    const n = note(buildSession({ dispositions: [disposition({ code: 'x'.repeat(500) })] }));
    assert.equal(Array.from(n.subject).length, 200);
    assert.ok(n.subject.endsWith('…'));
  });
});

describe('loading templates', () => {
  it('a broken template fails with the file name and the Liquid error line', async () => {
    const dir = await copyTemplates(tmp, 'broken', { 'note.html.liquid': '<p>\n{{ session.key }}\n{% iff csat %}x{% endif %}\n</p>\n' });
    const err = await loadError(dir);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, /template note\.html\.liquid is broken/);
    assert.match(err.message, /line:3/);
    assert.ok(err.message.includes(join(dir, 'note.html.liquid')));
  });

  it('an unclosed tag is reported with its file', async () => {
    const dir = await copyTemplates(tmp, 'unclosed', { 'subject.liquid': '{% if csat %}CSAT' });
    const err = await loadError(dir);
    assert.match(err.message, /template subject\.liquid is broken/);
    assert.match(err.message, /line:1/);
  });

  it('an unknown filter is an error at load time, not silently ignored', async () => {
    const dir = await copyTemplates(tmp, 'filter', { 'note.txt.liquid': 'ok\n{{ session.key | upcasee }}\n' });
    const err = await loadError(dir);
    assert.match(err.message, /template note\.txt\.liquid is broken/);
    assert.match(err.message, /upcasee/);
  });

  it('a missing template is named', async () => {
    const dir = await copyTemplates(tmp, 'missing', { 'subject.liquid': null });
    const err = await loadError(dir);
    assert.match(err.message, /template subject\.liquid is missing/);
  });

  it('a missing folder is named', async () => {
    const err = await loadError(join(tmp, 'does-not-exist'));
    assert.match(err.message, /templates folder .*does-not-exist does not exist/);
  });

  it('an edited template is used, and may render a partial from its own folder', async () => {
    const dir = await copyTemplates(tmp, 'partial', {
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
      const dir = await copyTemplates(tmp, `escape-${i}`, { 'note.txt.liquid': `x ${attempt}` });
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
    const dir = await copyTemplates(tmp, 'proto', {
      'subject.liquid': '[{{ session.constructor.name }}][{{ fields.__proto__ }}][{{ agents.constructor }}][{{ session.key }}]',
    });
    const t = await loadTemplates(dir);
    assert.equal(renderNote(t, enrich(buildSession(), buildTicket())).subject, '[][][][call-1418]');
  });

  it('the HTML engine escapes by default; the text engine does not', async () => {
    const dir = await copyTemplates(tmp, 'escape', {
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
