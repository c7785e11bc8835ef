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
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { createApp } from '../src/app/app.ts';
import { ROOT, TEST_REDIS_URL, dropPrefix, tempDir, uniquePrefix } from '../test/helpers/env.ts';
import { emailSettings, startSmtpSink } from '../test/helpers/smtp-sink.ts';

const SAMPLE = join(ROOT, 'samples/metadata_call-1418.json');
const DOCS = join(ROOT, 'docs');
const CHROMIUM = '/usr/bin/chromium';
const WIDTH = 900;
const run = promisify(execFile);

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
 * Screenshots the HTML part with headless Chromium, as a mail client shows it: in a UTF-8 page
 * (the part's charset is in its MIME header, not in the HTML) with a small margin. The page is
 * measured first (a script in a throwaway copy writes its height into the DOM) so the picture
 * is as tall as the e-mail.
 */
async function screenshot(html: string, png: string): Promise<void> {
  const work = tempDir('ccai-email-example-chromium');
  try {
    const page = (extra: string) => `<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:16px;background:#fff">\n${html}${extra}</body></html>\n`;
    const flags = (profile: string) => [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--hide-scrollbars',
      `--user-data-dir=${join(work.path, profile)}`,
    ];
    const measure = join(work.path, 'measure.html');
    // the body's own height plus its margins: scrollHeight would be at least the window's
    writeFileSync(measure, page('<script>document.body.setAttribute("data-height", String(Math.ceil(document.body.getBoundingClientRect().height) + 32))</script>'));
    const { stdout } = await run(CHROMIUM, [...flags('measure'), `--window-size=${WIDTH},2000`, '--dump-dom', pathToFileURL(measure).href], { timeout: 60_000 });
    const measured = Number(/data-height="(\d+)"/.exec(stdout)?.[1]);
    const height = Number.isFinite(measured) && measured > 0 ? measured : 2000;
    const shown = join(work.path, 'email.html');
    writeFileSync(shown, page(''));
    await run(CHROMIUM, [...flags('shot'), `--window-size=${WIDTH},${height}`, `--screenshot=${png}`, pathToFileURL(shown).href], { timeout: 60_000 });
    if (!existsSync(png)) throw new Error(`chromium wrote no ${png}`);
  } finally {
    work.cleanup();
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
