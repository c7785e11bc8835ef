// Debian's Chromium (/usr/bin/chromium, installed by .ci/run), driven by playwright-core: no
// browser download. Headless, no sandbox (CI runs as root), and none of Chromium's background
// connections (the machines' network is closed; they would fail at every start).
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/**
 * What a sanitising helpdesk does to an HTML note (Request Tracker 5 strips `style`
 * attributes; Gmail drops `<style>` blocks; Zendesk keeps a few properties at most): every
 * `style` attribute and `<style>` element removed, in the page's own DOM.
 */
export const STRIP_STYLES = `(root) => {
  for (const el of root.querySelectorAll('style')) el.remove();
  for (const el of root.querySelectorAll('[style]')) el.removeAttribute('style');
}`;

/** Opens an HTML note in a page as a helpdesk shows it: its styles removed. Nothing external loads. */
export async function openStripped(page: Page, html: string): Promise<void> {
  await page.route('**/*', (route) => (route.request().url().startsWith('data:') ? route.continue() : route.abort()));
  await page.setContent(`<!doctype html><html><head><meta charset="utf-8"></head><body>${html}</body></html>`);
  await page.evaluate(`(${STRIP_STYLES})(document)`);
}
