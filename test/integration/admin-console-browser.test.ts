// The admin console in Debian's Chromium (playwright-core), against a worker process on the
// Salesforce double: an admin signs in, finds the failed sessions and why (in Salesforce's
// words), fixes the cause, replays every failure with that code after seeing the count, and
// sees them delivered; a note with markup in it shows that markup as text. Plus what the
// browser does not show: a change from another site is refused, and so is one without the
// console's form token; read-only shows no button and refuses the change.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { formToken } from '../../src/admin/auth.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { HOSTILE_NOTE, RULE_MESSAGE, startConsoleScenario } from '../helpers/console-scenario.ts';
import type { ConsoleScenario } from '../helpers/console-scenario.ts';
import { TEST_REDIS_URL, dropPrefix, runCli, startWorkerProcess, tempDir, uniquePrefix, waitFor } from '../helpers/env.ts';

const auth = (s: ConsoleScenario) => ({ authorization: `Basic ${Buffer.from(`${s.user}:${s.password}`).toString('base64')}` });

describe('admin console in a browser', () => {
  let s: ConsoleScenario;
  let browser: Browser;
  let context: BrowserContext;
  const dialogs: string[] = [];
  before(async () => {
    s = await startConsoleScenario();
    browser = await launchChromium();
    context = await browser.newContext({ httpCredentials: { username: s.user, password: s.password }, viewport: { width: 1280, height: 900 } });
    context.on('page', (p) => p.on('dialog', (d) => void (dialogs.push(d.message()), d.dismiss())));
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await s?.stop();
  });

  it('asks for the credentials, and refuses wrong ones', async () => {
    assert.equal((await fetch(`${s.base}/admin`)).status, 401);
    assert.match((await fetch(`${s.base}/admin`)).headers.get('www-authenticate') ?? '', /^Basic realm="ccai-crm-sync admin"/);
    const wrong = { authorization: `Basic ${Buffer.from(`${s.user}:not-the-password`).toString('base64')}` };
    assert.equal((await fetch(`${s.base}/admin`, { headers: wrong })).status, 401);
    assert.equal((await fetch(`${s.base}/admin/queues`, { headers: wrong })).status, 401, 'bull-board is behind the same door');
    assert.equal((await fetch(`${s.base}/admin`, { headers: auth(s) })).status, 200);
    assert.doesNotMatch(s.worker.stderr(), new RegExp(s.password), 'the password is never logged');
    assert.match(s.worker.stderr(), /admin console: wrong user or password/);
    assert.doesNotMatch(s.worker.stderr(), /not-the-password/, 'nor what was tried');
  });

  it('finds the failed sessions, reads why, replays every one with that code, and sees them delivered', async () => {
    const page = await context.newPage();
    await page.goto(`${s.base}/admin`);
    // the overview: failed now, by code, with the count and the latest reason in Salesforce's words
    const row = page.locator('table.failed tr', { hasText: 'TARGET_REJECTED' });
    await row.waitFor();
    assert.match(await row.innerText(), /TARGET_REJECTED[\s\S]*\b3\b[\s\S]*FIELD_CUSTOM_VALIDATION_EXCEPTION: Closed cases cannot get new activities/);
    const counts = page.locator('table.counts');
    assert.match(await counts.innerText(), /last hour\s+4\s+0\s+1\s+1\s+0\s+3/, 'queued, retrying, delivered, skipped, rejected, failed');
    assert.match(await page.locator('section#sources').locator('tr', { hasText: 'inbox' }).innerText(), /inbox[\s\S]*ok[\s\S]*watching/);
    assert.match(await page.locator('section#target').innerText(), /salesforce[\s\S]*API usage\s+\d+ of 100,000 API requests/);

    // search: every failed session with that code
    await page.goto(`${s.base}/admin/sessions`);
    await page.selectOption('select[name=state]', 'failed');
    await page.fill('input[name=code]', 'TARGET_REJECTED');
    await page.click('form.search button[type=submit]');
    const found = await page.locator('table.sessions tbody tr td:first-child a').allInnerTexts();
    assert.deepEqual([...found].sort(), [...s.failed].sort());

    // one session's page: its reason, its attempts, the ticket's link
    await page.click(`text=${s.failed[0]}`);
    await page.waitForURL(`**/admin/sessions/${s.failed[0]}`);
    const facts = await page.locator('table.facts').innerText();
    assert.match(facts, /failed/);
    assert.ok(facts.includes(RULE_MESSAGE), facts);
    assert.match(facts, /TARGET_REJECTED/);
    assert.equal(await page.locator('table.facts a', { hasText: s.closedCase }).getAttribute('href'), `https://acme.my.salesforce.com/lightning/r/Case/${s.closedCase}/view`);
    assert.match(await page.locator('table.events').first().innerText(), /queued[\s\S]*failed/);

    // the fix, then the replay of every TARGET_REJECTED failure, after seeing how many
    s.fix();
    await page.goto(`${s.base}/admin`);
    await page.click('table.failed tr:has-text("TARGET_REJECTED") a.button');
    await page.waitForURL('**/admin/replay?code=TARGET_REJECTED');
    assert.match(await page.locator('p.lede').innerText(), /^3 failed session\(s\): every failed session with TARGET_REJECTED\.$/);
    await page.click('button.primary');
    // the answer is a page of its own (reloading it replays nothing)
    await page.waitForURL('**/admin/replay/done?code=TARGET_REJECTED&n=3');
    assert.match(await page.locator('p.lede').innerText(), /Replayed 3 session\(s\): failed sessions with TARGET_REJECTED/);

    // delivered: the session pages say so (read as the admin would, by reloading)
    for (const key of s.failed) {
      await waitFor(`${key} delivered`, async () => {
        await page.goto(`${s.base}/admin/sessions/${key}`);
        return /delivered/.test(await page.locator('table.facts tr', { hasText: 'Status' }).innerText());
      }, 30_000);
      const story = await page.locator('table.events').first().innerText();
      assert.match(story, /failed[\s\S]*replayed[\s\S]*delivered/, story);
    }
    const tasks = s.sf.records('Task').filter((t) => t.WhatId === s.closedCase);
    assert.equal(tasks.length, 3, 'one Task per replayed session, none twice');
    await page.goto(`${s.base}/admin`);
    assert.match(await page.locator('section#failed').innerText(), /No failed session is waiting for a replay/);
    await page.close();
  });

  it('finds sessions by ticket, by session key and by time range', async () => {
    const page = await context.newPage();
    await page.goto(`${s.base}/admin/sessions`);
    await page.fill('input[name=q]', s.closedCase);
    await page.click('form.search button[type=submit]');
    const onTicket = await page.locator('table.sessions tbody tr td:first-child a').allInnerTexts();
    assert.deepEqual([...onTicket].sort(), [...s.failed].sort());
    // a Salesforce id as its 15-character form finds the same
    await page.fill('input[name=q]', s.closedCase.slice(0, 15));
    await page.click('form.search button[type=submit]');
    assert.deepEqual([...(await page.locator('table.sessions tbody tr td:first-child a').allInnerTexts())].sort(), [...s.failed].sort());
    // a session key opens its page
    await page.fill('input[name=q]', s.hostile);
    await page.click('form.search button[type=submit]');
    await page.waitForURL(`**/admin/sessions/${s.hostile}`);
    // a range that ended before the sessions: nothing; one around now: all five that have a key
    const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16);
    await page.goto(`${s.base}/admin/sessions?from=${iso(Date.now() - 3_600_000)}&to=${iso(Date.now() - 1_800_000)}`);
    assert.equal(await page.locator('table.sessions').count(), 0);
    assert.match(await page.locator('main').innerText(), /No session matches/);
    await page.goto(`${s.base}/admin/sessions?from=${iso(Date.now() - 600_000)}&to=${iso(Date.now() + 60_000)}`);
    const recent = await page.locator('table.sessions tbody tr td:first-child a').allInnerTexts();
    assert.deepEqual([...recent].sort(), [...s.failed, s.hostile, 'chat-135'].sort());
    await page.close();
  });

  it('shows markup from a note as text, and runs none of it', async () => {
    const page = await context.newPage();
    await page.goto(`${s.base}/admin/sessions/${s.hostile}`);
    const text = await page.locator('pre.note').innerText();
    assert.ok(text.includes(HOSTILE_NOTE), text);
    assert.equal(await page.locator('main script, main img').count(), 0);
    // the HTML note, in its sandboxed frame: the same words, as text
    await page.click('details summary');
    const frame = page.frameLocator('iframe.note');
    assert.ok((await frame.locator('body').innerText()).includes(HOSTILE_NOTE));
    assert.equal(await frame.locator('script, img[onerror]').count(), 0);
    assert.deepEqual(dialogs, [], 'no script ran');
    await page.close();
  });

  it('refuses a change from another site, or without the form token', async () => {
    const form = (extra: Record<string, string>) => new URLSearchParams({ code: 'TARGET_REJECTED', ...extra }).toString();
    const headers = { ...auth(s), 'content-type': 'application/x-www-form-urlencoded' };
    // the console's own token: what is refused below is refused for its origin alone
    const token = formToken({ user: s.user, password: s.password });
    const cross = await fetch(`${s.base}/admin/replay`, { method: 'POST', headers: { ...headers, origin: 'http://evil.example' }, body: form({ token: token }) });
    assert.equal(cross.status, 403);
    const none = await fetch(`${s.base}/admin/replay`, { method: 'POST', headers, body: form({ token: token }) });
    assert.equal(none.status, 403, 'neither Origin nor Referer: refused');
    const noToken = await fetch(`${s.base}/admin/replay`, { method: 'POST', headers: { ...headers, origin: s.base }, body: form({}) });
    assert.equal(noToken.status, 403);
    assert.match(await noToken.text(), /token is missing or wrong/);
    // a count that is no longer true (5 confirmed, none failed now): asked again, nothing replayed
    const stale = await fetch(`${s.base}/admin/replay`, { method: 'POST', headers: { ...headers, origin: s.base }, body: form({ token, expected: '5' }), redirect: 'manual' });
    assert.equal(stale.status, 409);
    assert.match(await stale.text(), /The count changed since you looked: 0 now, not 5\. Nothing was replayed/);
    // bull-board's actions go through the same check
    const board = await fetch(`${s.base}/admin/queues/api/queues`, { headers: auth(s) });
    assert.equal(board.status, 200);
    const boardPut = await fetch(`${s.base}/admin/queues/api/queues/x/retry/failed`, { method: 'PUT', headers: { ...auth(s), origin: 'http://evil.example' } });
    assert.equal(boardPut.status, 403);
  });
});

