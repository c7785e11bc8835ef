// What the remote sources (a Cloud Storage bucket, an SFTP folder) remember in Redis, shared by
// every worker of the fleet:
//   - the ledger: per source, each object version already accounted for (`name#generation`,
//     or `path#size:mtime` on SFTP), so that nothing is taken twice, whichever worker lists it.
//     Bounded: a member's score is the last sweep that saw the object, and a complete sweep
//     drops what it no longer saw (deleted, moved, rewritten: the old version). Never a name
//     cursor: a listing comes in name order, with no time filter.
//   - the lease of the worker that sweeps (one at a time across the fleet);
//   - each source's health for /healthz and `status` from any machine.
import type { RedisClient } from './redis.ts';
import { releaseLease, takeLease } from './lease.ts';

export interface RemoteHealth {
  /** `gs://bucket/prefix/` or `sftp://user@host:22/path` (never a secret) */
  source: string;
  /** standby: another worker holds the sweep's lease */
  state: 'starting' | 'watching' | 'retrying' | 'standby' | 'stopped';
  /** the last complete listing (or notification) that went through */
  lastOkAt: string | null;
  lastError: string | null;
  /** objects taken since this worker started: queued (or already queued), skipped, rejected */
  taken: number;
  skipped: number;
  rejected: number;
  /** the oldest object the last sweep found still to be taken (its update time), or null */
  oldestPendingAt: string | null;
  /** how long without a good read before it counts as not answering */
  staleAfterMs: number;
}

export interface RemoteStateStore {
  /** of these member keys, the ones already in the ledger */
  known(source: string, members: readonly string[]): Promise<Set<string>>;
  /** members accounted for (with the sweep that saw them, for bounding) */
  remember(source: string, members: readonly string[], sweepMs?: number): Promise<void>;
  /** a sweep saw these members again: keep them */
  touch(source: string, members: readonly string[], sweepMs: number): Promise<void>;
  /** after a complete sweep that started at `sweepMs`: drop members it did not see */
  forgetBefore(source: string, sweepMs: number): Promise<number>;
  lease(source: string, owner: string, ttlMs: number): Promise<boolean>;
  unlease(source: string, owner: string): Promise<void>;
  saveHealth(health: RemoteHealth): Promise<void>;
}

/** A ledger member: the object and its version (`metadata-1418.json#1774297018000123`). */
export function ledgerMember(name: string, version: string): string {
  return `${name}#${version}`;
}

export class RedisRemoteState implements RemoteStateStore {
  private readonly redis: RedisClient;
  private readonly prefix: string;

  constructor(redis: RedisClient, prefix: string) {
    this.redis = redis;
    this.prefix = `${prefix}:remote`;
  }

  private key(kind: string, source: string): string {
    return `${this.prefix}:${kind}:${source}`;
  }

  async known(source: string, members: readonly string[]): Promise<Set<string>> {
    if (members.length === 0) return new Set();
    const scores = await this.redis.zmscore(this.key('ledger', source), ...members);
    return new Set(members.filter((_, i) => scores[i] !== null));
  }

  async remember(source: string, members: readonly string[], sweepMs = Date.now()): Promise<void> {
    if (members.length === 0) return;
    await this.redis.zadd(this.key('ledger', source), ...members.flatMap((m) => [sweepMs, m]));
  }

  async touch(source: string, members: readonly string[], sweepMs: number): Promise<void> {
    if (members.length === 0) return;
    // XX: only members already there (a touch never adds what was not taken); GT: never back
    await this.redis.zadd(this.key('ledger', source), 'XX', 'GT', ...members.flatMap((m) => [sweepMs, m]));
  }

  async forgetBefore(source: string, sweepMs: number): Promise<number> {
    return this.redis.zremrangebyscore(this.key('ledger', source), '-inf', `(${sweepMs}`);
  }

  lease(source: string, owner: string, ttlMs: number): Promise<boolean> {
    return takeLease(this.redis, this.key('lease', source), owner, ttlMs);
  }

  unlease(source: string, owner: string): Promise<void> {
    return releaseLease(this.redis, this.key('lease', source), owner);
  }

  async saveHealth(health: RemoteHealth): Promise<void> {
    await this.redis.hset(`${this.prefix}:health`, health.source, JSON.stringify({ ...health, savedAt: new Date().toISOString() }));
  }

  /** Every remote source's last saved health, from any worker process. */
  async health(): Promise<Array<RemoteHealth & { savedAt: string }>> {
    const h = await this.redis.hgetall(`${this.prefix}:health`);
    return Object.values(h).map((json) => JSON.parse(json) as RemoteHealth & { savedAt: string });
  }
}
