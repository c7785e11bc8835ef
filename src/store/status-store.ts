// Where each session is and why: one small Redis hash per session (latest event) and a capped
// list of its recent events, so `status call-1418` can answer without scanning the queue.
import type { RedisClient } from './redis.ts';
import type { InputWarning } from '../domain/types.ts';

export type SessionState = 'queued' | 'active' | 'delivered' | 'skipped' | 'rejected' | 'retrying' | 'failed';

export interface StatusEvent {
  state: SessionState;
  version: string | null;
  ticket: string | null;
  reason: string | null;
  code: string | null;
  source: string | null;
  jobId: string | null;
  /**
   * what the parser corrected or dropped in this version's document. Events that do not look at
   * the document (a retry, a failure) leave it out, and the latest state keeps the warnings
   * its version was read with.
   */
  warnings?: InputWarning[];
  at: string;
}

const HISTORY = 50;

// Events are written by one script call: per event the hash (latest), the capped list
// (history) and both expiries. Atomic like a MULTI, and like one, a failing command does not
// stop the others (pcall). Events recorded in the same turn of the event loop go in the same
// call (a Salesforce batch finishes hundreds of jobs at once): one command instead of seven per
// event, and one instead of hundreds per batch.
//   KEYS: hash, list of each event; ARGV: ttl, history, then per event: n, event JSON, n hash
//   args (n = 0: history only, the latest state stays)
const RECORD_SCRIPT = `
local ttl = ARGV[1]
local last = tonumber(ARGV[2]) - 1
local a = 3
for k = 1, #KEYS, 2 do
  local n = tonumber(ARGV[a])
  if n > 0 then
    redis.pcall('HSET', KEYS[k], unpack(ARGV, a + 2, a + 1 + n))
    redis.pcall('EXPIRE', KEYS[k], ttl)
  end
  redis.pcall('LPUSH', KEYS[k + 1], ARGV[a + 1])
  redis.pcall('LTRIM', KEYS[k + 1], 0, last)
  redis.pcall('EXPIRE', KEYS[k + 1], ttl)
  a = a + 2 + n
end
return 1
`;
const COMMAND = 'ccaiRecordStatuses';
type WithRecord = RedisClient & { [COMMAND](numKeys: number, ...args: Array<string | number>): Promise<number> };
/** At most this many events in one script call (it blocks Redis while it runs). */
const MAX_EVENTS_PER_CALL = 256;

type Pending = { key: string; event: StatusEvent; latest: boolean; resolve: () => void; reject: (e: unknown) => void };

export class StatusStore {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly ttlSeconds: number;
  private pending: Pending[] = [];

  constructor(redis: RedisClient, prefix: string, ttlDays = 30) {
    this.redis = redis;
    this.prefix = `${prefix}:status`;
    this.ttlSeconds = ttlDays * 86_400;
    // EVALSHA, falling back on EVAL once when Redis does not know the script yet
    if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { lua: RECORD_SCRIPT });
  }

  /**
   * Records an event as the session's latest state; resolves once it is stored. With
   * `unlessNewer`, news about an older version (a bounce of an e-mail long superseded) goes
   * into the history only, leaving the newer version's state as it is.
   */
  async record(sessionKey: string, event: Omit<StatusEvent, 'at'>, opts: { unlessNewer?: boolean } = {}): Promise<void> {
    const full: StatusEvent = { ...event, at: new Date().toISOString() };
    const key = `${this.prefix}:${sessionKey}`;
    let latest = true;
    if (opts.unlessNewer && event.version) {
      const current = await this.redis.hget(key, 'version');
      latest = !current || Date.parse(current) <= Date.parse(event.version);
    }
    return new Promise<void>((resolve, reject) => {
      if (this.pending.length === 0) queueMicrotask(() => this.write());
      this.pending.push({ key, event: full, latest, resolve, reject });
    });
  }

  private write(): void {
    const all = this.pending;
    this.pending = [];
    for (let i = 0; i < all.length; i += MAX_EVENTS_PER_CALL) {
      const part = all.slice(i, i + MAX_EVENTS_PER_CALL);
      const keys: string[] = [];
      const args: Array<string | number> = [this.ttlSeconds, HISTORY];
      for (const p of part) {
        keys.push(p.key, `${p.key}:events`);
        const fields = p.latest ? toFields(p.event) : [];
        args.push(fields.length, JSON.stringify(p.event), ...fields);
      }
      (this.redis as WithRecord)[COMMAND](keys.length, ...keys, ...args).then(
        () => {
          for (const p of part) p.resolve();
        },
        (err: unknown) => {
          for (const p of part) p.reject(err);
        },
      );
    }
  }

  async get(sessionKey: string): Promise<{ latest: StatusEvent; history: StatusEvent[] } | null> {
    const key = `${this.prefix}:${sessionKey}`;
    const [h, events] = await Promise.all([this.redis.hgetall(key), this.redis.lrange(`${key}:events`, 0, HISTORY - 1)]);
    if (!h || !h.state) return null;
    return { latest: fromHash(h), history: events.map((e) => JSON.parse(e) as StatusEvent) };
  }
}

/** The hash's field/value pairs (null is stored as '', warnings as JSON; absent ones are left as they are). */
function toFields(e: StatusEvent): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(e)) {
    if (v === undefined) continue;
    out.push(k, v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
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
    warnings: h.warnings ? (JSON.parse(h.warnings) as InputWarning[]) : [],
    at: h.at ?? '',
  };
}
