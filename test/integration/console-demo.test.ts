// `demo --console` (`npm run console-demo`) as a real process: the samples through the queue,
// call-987 refused on the demo's closed ticket, then a worker with the console on, its address
// and a new password printed. What the printed lines say works: the failure's page, the fix
// (`local-crm reopen`), a replay from the console, delivered. A configured inbox is left to the
// real workers; Ctrl-C stops it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formToken } from '../../src/admin/auth.ts';
import { CLI, TEST_REDIS_URL, dropPrefix, freePort, runCli, stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.ts';
import { callOnTicket } from '../helpers/documents.ts';

describe('demo --console', () => {
  const prefix = uniquePrefix('cdemo');
  const tmp = tempDir('ccai-cdemo');
  after(async () => {
    await dropPrefix(`${prefix}-demo`);
    tmp.cleanup();
  });

  it('prints the console and its password; the failure, the fix and the replay work as it says', async () => {
    const port = await freePort();
    const inbox = join(tmp.path, 'inbox');
    mkdirSync(inbox);
    writeFileSync(join(inbox, 'metadata_call-555.json'), callOnTicket(555, '500ak000024vx4uAAA'));
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: join(tmp.path, 'data'), HTTP_PORT: String(port), INBOX_DIR: inbox };
    const child = spawn(process.execPath, [CLI, 'demo', '--console'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    let stopped: Awaited<ReturnType<typeof stopChild>> | null = null;
    try {
      const printed = await waitFor('the console printed', async () => /password: (\S+)/.exec(out) && /Ctrl-C stops/.test(out) && out, 60_000);
      const password = /password: (\S+)/.exec(printed)![1]!;
      assert.match(printed, new RegExp(`The admin console: http://127\\.0\\.0\\.1:${port}/admin\\n  user:     admin\\n`));
      assert.match(printed, /failed\s+call-987\s+500ak00001nkg4MAAQ[\s\S]*TARGET_REJECTED: the local CRM refused the note: ticket 500ak00001nkg4MAAQ is closed/);
      const reopen = /npm run cli -- --data-dir (\S+) local-crm reopen 500ak00001nkg4MAAQ/.exec(printed);
      assert.ok(reopen, printed);
      const auth = { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` };
      const base = `http://127.0.0.1:${port}`;

      const page = await (await fetch(`${base}/admin/sessions/call-987`, { headers: auth })).text();
      assert.match(page, /is closed \(resolved by phone before the call was synced\)/);
      // the fix, as printed
      const fixed = await runCli(['--data-dir', reopen[1]!, 'local-crm', 'reopen', '500ak00001nkg4MAAQ'], { REDIS_URL: TEST_REDIS_URL });
      assert.equal(fixed.code, 0, fixed.stderr);
      const replay = await fetch(`${base}/admin/replay`, {
        method: 'POST',
        headers: { ...auth, origin: base, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: formToken({ user: 'admin', password }), session: 'call-987' }).toString(),
        redirect: 'manual',
      });
      assert.equal(replay.status, 303);
      await waitFor('call-987 delivered', async () => /state s-delivered/.test(await (await fetch(`${base}/admin/sessions/call-987`, { headers: auth })).text()), 30_000);
      // the configured inbox was not read: its file is where it was, unknown to the demo
      assert.ok(existsSync(join(inbox, 'metadata_call-555.json')));
      assert.equal((await fetch(`${base}/admin/sessions/call-555`, { headers: auth })).status, 404);
      assert.doesNotMatch(err, new RegExp(password), 'the password is printed once, on stdout, never logged');
    } finally {
      stopped = await stopChild(child, 'SIGINT');
    }
    assert.equal(stopped.code, 0, `${out}\n${err}`);
  });
});
