// Finding Redis: REDIS_URL, else the default address, else a private redis-server from PATH,
// else a plain explanation. Uses the real redis-server binary.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/logger.ts';
import { ensureRedis, ping } from '../../src/store/redis.ts';
import { TEST_REDIS_URL, freePort, runCli, stopChild, tempDir, waitFor } from '../helpers/env.ts';

const log = createLogger('silent');
const CLOSED = 'redis://127.0.0.1:1';

describe('ensureRedis', () => {
  it('uses REDIS_URL when it answers', async () => {
    const h = await ensureRedis({ url: TEST_REDIS_URL, dataDir: '/nonexistent', log, allowPrivate: false });
    assert.equal(h.url, TEST_REDIS_URL);
    assert.equal(h.private, false);
  });

  it('says plainly when REDIS_URL does not answer', async () => {
    await assert.rejects(ensureRedis({ url: CLOSED, dataDir: '/nonexistent', log, allowPrivate: true }), /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  });

  it('starts a private redis-server with its data under DATA_DIR, and stops it on close', async () => {
    const tmp = tempDir('ccai-redis');
    try {
      const h = await ensureRedis({ url: undefined, defaultUrl: CLOSED, dataDir: tmp.path, log, allowPrivate: true });
      assert.equal(h.private, true);
      assert.notEqual(h.url, CLOSED);
      assert.equal(await ping(h.url), true);
      assert.ok(existsSync(join(tmp.path, 'redis')), 'data under DATA_DIR/redis');
      await h.close();
      assert.equal(await ping(h.url, 300), false, 'stopped');
    } finally {
      tmp.cleanup();
    }
  });

  it('explains how to get Redis when none answers and none can be started', async () => {
    const saved = process.env.PATH;
    const tmp = tempDir('ccai-redis');
    process.env.PATH = '/nonexistent';
    try {
      await assert.rejects(
        ensureRedis({ url: undefined, defaultUrl: CLOSED, dataDir: tmp.path, log, allowPrivate: true }),
        (err: Error) => /redis-server could not be started/.test(err.message) && /apt-get install redis-server/.test(err.message) && /docker compose up -d redis/.test(err.message),
      );
    } finally {
      process.env.PATH = saved;
      tmp.cleanup();
    }
    await assert.rejects(ensureRedis({ url: undefined, defaultUrl: CLOSED, dataDir: '/tmp', log, allowPrivate: false }), /REDIS_URL is not set/);
  });
});

describe('a Redis that wants a password', () => {
  // our own redis-server with --requirepass: the machine's Redis has none
  const PASSWORD = 'right-password-1234';
  let tmp: { path: string; cleanup(): void };
  let server: ChildProcess;
  let port = 0;
  before(async () => {
    tmp = tempDir('ccai-redis-auth');
    port = await freePort();
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', PASSWORD, '--save', '', '--appendonly', 'no', '--dir', tmp.path], { stdio: 'ignore' });
    await waitFor('redis-server with a password', () => ping(`redis://:${PASSWORD}@127.0.0.1:${port}`, 300), 10_000);
  });
  after(async () => {
    if (server) await stopChild(server, 'SIGTERM');
    tmp.cleanup();
  });

  it('says the password was refused, not "is it running?", and never shows it', async () => {
    for (const url of [`redis://:wrong-password@127.0.0.1:${port}`, `redis://someone:wrong-password@127.0.0.1:${port}`]) {
      await assert.rejects(ensureRedis({ url, dataDir: '/nonexistent', log, allowPrivate: false }), (err: Error & { code?: string }) => {
        assert.match(err.message, /^Redis at redis:\/\/(someone)?:\*\*\*@127\.0\.0\.1:\d+ refused the password \(REDIS_URL\)/);
        assert.doesNotMatch(err.message, /running|wrong-password/);
        assert.equal(err.code, 'CONFIG_INVALID');
        return true;
      });
    }
  });

  it('says a password is required when none was given', async () => {
    await assert.rejects(ensureRedis({ url: `redis://127.0.0.1:${port}`, dataDir: '/nonexistent', log, allowPrivate: false }), (err: Error) => {
      assert.match(err.message, new RegExp(`^Redis at redis://127\\.0\\.0\\.1:${port} requires a password \\(REDIS_URL\\)`));
      assert.doesNotMatch(err.message, /running/);
      return true;
    });
  });

  it('and when REDIS_URL is not set and the default address wants a password, says so instead of "no Redis answers"', async () => {
    await assert.rejects(ensureRedis({ url: undefined, defaultUrl: `redis://127.0.0.1:${port}`, dataDir: '/nonexistent', log, allowPrivate: false }), /requires a password and REDIS_URL is not set/);
  });

  it('the command ends with that one line and the configuration exit code, no stack', async () => {
    const r = await runCli(['status'], { REDIS_URL: `redis://:wrong-password@127.0.0.1:${port}`, DATA_DIR: tmp.path }, { timeoutMs: 30_000 });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `ccai-crm-sync: Redis at redis://:***@127.0.0.1:${port} refused the password (REDIS_URL)\n`);
  });

  it('a right password still works', async () => {
    const h = await ensureRedis({ url: `redis://:${PASSWORD}@127.0.0.1:${port}`, dataDir: '/nonexistent', log, allowPrivate: false });
    assert.equal(h.private, false);
  });
});
