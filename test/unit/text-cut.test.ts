import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSession } from '../../src/domain/session/parse.ts';
import { enrich } from '../../src/domain/enrich/enrich.ts';
import { AGENT_TEXT_MAX_CHARS, codePointLength, cutText, cutUtf8 } from '../../src/domain/text-cut.ts';
import { readFileSync } from 'node:fs';
import { intake } from '../../src/domain/intake.ts';
import { FIELD_TEXT_MAX_CHARS, NOTE_TEXT_MAX_CHARS } from '../../src/domain/text-cut.ts';
import { prepareJob } from '../../src/pipeline/prepare.ts';
import { loadTemplates } from '../../src/render/templates.ts';

const doc = () => JSON.parse(readFileSync(new URL('../fixtures/sessions/metadata_call-1418.json', import.meta.url), 'utf8')) as Record<string, any>;

describe('cutting text visibly', () => {
  it('leaves text that fits alone', () => {
    assert.deepEqual(cutText('short', 10), { text: 'short', removed: 0 });
    assert.deepEqual(cutUtf8('héllo', 6), { text: 'héllo', removed: 0 });
  });

  it('ends cut text with how many characters were left out, within the limit', () => {
    const c = cutText('a'.repeat(1_000), 100);
    assert.ok(c.text.length <= 100);
    assert.equal(c.removed, 1_000 - c.text.indexOf('…'));
    assert.ok(c.text.endsWith(`… (${c.removed} characters more)`));
  });

  it('never splits a character made of two UTF-16 units, and counts it as one', () => {
    const text = '😀'.repeat(100); // 200 units, 100 characters
    for (let max = 30; max < 40; max++) {
      const c = cutText(text, max);
      assert.ok(c.text.length <= max);
      assert.doesNotMatch(c.text, /[\ud800-\udbff](?![\udc00-\udfff])/, 'no lone high surrogate');
      assert.equal(codePointLength(c.text.slice(0, c.text.indexOf('…'))) + c.removed, 100);
    }
  });

  it('stays within a small limit: a bare … where the marker would not leave room for text', () => {
    for (let max = 0; max <= 60; max++) {
      const c = cutText('abcdefghijklmnopqrstuvwxyz'.repeat(4), max);
      assert.ok(c.text.length <= max, `${max}: ${c.text}`);
      const b = cutUtf8('é'.repeat(100), max);
      assert.ok(Buffer.byteLength(b.text) <= max, `${max} bytes: ${b.text}`);
    }
    assert.equal(cutText('abcdefghijklmnop', 10).text, 'abcdefghi…');
  });

  it('counts bytes for byte limits', () => {
    const c = cutUtf8('€'.repeat(3000), 4000);
    assert.ok(Buffer.byteLength(c.text) <= 4000);
    assert.equal(codePointLength(c.text.slice(0, c.text.indexOf('…'))) + c.removed, 3000);
  });
});

describe('agent text has a size limit', () => {
  it('a 4 MB note is cut once, with a warning, and stored cut in the fields and the note', () => {
    const d = doc();
    d.dispositions[1].note = 'x'.repeat(4 * 1024 * 1024);
    d.feedback = 'f'.repeat(AGENT_TEXT_MAX_CHARS + 1);
    d.custom_data_not_secured = { order: { label: 'Order', value: 'o'.repeat(20_000) } };
    const r = parseSession(JSON.stringify(d));
    assert.ok(r.ok);
    if (!r.ok) return;
    const note = r.session.dispositions[1]!.note!;
    assert.ok(note.length <= AGENT_TEXT_MAX_CHARS);
    assert.ok(note.endsWith(`… (${(4 * 1024 * 1024 - note.indexOf('…')).toLocaleString('en-US')} characters more)`), note.slice(-40));
    assert.ok(r.session.csat.comment!.length <= AGENT_TEXT_MAX_CHARS);
    assert.ok(r.session.customData[0]!.value.length <= AGENT_TEXT_MAX_CHARS);
    assert.deepEqual(r.warnings.map((w) => w.field), ['feedback', 'dispositions[1].note', 'custom_data_not_secured.order.value']);
    assert.match(r.warnings[1]!.message, /^dispositions\[1\]\.note is 4,194,304 characters long; cut to 10,000 \(the limit for agent text\), 4,18\d,\d{3} left out$/);
    const e = enrich(r.session, { system: 'salesforce', id: '500ak000024vx4uAAA', url: null, object: 'Case', isAccount: false });
    assert.ok(String(e.fields.disposition_notes).length < 2 * AGENT_TEXT_MAX_CHARS);
  });

  it('text within the limit is untouched and says nothing', () => {
    const d = doc();
    d.dispositions[1].note = 'n'.repeat(AGENT_TEXT_MAX_CHARS);
    const r = parseSession(JSON.stringify(d));
    assert.ok(r.ok && r.session.dispositions[1]!.note!.length === AGENT_TEXT_MAX_CHARS && r.warnings.length === 0);
  });
});

describe('every place written has a limit', () => {
  it('450 legs of 9,990-character notes (a 4.5 MB file): the field, the note text and its HTML are each cut, with warnings', async () => {
    const d = doc();
    const leg = d.dispositions[1];
    d.dispositions = Array.from({ length: 450 }, (_, i) => ({ ...leg, code: `code-${i}`, note: 'n'.repeat(9_990) }));
    const bytes = Buffer.from(JSON.stringify(d));
    assert.ok(bytes.length > 4_400_000 && bytes.length < 5 * 1024 * 1024);
    const opts = { intake: { maxBytes: 5 * 1024 * 1024, allowedHosts: [] }, enrich: { recordingLink: 'unless-denied' as const, includeSecuredCustomData: false }, templates: await loadTemplates() };
    const r = intake(bytes, opts.intake);
    assert.equal(r.status, 'accepted');
    assert.deepEqual(r.status === 'accepted' ? r.warnings : null, [], 'each note alone is within the per-value limit');
    const p = prepareJob(opts, bytes.toString('utf8'), true);
    assert.ok(p.skip === null);
    if (p.skip !== null) return;
    assert.ok(String(p.update.fields.disposition_notes).length <= FIELD_TEXT_MAX_CHARS);
    assert.match(String(p.update.fields.disposition_notes), /… \([\d,]+ characters more\)$/);
    assert.ok(p.note.text.length <= NOTE_TEXT_MAX_CHARS);
    assert.match(p.note.text, /… \([\d,]+ characters more\)$/);
    assert.ok(p.note.html.length <= 2 * NOTE_TEXT_MAX_CHARS + 100);
    assert.deepEqual(p.warnings.map((w) => w.field), ['fields.disposition_notes', 'note.text', 'note.html']);
    assert.ok(!('warnings' in p.update), 'the warnings do not travel to the target');
  });
});
