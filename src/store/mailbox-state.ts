// Where the mailbox reader keeps its place (sources/imap/mailbox.ts), in Redis: per account
// and folder the UIDVALIDITY and the last UID handled, the lease of the worker reading it, and
// each folder's health for `status` from any machine. lastUid only moves up.
import type { RedisClient } from './redis.ts';
import { releaseLease, takeLease } from './lease.ts';

// The reader's view of the store (sources/imap/mailbox.ts uses it; `status` reads the health).
export interface FolderState {
  uidValidity: string;
  lastUid: number;
  /**
   * IMAP_START's cutoff day (`YYYY-MM-DD`) recorded at the folder's first read (`new`: that
   * day), so that a renumbered folder is read again only from then; null: all of it
   */
  since?: string | null;
}

export interface MailboxStateStore {
  /** takes or renews the folder's lease for `owner`; false when another reader holds it */
  lease(account: string, folder: string, owner: string, ttlMs: number): Promise<boolean>;
  unlease(account: string, folder: string, owner: string): Promise<void>;
  get(account: string, folder: string): Promise<FolderState | null>;
  /** lastUid only moves up; a different uidValidity starts the folder over */
  advance(account: string, folder: string, uidValidity: string, uid: number): Promise<void>;
  /** a new numbering (or a first read): its UIDVALIDITY, the place to start after, the cutoff, in one write */
  reset(account: string, folder: string, uidValidity: string, lastUid?: number, since?: string | null): Promise<void>;
  saveHealth(account: string, health: FolderHealth): Promise<void>;
}

export interface FolderHealth {
  folder: string;
  /** standby: another worker holds the folder's lease and reads it */
  state: 'connecting' | 'watching' | 'reconnecting' | 'standby' | 'stopped';
  connected: boolean;
  /** the server supports IDLE (else only the poll finds new mail) */
  idle: boolean | null;
  /** the folder takes our keywords ($CcaiDone, $CcaiRejected); else handled mail is only \Seen, or moved */
  keywords: boolean | null;
  /** how long without a read before /healthz and `status` say it is not answering */
  staleAfterMs: number;
  /** the last time the folder was read successfully: the watchdog's measure */
  lastOkAt: string | null;
  lastError: string | null;
  reconnects: number;
  uidValidity: string | null;
  lastUid: number;
  handled: number;
}

// Only within the UIDVALIDITY the reader saw: a reader that missed a renumbering cannot move
// the new numbering's place.
const ADVANCE = `
if redis.call('HGET', KEYS[1], 'uidValidity') ~= ARGV[1] then return 0 end
local last = tonumber(redis.call('HGET', KEYS[1], 'lastUid') or '0')
if tonumber(ARGV[2]) > last then redis.call('HSET', KEYS[1], 'lastUid', ARGV[2]) end
return 1`;


export class RedisMailboxState implements MailboxStateStore {
  private readonly redis: RedisClient;
  private readonly prefix: string;

  constructor(redis: RedisClient, prefix: string) {
    this.redis = redis;
    this.prefix = `${prefix}:imap`;
  }

  private key(account: string, folder: string): string {
    return `${this.prefix}:uid:${account}:${folder}`;
  }

  async lease(account: string, folder: string, owner: string, ttlMs: number): Promise<boolean> {
    return takeLease(this.redis, `${this.prefix}:lease:${account}:${folder}`, owner, ttlMs);
  }

  async unlease(account: string, folder: string, owner: string): Promise<void> {
    await releaseLease(this.redis, `${this.prefix}:lease:${account}:${folder}`, owner);
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
