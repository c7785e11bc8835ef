// Where the mailbox reader keeps its place (sources/imap/mailbox.ts), in Redis: per account
// and folder the UIDVALIDITY and the last UID handled, the lease of the worker reading it, and
// each folder's health for `status` from any machine. lastUid only moves up.
import type { Redis } from 'ioredis';
import type { FolderHealth, FolderState, MailboxStateStore } from '../sources/imap/mailbox.ts';

// Only within the UIDVALIDITY the reader saw: a reader that missed a renumbering cannot move
// the new numbering's place.
const ADVANCE = `
if redis.call('HGET', KEYS[1], 'uidValidity') ~= ARGV[1] then return 0 end
local last = tonumber(redis.call('HGET', KEYS[1], 'lastUid') or '0')
if tonumber(ARGV[2]) > last then redis.call('HSET', KEYS[1], 'lastUid', ARGV[2]) end
return 1`;

const LEASE = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

const UNLEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

export class RedisMailboxState implements MailboxStateStore {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = `${prefix}:imap`;
  }

  private key(account: string, folder: string): string {
    return `${this.prefix}:uid:${account}:${folder}`;
  }

  async lease(account: string, folder: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(LEASE, 1, `${this.prefix}:lease:${account}:${folder}`, owner, String(ttlMs))) === 1;
  }

  async unlease(account: string, folder: string, owner: string): Promise<void> {
    await this.redis.eval(UNLEASE, 1, `${this.prefix}:lease:${account}:${folder}`, owner);
  }

  async get(account: string, folder: string): Promise<FolderState | null> {
    const h = await this.redis.hgetall(this.key(account, folder));
    return h.uidValidity ? { uidValidity: h.uidValidity, lastUid: Number(h.lastUid ?? 0), since: h.since || null } : null;
  }

  async advance(account: string, folder: string, uidValidity: string, uid: number): Promise<void> {
    await this.redis.eval(ADVANCE, 1, this.key(account, folder), uidValidity, String(uid));
  }

  async reset(account: string, folder: string, uidValidity: string, lastUid = 0, since: string | null = null): Promise<void> {
    await this.redis.hset(this.key(account, folder), 'uidValidity', uidValidity, 'lastUid', String(lastUid), 'since', since ?? '');
  }

  async saveHealth(account: string, health: FolderHealth): Promise<void> {
    await this.redis.hset(`${this.prefix}:health`, `${account}/${health.folder}`, JSON.stringify({ ...health, savedAt: new Date().toISOString() }));
  }

  /** Every folder's last saved health, from any worker process. */
  async health(): Promise<Array<FolderHealth & { mailbox: string; savedAt: string }>> {
    const h = await this.redis.hgetall(`${this.prefix}:health`);
    return Object.entries(h).map(([mailbox, json]) => ({ mailbox, ...(JSON.parse(json) as FolderHealth & { savedAt: string }) }));
  }
}

/** How long a folder may go unread before /healthz and `status` call it not answering. */
export function staleAfterMs(pollMs: number): number {
  return 3 * pollMs + 60_000;
}
