import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSession } from '../../src/domain/session.ts';
import { enrich } from '../../src/domain/enrichment.ts';
import { AGENT_TEXT_MAX_CHARS, codePointLength, cutText, cutUtf8 } from '../../src/domain/text-cut.ts';
import { readFileSync } from 'node:fs';

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
