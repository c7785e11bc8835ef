// The Redis connections of one process: one client (producers, stores, health checks) and a
// blocking connection per BullMQ worker or event stream. Opened and closed together by the
// composition root; the rest of the program never names ioredis.
import type { Redis } from 'ioredis';
import { SyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { connectBlocking, connectClient } from './redis.ts';

export interface RedisConnections {
  /** commands fail within seconds while Redis is down (see connectClient) */
  client: Redis;
  /** a new blocking connection, closed with the others */
  blocking(): Redis;
  /** Redis answers PING within `timeoutMs` */
  ping(timeoutMs?: number): Promise<boolean>;
  close(): void;
}

export async function openConnections(url: string, log: Logger): Promise<RedisConnections> {
  const warn = (err: Error) => log.warn({ err: err.message }, 'redis connection error');
  let client: Redis;
  try {
    client = await connectClient(url);
  } catch (err) {
    throw new SyncError('QUEUE_UNAVAILABLE', `cannot connect to Redis: ${(err as Error).message}`);
  }
  client.on('error', warn);
  const blocking: Redis[] = [];
  return {
    client,
    blocking() {
      const c = connectBlocking(url);
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
