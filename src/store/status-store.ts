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
// The activity counters are read for the last hour (minutes) and the last day (hours): each
// kept a little longer than it is read, so that the oldest one read is still whole.
const MINUTE_TTL = 2 * 3_600;
const HOUR_TTL = 49 * 3_600;
/** Index entries one search call looks at, at most, before it answers `truncated`. */
const SCAN_BOUND = 20_000;
/** The most index entries read at once while searching (and hashes read in one pipeline). */
const MAX_CHUNK = 1_000;

// Events are written by one script call: per event the hash (latest), the capped list
// (history) and both expiries. Atomic like a MULTI, and like one, a failing command does not
// stop the others (pcall). Events recorded in the same turn of the event loop go in the same
// call (a Salesforce batch finishes hundreds of jobs at once): one command instead of seven per
// event, and one instead of hundreds per batch.
//
// The same call keeps what the admin console reads: the index of sessions by the time of their
// latest event, the sessions of each ticket, and the activity counters per minute and hour.
// These are added up in JS for the whole call, so that they cost Redis a few commands per call
// rather than a few per event: the index gets one ZADD (one pair per session, its last event),
// each ticket set one SADD, each counter hash one HINCRBY per state or code seen. Only events
// that become the latest (n > 0 below) go into them: news about a superseded version (history
// only) moves no session in the index and is not counted as activity, since it changes no
// session's state. Index entries older than the status TTL (their hash is gone with it) are
// trimmed in every call, which costs a lookup when there is nothing to trim.
// Every key is passed in KEYS, all under the prefix: on a Redis Cluster its hash tag keeps them
// in one slot.
//   KEYS: the index, the c counter hashes, the t ticket sets, then each event's hash and list
//   ARGV: ttl, history, index cutoff (ms), c, t, z, then the index's z score/member pairs;
//   per counter hash its ttl, f and f field/increment pairs; per ticket set m and its m
//   session keys; per event n, event JSON, n hash args (n = 0: history only, the latest state
//   stays)
const RECORD_SCRIPT = `
local ttl = ARGV[1]
local last = tonumber(ARGV[2]) - 1
local c, t, z = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local a = 7
if z > 0 then redis.pcall('ZADD', KEYS[1], unpack(ARGV, a, a + 2 * z - 1)) end
redis.pcall('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
a = a + 2 * z
for k = 2, 1 + c do
  local f = tonumber(ARGV[a + 1])
  for i = a + 2, a + 2 * f, 2 do redis.pcall('HINCRBY', KEYS[k], ARGV[i], ARGV[i + 1]) end
  redis.pcall('EXPIRE', KEYS[k], ARGV[a])
  a = a + 2 + 2 * f
end
for k = 2 + c, 1 + c + t do
  local m = tonumber(ARGV[a])
  redis.pcall('SADD', KEYS[k], unpack(ARGV, a + 1, a + m))
  redis.pcall('EXPIRE', KEYS[k], ttl)
  a = a + 1 + m
end
for k = 2 + c + t, #KEYS, 2 do
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

// A search that finds a session's hash gone (expired) while the index still has it drops the
// entry, unless the session was recorded again in between (its hash is back): checked and
// removed in one step.
//   KEYS: the index, then the hashes; ARGV: their session keys
const FORGET_SCRIPT = `
local gone = 0
for k = 2, #KEYS do
  if redis.call('EXISTS', KEYS[k]) == 0 then gone = gone + redis.call('ZREM', KEYS[1], ARGV[k - 1]) end
