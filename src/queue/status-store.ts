// Where each session is and why: one small Redis hash per session (latest event) and a capped
// list of its recent events, so `status call-1418` can answer without scanning the queue.
import type { Redis } from 'ioredis';

export type SessionState = 'queued' | 'active' | 'delivered' | 'skipped' | 'rejected' | 'retrying' | 'failed';

export interface StatusEvent {
  state: SessionState;
  version: string | null;
  ticket: string | null;
  reason: string | null;
  code: string | null;
  source: string | null;
  jobId: string | null;
  at: string;
}

const HISTORY = 50;

export class StatusStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly ttlSeconds: number;

  constructor(redis: Redis, prefix: string, ttlDays = 30) {
    this.redis = redis;
    this.prefix = `${prefix}:status`;
    this.ttlSeconds = ttlDays * 86_400;
  }

  /**
   * Records an event as the session's latest state. With `unlessNewer`, news about an older
   * version (a bounce of an e-mail long superseded) goes into the history only, leaving the
   * newer version's state as it is.
   */
  async record(sessionKey: string, event: Omit<StatusEvent, 'at'>, opts: { unlessNewer?: boolean } = {}): Promise<void> {
    const full: StatusEvent = { ...event, at: new Date().toISOString() };
    const key = `${this.prefix}:${sessionKey}`;
    const list = `${key}:events`;
    let latest = true;
    if (opts.unlessNewer && event.version) {
      const current = await this.redis.hget(key, 'version');
      latest = !current || Date.parse(current) <= Date.parse(event.version);
    }
    const m = this.redis.multi();
    if (latest) m.hset(key, toHash(full)).expire(key, this.ttlSeconds);
    await m.lpush(list, JSON.stringify(full)).ltrim(list, 0, HISTORY - 1).expire(list, this.ttlSeconds).exec();
  }

  async get(sessionKey: string): Promise<{ latest: StatusEvent; history: StatusEvent[] } | null> {
    const key = `${this.prefix}:${sessionKey}`;
    const [h, events] = await Promise.all([this.redis.hgetall(key), this.redis.lrange(`${key}:events`, 0, HISTORY - 1)]);
    if (!h || !h.state) return null;
    return { latest: fromHash(h), history: events.map((e) => JSON.parse(e) as StatusEvent) };
  }
}

function toHash(e: StatusEvent): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(e)) out[k] = v === null ? '' : String(v);
  return out;
}

function fromHash(h: Record<string, string>): StatusEvent {
  const n = (k: string) => (h[k] ? h[k]! : null);
  return {
    state: h.state as SessionState,
    version: n('version'),
    ticket: n('ticket'),
    reason: n('reason'),
    code: n('code'),
    source: n('source'),
    jobId: n('jobId'),
    at: h.at ?? '',
  };
}
