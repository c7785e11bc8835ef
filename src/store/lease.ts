// A lease in Redis: a key holding its owner's token for a while. Only the owner renews or
// releases it (compare, then set or delete, in one script), so a worker that stalled past its
// lease cannot take back or drop what another worker now holds. Used for the mailbox folder a
// worker reads (mailbox-state.ts) and the e-mail target's one-version-at-a-time lock
// (mail-store.ts).
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis.ts';

const TAKE = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

/** Takes or renews the lease for `owner`; false when another owner holds it. */
export async function takeLease(redis: RedisClient, key: string, owner: string, ttlMs: number): Promise<boolean> {
  return (await redis.eval(TAKE, 1, key, owner, String(ttlMs))) === 1;
}

/** Gives the lease back, if `owner` still holds it. */
export async function releaseLease(redis: RedisClient, key: string, owner: string): Promise<void> {
  await redis.eval(RELEASE, 1, key, owner);
}

/** The same, as part of a MULTI (with what the release goes with). */
export function releaseLeaseIn(multi: ChainableCommander, key: string, owner: string): ChainableCommander {
  return multi.eval(RELEASE, 1, key, owner);
}
