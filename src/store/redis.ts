// Redis for the queue: connect to REDIS_URL, or, when it is not set, to a local Redis on the
// default port, or else start a private `redis-server` from PATH (free port, AOF under
// DATA_DIR) for the lifetime of this command. With REDIS_CLUSTER, REDIS_URL is a Redis
// Cluster's seed nodes (cluster-url.ts) and the connections are ioredis Clusters, with the same
// two kinds as on one server; no private server is started for a cluster.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, Redis } from 'ioredis';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import { SyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { safeUrl } from '../logger.ts';
import { parseClusterSeeds } from './cluster-url.ts';
import type { ClusterSeeds } from './cluster-url.ts';
import { redisErrorCode } from './redis-errors.ts';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * A connection to the queue's Redis, one server or a cluster, as BullMQ takes it: the stores
 * and the queue are typed with this, and only src/store/ knows which it is.
 */
export type RedisClient = Redis | Cluster;

/** Where the queue's Redis is: one server's URL, or (cluster) the seed nodes' URLs, comma-separated. */
export interface RedisTarget {
  url: string;
  cluster: boolean;
}

export interface RedisHandle extends RedisTarget {
  /** true when this process started the server and stops it on close */
  private: boolean;
  close(): Promise<void>;
}

/** The cluster's seed nodes and what every node (given or found) is reached with: login, TLS. */
function clusterSeeds(url: string): { seeds: ClusterSeeds; node: RedisOptions } {
  const seeds = parseClusterSeeds(url);
  // loadConfig refused these already; a caller that skipped it gets the same words
  if (typeof seeds === 'string') throw new SyncError('CONFIG_INVALID', `REDIS_URL: ${seeds}`);
  const node: RedisOptions = {
    ...(seeds.username ? { username: seeds.username } : {}),
    ...(seeds.password ? { password: seeds.password } : {}),
    ...(seeds.tls ? { tls: {} } : {}),
  };
  return { seeds, node };
}

/**
 * An ioredis Cluster: Cluster-level options (the offline queue, the ready check, reconnecting
 * to the cluster) apart from each node's (`redisOptions`: the login, TLS, time-outs,
 * maxRetriesPerRequest), as ioredis splits them (ClusterOptions.redisOptions leaves out
 * enableOfflineQueue: each node queues while it connects, the Cluster decides).
 */
function newCluster(url: string, node: RedisOptions, cluster: ClusterOptions): Cluster {
  const { seeds, node: login } = clusterSeeds(url);
  // with TLS, seeds given by name are reached by that name, which their certificates carry
  // (ioredis resolves them to addresses otherwise: its README's note on TLS clusters)
  const names: ClusterOptions = seeds.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {};
  return new Cluster(seeds.nodes, { ...names, ...cluster, redisOptions: { ...login, ...node } });
}

/** A connection for BullMQ workers and queue events: blocking commands, never gives up. */
export function connectBlocking(url: string, opts: { cluster?: boolean } = {}): RedisClient {
  // BullMQ refuses a blocking connection whose maxRetriesPerRequest is not null (on a
  // Cluster it reads it from redisOptions)
  if (opts.cluster) return newCluster(url, { maxRetriesPerRequest: null }, { enableReadyCheck: true });
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

const CLIENT_OPTIONS = { maxRetriesPerRequest: 1, commandTimeout: 5_000, connectTimeout: 5_000 } as const;

/**
 * A connection for producers, getters, the status store and health checks: while Redis is
 * down its commands fail within seconds instead of hanging, so HTTP answers 503 and a
 * shutdown is not held up. On a cluster: the same per node, and no offline queue on the
 * Cluster (a command while it is not ready fails at once).
 */
export async function connectClient(url: string, opts: { cluster?: boolean } = {}): Promise<RedisClient> {
  if (opts.cluster) {
    const c = newCluster(url, { ...CLIENT_OPTIONS }, { lazyConnect: true, enableOfflineQueue: false, enableReadyCheck: true });
    // a cluster that answers but never says it is ready (cluster_state:fail) would keep
    // connect() waiting: bounded, as a single server's connectTimeout bounds it
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        c.connect(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('the Redis Cluster was not ready within 10 s (CLUSTER INFO: cluster_state not ok, or no node answered)')), 10_000);
        }),
      ]);
    } catch (err) {
      c.disconnect();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return c;
  }
  const r = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, ...CLIENT_OPTIONS });
  await r.connect();
  return r;
}

/**
 * What one connection attempt found: it answered, it wants a (different) password, or neither.
 * With `cluster`, answering is not enough: the server must be a cluster node (`notCluster`
 * when its cluster support is off) and say its cluster is ok. On one server,
 * `clusterEnabled` says the server is a cluster node all the same.
 */
export type RedisProbe =
  | { ok: true; clusterEnabled?: boolean }
  | { ok: false; auth: 'refused' | 'required' | null; reason: string; notCluster?: boolean; clusterState?: string };