end
return gone
`;
const FORGET = 'ccaiForgetStatuses';
type WithScripts = RedisClient & {
  [COMMAND](numKeys: number, ...args: Array<string | number>): Promise<number>;
  [FORGET](numKeys: number, ...args: string[]): Promise<number>;
};
/** At most this many events in one script call (it blocks Redis while it runs). */
const MAX_EVENTS_PER_CALL = 256;

type Pending = { session: string; key: string; event: StatusEvent; latest: boolean; resolve: () => void; reject: (e: unknown) => void };

/** A session as the admin console lists it: its latest event, without the warnings. */
export interface SessionSummary {
  session: string;
  state: SessionState;
  version: string | null;
  ticket: string | null;
  code: string | null;
  reason: string | null;
  source: string | null;
  jobId: string | null;
  at: string;
}

export interface SessionQuery {
  /** only sessions whose latest event is on this ticket (uses the ticket set) */
  ticket?: string;
  state?: SessionState;
  /** the latest event's code, exact */
  code?: string;
  /** ms, inclusive, on the latest event's time */
  from?: number;
  to?: number;
  /** page size, e.g. 50 */
  limit: number;
  /** opaque cursor from a previous page's `next` */
  cursor?: string;
}

export interface SessionPage {
  /** newest first */
  items: SessionSummary[];
  /** index entries looked at (with a ticket: the sessions in its set) */
  scanned: number;
  /**
   * a next page exists: pass it as cursor. Null once the time range is exhausted; with a state
   * or code, the entries left may turn out not to match (the next page may then be empty).
   */
  next: string | null;
  /** the scan stopped at its bound before the range was exhausted */
  truncated: boolean;
}

export type StateCounts = Partial<Record<SessionState, number>>;

export interface StatusActivity {
  /** the last 60 minutes, oldest first, every minute present (empty counts allowed) */
  perMinute: Array<{ minute: string; counts: StateCounts }>;
  /** the sum of the last 60 minutes */
  lastHour: StateCounts;
  /** the sum of the last 24 hours, the current one included */
  lastDay: StateCounts;
  /** code -> events of the last 24 hours */
  codesLastDay: Record<string, number>;
}

export interface StatusStoreOptions {
  /** index entries one search call looks at, at most (tests make it small) */
  scanBound?: number;
  /** the clock, ms (tests record events at chosen times) */
  now?: () => number;
}

/** Where a search stopped: the last index entry looked at (entries sort by score, then member, both descending). */
type Position = { score: number; member: string };
type Entry = Position;

const SUMMARY_FIELDS = ['state', 'version', 'ticket', 'code', 'reason', 'source', 'jobId', 'at'] as const;

export class StatusStore {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly ttlSeconds: number;
  private readonly scanBound: number;
  private readonly now: () => number;
  private pending: Pending[] = [];

  constructor(redis: RedisClient, prefix: string, ttlDays = 30, opts: StatusStoreOptions = {}) {
    this.redis = redis;
    this.prefix = `${prefix}:status`;
    this.ttlSeconds = ttlDays * 86_400;
    this.scanBound = Math.max(1, opts.scanBound ?? SCAN_BOUND);
    this.now = opts.now ?? Date.now;
    // EVALSHA, falling back on EVAL once when Redis does not know the script yet
    if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { lua: RECORD_SCRIPT });
    if (!(FORGET in redis)) redis.defineCommand(FORGET, { lua: FORGET_SCRIPT });
  }

  private get indexKey(): string {
    return `${this.prefix}:index`;
  }

  /**
   * Records an event as the session's latest state; resolves once it is stored. With
   * `unlessNewer`, news about an older version (a bounce of an e-mail long superseded) goes
   * into the history only, leaving the newer version's state as it is.
   */
  async record(sessionKey: string, event: Omit<StatusEvent, 'at'>, opts: { unlessNewer?: boolean } = {}): Promise<void> {
    const full: StatusEvent = { ...event, at: new Date(this.now()).toISOString() };
    const key = `${this.prefix}:${sessionKey}`;
    let latest = true;
    if (opts.unlessNewer && event.version) {
      const current = await this.redis.hget(key, 'version');
      latest = !current || Date.parse(current) <= Date.parse(event.version);
    }
    return new Promise<void>((resolve, reject) => {
      if (this.pending.length === 0) queueMicrotask(() => this.write());
      this.pending.push({ session: sessionKey, key, event: full, latest, resolve, reject });
    });
  }

  private write(): void {
    const all = this.pending;
    this.pending = [];
    for (let i = 0; i < all.length; i += MAX_EVENTS_PER_CALL) {
      const part = all.slice(i, i + MAX_EVENTS_PER_CALL);
      // what the console reads, added up over the call (see RECORD_SCRIPT)
      const index = new Map<string, number>();
      const counters = new Map<string, { ttl: number; fields: Map<string, number> }>();
      const tickets = new Map<string, Set<string>>();
      const count = (key: string, ttl: number, field: string) => {
        let c = counters.get(key);
        if (!c) counters.set(key, (c = { ttl, fields: new Map() }));
        c.fields.set(field, (c.fields.get(field) ?? 0) + 1);
      };
      for (const p of part) {
        if (!p.latest) continue;
        const ms = Date.parse(p.event.at);
        index.set(p.session, ms);
        count(`${this.prefix}:minute:${Math.floor(ms / 60_000)}`, MINUTE_TTL, p.event.state);
        const hour = `${this.prefix}:hour:${Math.floor(ms / 3_600_000)}`;
        count(hour, HOUR_TTL, p.event.state);
        if (p.event.code) count(hour, HOUR_TTL, `code:${p.event.code}`);
        if (p.event.ticket) {
          const set = `${this.prefix}:ticket:${p.event.ticket}`;
          tickets.set(set, (tickets.get(set) ?? new Set()).add(p.session));
        }
      }
      const keys: string[] = [this.indexKey, ...counters.keys(), ...tickets.keys()];
      const args: Array<string | number> = [this.ttlSeconds, HISTORY, this.now() - this.ttlSeconds * 1000, counters.size, tickets.size, index.size];
      for (const [session, ms] of index) args.push(ms, session);
      for (const c of counters.values()) {
        args.push(c.ttl, c.fields.size);
        for (const [field, n] of c.fields) args.push(field, n);
      }
      for (const sessions of tickets.values()) args.push(sessions.size, ...sessions);
      for (const p of part) {
        keys.push(p.key, `${p.key}:events`);
        const fields = p.latest ? toFields(p.event) : [];
        args.push(fields.length, JSON.stringify(p.event), ...fields);
      }
      (this.redis as WithScripts)[COMMAND](keys.length, ...keys, ...args).then(
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

  /**
   * Sessions by the time of their latest event, newest first, a page at a time. With a state or
   * a code, the index entries of the time range are read in chunks (their hashes in one
   * pipeline each) until `limit` sessions match or `scanBound` entries were looked at: then
   * `truncated`, and `next` goes on from there. With a ticket, the ticket's set is read whole
   * instead (a ticket has few sessions). A session whose hash has expired is left out, and its
   * index entry removed.
   */
  async search(q: SessionQuery): Promise<SessionPage> {
    if (!Number.isInteger(q.limit) || q.limit < 1) throw new RangeError(`search: limit must be a positive integer (got ${q.limit})`);
    const after = q.cursor ? decodeCursor(q.cursor) : null;
    const matches = (s: SessionSummary) => (!q.state || s.state === q.state) && (!q.code || s.code === q.code);
    if (q.ticket) return this.searchTicket(q, after, matches);
    const min = q.from ?? -Infinity;
    const max = q.to ?? Infinity;
    const items: SessionSummary[] = [];
    const gone: string[] = [];
    let pos = after;
    let scanned = 0;
    // without a state or code nearly every entry matches: the first chunk is the page; with
    // one, chunks grow while little matches
    let chunk = Math.min(q.limit, MAX_CHUNK);
    try {
      for (;;) {
        const { entries, more } = await this.indexAfter(pos, min, max, Math.min(chunk, this.scanBound - scanned));
        const hashes = await this.summaries(entries.map((e) => e.member));
        for (const [i, e] of entries.entries()) {
          scanned++;
          pos = e;
          const s = hashes[i]!;
          if (!s) gone.push(e.member);
          else if (matches(s)) items.push(s);
          if (items.length === q.limit) {
            const rest = i < entries.length - 1 || more;
            return { items, scanned, next: rest ? encodeCursor(e) : null, truncated: false };
          }
        }
        if (!more) return { items, scanned, next: null, truncated: false };
        if (scanned >= this.scanBound) return { items, scanned, next: encodeCursor(pos!), truncated: true };
        chunk = Math.min(chunk * 4, MAX_CHUNK);
      }
    } finally {
      // housekeeping only, which a failure here does not fail the search for: the entries
      // are left out again next time, and trimmed once past the TTL
      if (gone.length) await this.forget(gone).catch(() => undefined);
    }
  }

  /** A ticket's sessions: its set read whole, each session's hash, filtered and sorted here. */
  private async searchTicket(q: SessionQuery, after: Position | null, matches: (s: SessionSummary) => boolean): Promise<SessionPage> {
    // a ticket has a few sessions; one with more than the scan bound is read that far (SSCAN),
    // like a search by time, and says it was cut short
    const key = `${this.prefix}:ticket:${q.ticket}`;
    const size = await this.redis.scard(key);
    let members: string[];
    if (size <= this.scanBound) members = await this.redis.smembers(key);
    else {
      members = [];
      let cursor = '0';
      do {
        const [nextCursor, part] = await this.redis.sscan(key, cursor, 'COUNT', 1_000);
        cursor = nextCursor;
        members.push(...part.slice(0, this.scanBound - members.length));
      } while (cursor !== '0' && members.length < this.scanBound);
    }
    const hashes = await this.summaries(members);
    const min = q.from ?? -Infinity;
    const max = q.to ?? Infinity;
    const found: Array<{ pos: Position; s: SessionSummary }> = [];
    for (const s of hashes) {
      // a session that moved on to another ticket stays in this ticket's set
      if (!s || s.ticket !== q.ticket || !matches(s)) continue;
      const score = Date.parse(s.at);
      if (score >= min && score <= max) found.push({ pos: { score, member: s.session }, s });
    }
    found.sort((a, b) => (isBefore(a.pos, b.pos) ? -1 : 1));
    const rest = after ? found.filter((f) => isBefore(after, f.pos)) : found;
    const page = rest.slice(0, q.limit);
    return { items: page.map((f) => f.s), scanned: members.length, next: rest.length > q.limit ? encodeCursor(page.at(-1)!.pos) : null, truncated: size > members.length };
  }

  /**
   * Up to `count` index entries in [min, max] after `pos`, and whether more follow. Entries of
   * one millisecond sort by session key (descending): going on after one of them reads that
   * millisecond's entries whole and keeps those after it (a millisecond holds at most the
   * sessions of a few batches), then the older ones.
   */
  private async indexAfter(pos: Position | null, min: number, max: number, count: number): Promise<{ entries: Entry[]; more: boolean }> {
    const lo = bound(min);
    const p = this.redis.pipeline();
    const tie = pos !== null && pos.score <= max && pos.score >= min;
    if (tie) {
      p.zrevrangebyscore(this.indexKey, pos.score, pos.score);
      p.zrevrangebyscore(this.indexKey, `(${pos.score}`, lo, 'WITHSCORES', 'LIMIT', 0, count + 1);
    } else {
      const hi = pos !== null && pos.score < max ? `(${pos.score}` : bound(max);
      p.zrevrangebyscore(this.indexKey, hi, lo, 'WITHSCORES', 'LIMIT', 0, count + 1);
    }
    const replies = await exec(p);
    const entries: Entry[] = [];
    if (tie) for (const member of replies[0] as string[]) if (isBefore(pos, { score: pos.score, member })) entries.push({ score: pos.score, member });
    const flat = replies.at(-1) as string[];
    for (let i = 0; i < flat.length; i += 2) entries.push({ member: flat[i]!, score: Number(flat[i + 1]) });
    return { entries: entries.slice(0, count), more: entries.length > count };
  }

  /** The summaries of these sessions, null where the hash is gone; one pipeline. */
  private async summaries(sessions: string[]): Promise<Array<SessionSummary | null>> {
    if (sessions.length === 0) return [];
    const p = this.redis.pipeline();
    for (const s of sessions) p.hmget(`${this.prefix}:${s}`, ...SUMMARY_FIELDS);
    const replies = (await exec(p)) as Array<Array<string | null>>;
    return replies.map((v, i) => {
      const [state, version, ticket, code, reason, source, jobId, at] = v.map((x) => x || null);
      if (!state) return null;
      return { session: sessions[i]!, state: state as SessionState, version: version!, ticket: ticket!, code: code!, reason: reason!, source: source!, jobId: jobId!, at: at ?? '' };
    });
  }

  private async forget(sessions: string[]): Promise<void> {
    await (this.redis as WithScripts)[FORGET](1 + sessions.length, this.indexKey, ...sessions.map((s) => `${this.prefix}:${s}`), ...sessions);
  }

  /**
   * Events per state over the last hour (per minute) and the last day (per hour), and per code
   * over the last day, from the counters (events that became a session's latest). One pipeline.
   */
  async activity(now = this.now()): Promise<StatusActivity> {
    const minute0 = Math.floor(now / 60_000);
    const hour0 = Math.floor(now / 3_600_000);
    const p = this.redis.pipeline();
    for (let i = 59; i >= 0; i--) p.hgetall(`${this.prefix}:minute:${minute0 - i}`);
    for (let i = 23; i >= 0; i--) p.hgetall(`${this.prefix}:hour:${hour0 - i}`);
    const replies = (await exec(p)) as Array<Record<string, string>>;
    const lastHour: StateCounts = {};
    const lastDay: StateCounts = {};
    const codesLastDay: Record<string, number> = {};
    const perMinute = replies.slice(0, 60).map((h, i) => {
      const counts: StateCounts = {};
      for (const [state, n] of Object.entries(h)) {
        counts[state as SessionState] = Number(n);
        lastHour[state as SessionState] = (lastHour[state as SessionState] ?? 0) + Number(n);
      }
      return { minute: new Date((minute0 - 59 + i) * 60_000).toISOString(), counts };
    });
    for (const h of replies.slice(60)) {
      for (const [field, n] of Object.entries(h)) {
        if (field.startsWith('code:')) codesLastDay[field.slice(5)] = (codesLastDay[field.slice(5)] ?? 0) + Number(n);
        else lastDay[field as SessionState] = (lastDay[field as SessionState] ?? 0) + Number(n);
      }
    }
    return { perMinute, lastHour, lastDay, codesLastDay };
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

/** A pipeline's replies; the first error fails it all. */
async function exec(p: ReturnType<RedisClient['pipeline']>): Promise<unknown[]> {
  const results = (await p.exec()) ?? [];
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

/** A score bound for ZRANGEBYSCORE: infinite ones as Redis spells them. */
function bound(ms: number): string | number {
  return ms === Infinity ? '+inf' : ms === -Infinity ? '-inf' : ms;
}

/** `a` comes before `b` in the index's order: newer first, then the greater session key (byte order, as Redis compares members). */
function isBefore(a: Position, b: Position): boolean {
  if (a.score !== b.score) return a.score > b.score;
  return Buffer.compare(Buffer.from(a.member), Buffer.from(b.member)) > 0;
}

function encodeCursor(p: Position): string {
  return Buffer.from(JSON.stringify([p.score, p.member])).toString('base64url');
}

function decodeCursor(cursor: string): Position {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    v = null;
  }
  if (!Array.isArray(v) || v.length !== 2 || !Number.isFinite(v[0]) || typeof v[1] !== 'string') throw new RangeError(`search: not a cursor this store handed out: ${cursor}`);
  return { score: v[0] as number, member: v[1] };
}
