// The Redis connections of one process: one client (producers, stores, health checks) and a
// blocking connection per BullMQ worker or event stream, to one server or to a Redis Cluster
// (REDIS_CLUSTER). Opened and closed together by the composition root; the rest of the program
// never names ioredis (it types a connection as RedisClient).
import { SyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { connectBlocking, connectClient } from './redis.ts';
import type { RedisClient, RedisTarget } from './redis.ts';

export type { RedisClient } from './redis.ts';

export interface RedisConnections {
  /** commands fail within seconds while Redis is down (see connectClient) */
  client: RedisClient;
  /** a new blocking connection, closed with the others */
  blocking(): RedisClient;
  /** Redis answers PING within `timeoutMs` (on a cluster: the node the client asks) */
  ping(timeoutMs?: number): Promise<boolean>;
  close(): void;
}

export async function openConnections(target: RedisTarget, log: Logger): Promise<RedisConnections> {
  const warn = (err: Error) => log.warn({ err: err.message }, 'redis connection error');
  const { url, cluster } = target;
  let client: RedisClient;
  try {
    client = await connectClient(url, { cluster });
  } catch (err) {
    throw new SyncError('QUEUE_UNAVAILABLE', `cannot connect to ${cluster ? 'the Redis Cluster' : 'Redis'}: ${(err as Error).message}`);
  }
  client.on('error', warn);
  const blocking: RedisClient[] = [];
  return {
    client,
    blocking() {
      const c = connectBlocking(url, { cluster });
      c.on('error', warn);
      blocking.push(c);
      return c;
    },
    ping: (timeoutMs = 2_000) =>
      Promise.race([
        client.ping().then((p) => p === 'PONG').catch(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref()),
      ]),
    close() {
      for (const c of blocking) c.disconnect();
      client.disconnect();
    },
  };
}
