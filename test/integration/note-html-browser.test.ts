// The HTML note as sanitising helpdesks show it (Request Tracker 5 strips `style` attributes,
// Gmail drops `<style>` blocks): every style removed, rendered by a real Chromium. What a
// reader then sees must be what the text note says, line for line: labels with their colon,
// parts with their separators, nothing run together ("Rating5/5"), in every shipped language.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { enrich } from '../../src/domain/enrich/enrich.ts';
import { loadTemplates, renderNote } from '../../src/render/templates.ts';
import { launchChromium, openStripped } from '../helpers/chromium.ts';
import { NOTE_LANGUAGES, NOTE_SAMPLES, renderExample } from '../helpers/note-examples.ts';
import type { NoteLanguage, NoteSample } from '../helpers/note-examples.ts';
import { buildSession, buildTicket, disposition } from '../helpers/session-builder.ts';

let browser: Browser;
let page: Page;

before(async () => {
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 900, height: 800 } });
});
after(async () => {
  await browser?.close();
});

/** The lines a reader sees, trimmed, without blank ones. */
function seen(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

/** Lines of the text note that the HTML must show the same way (links are shown as links there). */
function comparable(text: string): string[] {
  return seen(text).filter((l) => l !== '--' && !/https?:\/\//.test(l));
}

describe('the HTML note with every style removed, in Chromium', () => {
  for (const language of Object.keys(NOTE_LANGUAGES) as NoteLanguage[]) {
    for (const sample of Object.keys(NOTE_SAMPLES) as NoteSample[]) {
      it(`${sample} in ${language}: reads as the text note does`, async () => {
        const note = await renderExample(language, sample);
        await openStripped(page, note.html);
        const shown = seen(String(await page.evaluate('document.body.innerText')));
        for (const line of comparable(note.text)) {
          assert.ok(shown.includes(line), `the stripped HTML does not show ${JSON.stringify(line)} as a line; it shows:\n${shown.join('\n')}`);
        }
        // and nothing the text note lacks, but the lines whose links show the record's id
        // (the customer's Contact, the Case) where the text note shows the address
        const text = new Set(seen(note.text));
        const extra = shown.filter((l) => !text.has(l) && l !== '--' && !/003ak00000ipFq5AAE|500ak000024vx4uAAA/.test(l));
        assert.deepEqual(extra, [], 'the HTML shows lines the text note does not have');
      });
    }
  }

  it('a <script> in an agent note is shown as text and never runs', async () => {
    const templates = await loadTemplates();
    const hostile = '<script>document.title="pwned"</script><img src=x onerror="document.title=\'pwned\'">';
    const note = renderNote(templates, enrich(buildSession({ dispositions: [disposition({ code: 'Resolved', note: hostile })] }), buildTicket()));
    await openStripped(page, note.html);
    assert.notEqual(await page.title(), 'pwned');
    assert.equal(await page.locator('script, img').count(), 0);
    assert.ok(String(await page.evaluate('document.body.innerText')).includes(hostile));
  });
});
