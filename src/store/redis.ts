// Redis for the queue: connect to REDIS_URL, or, when it is not set, to a local Redis on the
// default port, or else start a private `redis-server` from PATH (free port, AOF under
// DATA_DIR) for the lifetime of this command.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { SyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { safeUrl } from '../logger.ts';
import { redisErrorCode } from './redis-errors.ts';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface RedisHandle {
  url: string;
  /** true when this process started the server and stops it on close */
  private: boolean;
  close(): Promise<void>;
}

/** A connection for BullMQ workers and queue events: blocking commands, never gives up. */
export function connectBlocking(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

/**
 * A connection for producers, getters, the status store and health checks: while Redis is
 * down its commands fail within seconds instead of hanging, so HTTP answers 503 and a
 * shutdown is not held up.
 */
export async function connectClient(url: string): Promise<Redis> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 5_000, connectTimeout: 5_000 });
  await r.connect();
  return r;
}

/** What one connection attempt found: it answered, it wants a (different) password, or neither. */
export type RedisProbe = { ok: true } | { ok: false; auth: 'refused' | 'required' | null; reason: string };

export async function probe(url: string, timeoutMs = 1500): Promise<RedisProbe> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, retryStrategy: () => null });
  // ioredis rejects connect() with a bare "Connection is closed."; the server's answer
  // (NOAUTH, WRONGPASS, ECONNREFUSED) only comes as an error event
  let last: Error | null = null;
  r.on('error', (err: Error) => {
    last = err;
  });
  try {
    await r.connect();
    if ((await r.ping()) === 'PONG') return { ok: true };
    return { ok: false, auth: null, reason: 'no PONG' };
  } catch (err) {
    const seen = (last ?? err) as Error;
    // NOAUTH (none given), WRONGPASS and older Redis's wording (a wrong one): redis-errors.ts
    if (redisErrorCode(seen) === 'CONFIG_INVALID') {
      return { ok: false, auth: hasCredentials(url) ? 'refused' : 'required', reason: seen.message };
    }
    return { ok: false, auth: null, reason: seen.message };
  } finally {
    r.disconnect();
  }
}

function hasCredentials(url: string): boolean {
  try {
    const u = new URL(url);
    return Boolean(u.password || u.username);
  } catch {
    return false;
  }
}

export async function ping(url: string, timeoutMs = 1500): Promise<boolean> {
  return (await probe(url, timeoutMs)).ok;
}

/** A wrong or missing password is a setting to fix, not a server to start: CONFIG_INVALID. */
function authError(url: string, auth: 'refused' | 'required'): SyncError {
  return new SyncError(
    'CONFIG_INVALID',
    auth === 'refused'
      ? `Redis at ${safeUrl(url)} refused the password (REDIS_URL)`
      : `Redis at ${safeUrl(url)} requires a password (REDIS_URL): give it in the URL, redis://:PASSWORD@host:port (or redis://USER:PASSWORD@host:port)`,
  );
}

export async function ensureRedis(opts: {
  url: string | undefined;
  dataDir: string;
  log: Logger;
  allowPrivate: boolean;
  /** where to look when REDIS_URL is not set (tests point it at a closed port) */
  defaultUrl?: string;
}): Promise<RedisHandle> {
  const { url, log } = opts;
  const fallback = opts.defaultUrl ?? DEFAULT_REDIS_URL;
  if (url) {
    const found = await probe(url);
    if (!found.ok && found.auth) throw authError(url, found.auth);
    if (!found.ok) {
      throw new SyncError('QUEUE_UNAVAILABLE', `cannot reach Redis at ${safeUrl(url)} (REDIS_URL). Is it running?`);
    }
    return { url, private: false, close: async () => {} };
  }
  const found = await probe(fallback);
  if (found.ok) return { url: fallback, private: false, close: async () => {} };
  if (!opts.allowPrivate) {
    if (found.auth === 'required') {
      throw new SyncError('CONFIG_INVALID', `Redis at ${safeUrl(fallback)} requires a password and REDIS_URL is not set: set REDIS_URL=redis://:PASSWORD@${new URL(fallback).host}`);
    }
    throw new SyncError('QUEUE_UNAVAILABLE', howToGetRedis(`no Redis answers at ${safeUrl(fallback)} and REDIS_URL is not set.`));
  }
  // a local Redis that wants a password is someone else's: this run uses a private one
  if (found.auth) log.info({ url: safeUrl(fallback) }, 'the local Redis requires a password and REDIS_URL is not set; starting a private redis-server');
  return startPrivateRedis(opts.dataDir, log);
}

function howToGetRedis(first: string): string {
  return [
    first,
    'ccai-crm-sync keeps its queue in Redis. Either:',
    '  - install Redis and put redis-server on PATH (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis),',
    '    and this command starts a private one for its own run; or',
    '  - run one: docker compose up -d redis (see docker-compose.yml), then set REDIS_URL=redis://127.0.0.1:6379.',
  ].join('\n');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function startPrivateRedis(dataDir: string, log: Logger): Promise<RedisHandle> {
  const dir = join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--logfile', join(dir, 'redis.log')];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    const failed = await Promise.race([spawnError, sleep(100).then(() => null)]);
    if (failed) {
      throw new SyncError('QUEUE_UNAVAILABLE', howToGetRedis(`no Redis answers at 127.0.0.1:6379, REDIS_URL is not set, and redis-server could not be started (${(failed as NodeJS.ErrnoException).code ?? failed.message}).`));
    }
    if (await ping(url, 500)) {
      log.info({ port, dir }, 'started a private redis-server for this run');
      return {
        url,
        private: true,
        close: async () => {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await Promise.race([exited, sleep(5000)]);
        },
      };
    }
  }
  child.kill('SIGKILL');
  throw new SyncError('QUEUE_UNAVAILABLE', howToGetRedis('a private redis-server was started but did not answer within 5 s.'));
}