describe('admin console, read-only', () => {
  let s: ConsoleScenario;
  before(async () => {
    s = await startConsoleScenario({ readOnly: true });
  });
  after(async () => {
    await s?.stop();
  });

  it('shows everything and offers no change; a replay posted anyway is refused and changes nothing', async () => {
    const overview = await (await fetch(`${s.base}/admin`, { headers: auth(s) })).text();
    assert.match(overview, /read-only/);
    assert.match(overview, /TARGET_REJECTED/);
    assert.doesNotMatch(overview, /<form|class="button"/);
    const session = await (await fetch(`${s.base}/admin/sessions/${s.failed[0]}`, { headers: auth(s) })).text();
    assert.doesNotMatch(session, /<form/);
    assert.match(session, /Closed cases cannot get new activities/);
    // with everything a change needs (the console's origin and its token), still refused
    const token = formToken({ user: s.user, password: s.password });
    const r = await fetch(`${s.base}/admin/replay`, { method: 'POST', headers: { ...auth(s), origin: s.base, 'content-type': 'application/x-www-form-urlencoded' }, body: `code=TARGET_REJECTED&token=${encodeURIComponent(token)}`, redirect: 'manual' });
    assert.equal(r.status, 403);
    assert.match(await r.text(), /read-only \(ADMIN_READ_ONLY=true\)/);
    // and so are bull-board's actions
    const queues = (await (await fetch(`${s.base}/admin/queues/api/queues`, { headers: auth(s) })).json()) as { queues: Array<{ name: string }> };
    const retry = await fetch(`${s.base}/admin/queues/api/queues/${encodeURIComponent(queues.queues[0]!.name)}/retry/failed`, { method: 'PUT', headers: { ...auth(s), origin: s.base } });
    assert.equal(retry.status, 405);
    assert.equal(await s.state(s.failed[0]!), 'failed');
    assert.equal((await (await fetch(`${s.base}/admin`, { headers: auth(s) })).text()).match(/TARGET_REJECTED<\/code><\/a>[\s\S]*?<td class="num">(\d+)/)?.[1], '3', 'all three still failed');
  });
});

describe('admin console, off', () => {
  it('is off without ADMIN_PASSWORD, and the log says how to turn it on', async () => {
    const prefix = uniquePrefix('console-off');
    const tmp = tempDir('ccai-console-off');
    const w = await startWorkerProcess({ REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: tmp.path, JOB_THREADS: '0' });
    try {
      const r = await fetch(`http://127.0.0.1:${w.port}/admin`);
      assert.equal(r.status, 404);
      assert.match(await r.text(), /admin console is off: set ADMIN_PASSWORD/);
      assert.equal((await fetch(`http://127.0.0.1:${w.port}/admin/queues`)).status, 404);
      assert.match(w.stderr(), /admin console off: set ADMIN_PASSWORD \(or ADMIN_PASSWORD_FILE\)/);
    } finally {
      await w.stop();
      await dropPrefix(prefix);
      tmp.cleanup();
    }
  });

  it('refuses to start with a password too short to be one', async () => {
    const r = await runCli(['worker'], { REDIS_URL: TEST_REDIS_URL, ADMIN_PASSWORD: 'tiny-pw-77' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /ADMIN_PASSWORD: must be at least 12 characters/);
    assert.equal(r.stderr.includes('tiny-pw-77'), false, 'the value is not repeated');
  });
});
