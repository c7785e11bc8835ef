// The pictures of the HTML note in the README: the sample call in each shipped language, as
// sent (left) and as a sanitising helpdesk shows it, every `style` attribute and `<style>`
// block removed (right), rendered by Debian's Chromium through playwright-core.
//
//   docs/note-<language>.png      (en, fr, es, de, pt)
//
//   npm run note-pictures         (needs /usr/bin/chromium: apt-get install chromium)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { escapeHtml } from '../src/render/sanitise.ts';
import { STRIP_STYLES, launchChromium } from '../test/helpers/chromium.ts';
import { ROOT } from '../test/helpers/env.ts';
import { NOTE_LANGUAGES, renderExample } from '../test/helpers/note-examples.ts';
import type { NoteLanguage } from '../test/helpers/note-examples.ts';

const WIDTH = 1400;

function page(subject: string, html: string): string {
  const column = (title: string, id: string) =>
    `<td style="vertical-align:top;width:50%;padding:16px;border:1px solid #dadce0"><div style="font:12px Arial,sans-serif;color:#5f6368;margin-bottom:12px">${title}</div><div id="${id}">${html}</div></td>`;
  return `<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:16px;background:#fff">
<div style="font:bold 15px Arial,sans-serif;margin-bottom:10px">${escapeHtml(subject)}</div>
<table style="border-collapse:collapse;width:100%"><tr>${column('As sent', 'sent')}${column('Styles removed (as Request Tracker, Zendesk or Gmail may show it)', 'stripped')}</tr></table>
</body></html>`;
}

const browser = await launchChromium();
try {
  const tab = await browser.newPage({ viewport: { width: WIDTH, height: 900 } });
  await tab.route('**/*', (route) => route.abort());
  for (const language of Object.keys(NOTE_LANGUAGES) as NoteLanguage[]) {
    const note = await renderExample(language, 'call-1418');
    await tab.setContent(page(note.subject, note.html));
    await tab.evaluate(`(${STRIP_STYLES})(document.getElementById('stripped'))`);
    const path = join(ROOT, 'docs', `note-${language}.png`);
    writeFileSync(path, await tab.screenshot({ fullPage: true }));
    console.log(path);
  }
} finally {
  await browser.close();
}
