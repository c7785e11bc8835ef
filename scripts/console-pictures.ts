// The pictures of the admin console in the README, taken in Debian's Chromium (playwright-core)
// from a worker process on the Salesforce double with a morning's trouble in it (the browser
// test's scenario: sessions refused by a validation rule on a closed Case, a delivered one, a
// chat with no ticket, a truncated file):
//
//   docs/console-overview.png     the overview
//   docs/console-session.png      a failed session's page
//
//   npm run console-pictures      (needs Redis and /usr/bin/chromium: apt-get install chromium)
import { join } from 'node:path';
import { launchChromium } from '../test/helpers/chromium.ts';
import { startConsoleScenario } from '../test/helpers/console-scenario.ts';
import { ROOT } from '../test/helpers/env.ts';

const s = await startConsoleScenario();
try {
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ httpCredentials: { username: s.user, password: s.password }, viewport: { width: 1200, height: 900 }, deviceScaleFactor: 1 });
    const tab = await context.newPage();
    await tab.goto(`${s.base}/admin`);
    const overview = join(ROOT, 'docs', 'console-overview.png');
    await tab.screenshot({ path: overview, fullPage: true });
    console.log(overview);
    await tab.goto(`${s.base}/admin/sessions/${s.failed[0]}`);
    const session = join(ROOT, 'docs', 'console-session.png');
    await tab.screenshot({ path: session, fullPage: true });
    console.log(session);
  } finally {
    await browser.close();
  }
} finally {
  await s.stop();
}
