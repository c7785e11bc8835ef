// Finding Redis: REDIS_URL, else the default address, else a private redis-server from PATH,
// else a plain explanation. Uses the real redis-server binary.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/logger.ts';
import { ensureRedis, ping } from '../../src/queue/redis.ts';
import { TEST_REDIS_URL, tempDir } from '../helpers/env.ts';

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
    process.env.PATH = '/nonexistent';
    try {
      await assert.rejects(
        ensureRedis({ url: undefined, defaultUrl: CLOSED, dataDir: tempDir('ccai-redis').path, log, allowPrivate: true }),
        (err: Error) => /redis-server could not be started/.test(err.message) && /apt-get install redis-server/.test(err.message) && /docker compose up -d redis/.test(err.message),
      );
    } finally {
      process.env.PATH = saved;
    }
    await assert.rejects(ensureRedis({ url: undefined, defaultUrl: CLOSED, dataDir: '/tmp', log, allowPrivate: false }), /REDIS_URL is not set/);
  });
});
