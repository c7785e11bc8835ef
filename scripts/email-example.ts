// The example e-mail in the README, made by the real code path: the e-mail target (CRM=email)
// through the real queue and worker into the test SMTP sink on loopback, for the sample call
// samples/metadata_call-1418.json. Writes what the sink received:
//
//   docs/email-example.eml    the raw message as sent (Date header and MIME boundary change
//                             from run to run; everything else is the same)
//   docs/email-example.txt    its text part
//   docs/email-example.html   its HTML part
//   docs/email-example.png    a picture of the HTML part, when /usr/bin/chromium exists
//
//   npm run email-example
//
// Needs Redis (REDIS_URL or 127.0.0.1:6379). Uses its own key prefix and removes it after.
// Chromium is only for the picture (apt-get install chromium); nothing else needs it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { createApp } from '../src/app/app.ts';
import { CHROMIUM, launchChromium } from '../test/helpers/chromium.ts';
import { ROOT, TEST_REDIS_URL, dropPrefix, tempDir, uniquePrefix } from '../test/helpers/env.ts';
import { emailSettings, startSmtpSink } from '../test/helpers/smtp-sink.ts';

const SAMPLE = join(ROOT, 'samples/metadata_call-1418.json');
const DOCS = join(ROOT, 'docs');
const WIDTH = 900;

/** The message the worker sends for the sample call, as the SMTP server received it. */
async function sendSample(): Promise<{ raw: Buffer; text: string; html: string; subject: string }> {
  const sink = await startSmtpSink();
  const prefix = uniquePrefix('email-example');
  const tmp = tempDir('ccai-email-example');
  try {
    const config = loadConfig(emailSettings(sink.url, prefix, tmp.path, TEST_REDIS_URL));
    const app = await createApp(config, createLogger('warn'), { worker: true, allowPrivateRedis: false });
    try {
      const submitted = await app.submit(readFileSync(SAMPLE), 'metadata_call-1418.json');
      if (!submitted.jobId) throw new Error(`the sample was not queued: ${JSON.stringify(submitted)}`);
      const outcome = await app.queue.waitFor(submitted.jobId);
      if (outcome.status !== 'delivered') throw new Error(`the job ended ${outcome.status}: ${JSON.stringify(outcome)}`);
      await sink.waitFor(1);
    } finally {
      await app.close();
    }
    const m = sink.messages[0]!;
    if (typeof m.parsed.html !== 'string' || !m.parsed.text) throw new Error('the message lacks a text or an HTML part');
    return { raw: m.raw, text: m.parsed.text, html: m.parsed.html, subject: m.parsed.subject ?? '' };
  } finally {
    await sink.stop();
    await dropPrefix(prefix);
    tmp.cleanup();
  }
}

/**
 * Screenshots the HTML part with headless Chromium (test/helpers/chromium.ts), as a mail client
 * shows it: in a UTF-8 page (the part's charset is in its MIME header, not in the HTML) with a
 * small margin, as tall as the e-mail. Nothing external loads.
 */
async function screenshot(html: string, png: string): Promise<void> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: WIDTH, height: 600 } });
    await page.route('**/*', (route) => route.abort());
    await page.setContent(`<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:16px;background:#fff">\n${html}</body></html>\n`);
    writeFileSync(png, await page.screenshot({ fullPage: true }));
  } finally {
    await browser.close();
  }
}

const m = await sendSample();
mkdirSync(DOCS, { recursive: true });
writeFileSync(join(DOCS, 'email-example.eml'), m.raw);
writeFileSync(join(DOCS, 'email-example.txt'), m.text.endsWith('\n') ? m.text : `${m.text}\n`);
writeFileSync(join(DOCS, 'email-example.html'), m.html);
console.log(`Subject: ${m.subject}`);
console.log('wrote docs/email-example.eml, docs/email-example.txt, docs/email-example.html');
if (existsSync(CHROMIUM)) {
  await screenshot(m.html, join(DOCS, 'email-example.png'));
  console.log('wrote docs/email-example.png');
} else {
  console.log(`no ${CHROMIUM}: for docs/email-example.png install Chromium (apt-get install chromium) and run this again`);
}