export async function probe(url: string, timeoutMs = 1500, opts: { cluster?: boolean } = {}): Promise<RedisProbe> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, retryStrategy: () => null });
  // ioredis rejects connect() with a bare "Connection is closed."; the server's answer
  // (NOAUTH, WRONGPASS, ECONNREFUSED) only comes as an error event
  let last: Error | null = null;
  r.on('error', (err: Error) => {
    last = err;
  });
  try {
    await r.connect();
    if ((await r.ping()) !== 'PONG') return { ok: false, auth: null, reason: 'no PONG' };
    if (opts.cluster) {
      let info: string;
      try {
        const late = sleep(timeoutMs, null, { ref: false }).then(() => {
          throw new Error(`no answer to CLUSTER INFO within ${timeoutMs} ms`);
        });
        info = String(await Promise.race([r.cluster('INFO'), late]));
      } catch (err) {
        const message = (err as Error).message;
        return { ok: false, auth: null, reason: message, notCluster: /cluster support disabled/i.test(message) };
      }
      const state = /cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown';
      return state === 'ok' ? { ok: true } : { ok: false, auth: null, reason: `cluster_state:${state}`, clusterState: state };
    }
    // INFO may be refused to a restricted user, or be slow: then nothing is known, nothing said
    const info = await Promise.race([r.info('cluster').catch(() => ''), sleep(timeoutMs, '', { ref: false })]);
    return { ok: true, clusterEnabled: /cluster_enabled:1/.test(info) };
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

/** One seed as a URL of its own, with the cluster's login (for probing it alone). */
function seedUrl(seeds: ClusterSeeds, node: { host: string; port: number }): string {
  const u = new URL(`${seeds.tls ? 'rediss' : 'redis'}://${node.host.includes(':') ? `[${node.host}]` : node.host}:${node.port}`);
  if (seeds.username) u.username = encodeURIComponent(seeds.username);
  if (seeds.password) u.password = encodeURIComponent(seeds.password);
  return u.toString();
}

/**
 * A cluster answers when one of its seeds does, as a cluster node whose cluster is ok; else
 * the first thing to fix: a password, a server that is no cluster node, a cluster that is
 * down, no seed answering.
 */
async function ensureCluster(url: string | undefined): Promise<RedisHandle> {
  if (!url) throw new SyncError('CONFIG_INVALID', 'REDIS_CLUSTER=true needs REDIS_URL: the seed nodes of the cluster (no private redis-server is started for a cluster)');
  const { seeds } = clusterSeeds(url);
  const misses: Array<{ url: string; found: Extract<RedisProbe, { ok: false }> }> = [];
  for (const node of seeds.nodes) {
    const one = seedUrl(seeds, node);
    const found = await probe(one, 1500, { cluster: true });
    if (found.ok) return { url, cluster: true, private: false, close: async () => {} };
    misses.push({ url: one, found });
  }
  const auth = misses.find((m) => m.found.auth);
  if (auth) throw authError(auth.url, auth.found.auth!);
  const single = misses.find((m) => m.found.notCluster);
  if (single) {
    throw new SyncError('CONFIG_INVALID', `REDIS_CLUSTER=true, but the Redis at ${safeUrl(single.url)} is not a cluster node (its cluster support is disabled): unset REDIS_CLUSTER for a single Redis, or give the seed nodes of a cluster in REDIS_URL`);
  }
  const down = misses.find((m) => m.found.clusterState);
  const where = misses.map((m) => safeUrl(m.url)).join(', ');
  if (down) throw new SyncError('QUEUE_UNAVAILABLE', `the Redis Cluster is not ok (${down.found.reason} at ${safeUrl(down.url)}; seeds tried: ${where})`);
  throw new SyncError('QUEUE_UNAVAILABLE', `cannot reach any seed node of the Redis Cluster (REDIS_URL: ${where}). Is it running?`);
}

export async function ensureRedis(opts: {
  url: string | undefined;
  dataDir: string;
  log: Logger;
  allowPrivate: boolean;
  /** where to look when REDIS_URL is not set (tests point it at a closed port) */
  defaultUrl?: string;
  /** REDIS_CLUSTER: `url` is a cluster's seed nodes */
  cluster?: boolean;
}): Promise<RedisHandle> {
  const { url, log } = opts;
  if (opts.cluster) return ensureCluster(url);
  const fallback = opts.defaultUrl ?? DEFAULT_REDIS_URL;
  if (url) {
    const found = await probe(url);
    if (!found.ok && found.auth) throw authError(url, found.auth);
    if (!found.ok) {
      throw new SyncError('QUEUE_UNAVAILABLE', `cannot reach Redis at ${safeUrl(url)} (REDIS_URL). Is it running?`);
    }
    // one connection to one node of a cluster reaches only the keys of that node's slots
    if (found.clusterEnabled) log.warn({ url: safeUrl(url) }, 'the Redis at REDIS_URL is a Redis Cluster node, but REDIS_CLUSTER is not set: keys of slots on other nodes will fail with MOVED; set REDIS_CLUSTER=true (and a QUEUE_PREFIX with a hash tag, such as {ccai})');
    return { url, cluster: false, private: false, close: async () => {} };
  }
  const found = await probe(fallback);
  if (found.ok) return { url: fallback, cluster: false, private: false, close: async () => {} };
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
        cluster: false,
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
