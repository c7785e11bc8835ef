// What the e-mail target remembers in Redis, shared by the sender (targets/email) and the
// mailbox reader (pipeline/mail-intake): per Message-ID we sent, a claim while sending and then
// a sent record (session, version, ticket); per ticket, the Message-IDs to reply to (ours and
// the helpdesk's notifications, newest first) and the threading tokens its notifications carry.
import { randomUUID } from 'node:crypto';
import type { RedisClient } from './redis.ts';
import { releaseLeaseIn } from './lease.ts';
import { untaggedMessageId } from '../domain/mail/message-id.ts';

/**
 * The claim on a version being sent is a lease (MAIL_CLAIM_LEASE_MS, default 30 s): the sender
 * renews it every third of that while the SMTP send is in flight (holdClaim), so a process that
 * died stops renewing and its claim lapses within the lease, not after a fixed time.
 */
export const DEFAULT_CLAIM_LEASE_MS = 30_000;
/**
 * How long a 'sending' mark outlives its lease: the attempt that finds it, with the lease
 * lapsed, knows an earlier attempt of the version was interrupted (and says so) rather than
 * taking the version for one never tried. Nothing waits on it.
 */
const INTERRUPTED_KEPT_S = 7 * 86_400;
/** sent records, thread ids and tokens are kept this long */
const KEEP_S = 400 * 86_400;
const THREAD_IDS_KEPT = 20;
const TOKENS_KEPT = 5;
const SENDING = 'sending';

// KEYS: the Message-ID's mark, the newest version sent for the ticket and session, the
// session's sending lock (the claim's lease). ARGV: this version (ms), the lease (ms), this
// attempt's token, the tokens of this version begin with this, how long the mark is kept (s).
//
// A version already sent is said so first. Then the session's lock: held by another token, it
// is a live claim (the lock lapses with its lease), of this version by another attempt
// ('sending') or of another version ('busy'), with the lease's time left. Then no version
// older than the newest sent (superseded). Else the claim is ours: the mark 'sending|<token>'
// (kept long, to recognise an interrupted attempt later) and the lock, for the lease; an
// earlier mark 'sending…' whose lock lapsed is returned: that attempt was interrupted.
const CLAIM_SCRIPT = `
local mark = redis.call('GET', KEYS[1])
if mark and string.sub(mark, 1, 7) ~= 'sending' then return {'taken', mark} end
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[3] then
  local left = redis.call('PTTL', KEYS[3])
  if left < 0 then left = tonumber(ARGV[2]) end
  if string.sub(holder, 1, string.len(ARGV[4])) == ARGV[4] then return {'sending', tostring(left)} end
  return {'busy', tostring(left)}
end
local newest = redis.call('GET', KEYS[2])
if newest and tonumber(newest) > tonumber(ARGV[1]) then return {'superseded', newest} end
redis.call('SET', KEYS[1], 'sending|' .. ARGV[3], 'EX', ARGV[5])
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[2])
if mark then return {'claimed', mark} end
return {'claimed'}`;

// Renews the claim of token ARGV[1] for ARGV[2] ms (KEYS: the mark, the session's lock): while
// the lock is its own, or lapsed with the mark still its own (a renewal missed, nobody took
// over). 0: the claim went to another attempt, or the version was marked sent meanwhile.
const RENEW_SCRIPT = `
local lock = redis.call('GET', KEYS[2])
if lock == ARGV[1] or (lock == false and redis.call('GET', KEYS[1]) == 'sending|' .. ARGV[1]) then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

// Gives up the claim of token ARGV[1] (KEYS: the mark, the session's lock): only what is still
// its own (an attempt whose claim was taken over cannot drop the new holder's).
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == 'sending|' .. ARGV[1] then redis.call('DEL', KEYS[1]) end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1`;

// The newest version sent for a ticket and session only moves up.
const NEWEST_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if (not cur) or tonumber(ARGV[1]) > tonumber(cur) then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
return 1`;


/** A session version as the claim sees it: its ticket, session and version (ms). */
export interface SessionVersion {
  ticketId: string;
  sessionKey: string;
  ms: number;
  /** this attempt's claim (its lease's owner token; set by claim) */
  token?: string;
}

function sessionOf(v: { ticketId: string; sessionKey: string }): string {
  return `${v.ticketId}:${v.sessionKey}`;
}

export interface SentRecord {
  sessionKey: string;
  version: string;
  ticketId: string;
  jobId: string | null;
  sentAt: string;
  /** set when a bounce for it came back */
  bounced?: string;
}

/** An e-mail that came back: the Message-ID it was sent with, the version's first one, its ticket. */
export interface Returned {
  messageId: string;
  baseId: string;
  ticketId: string;
}

export type Claim =
  /**
   * the version is this attempt's to send; `interrupted`: an earlier attempt claimed it and
   * stopped renewing its lease (its process died, or froze longer than the lease) before it
   * was marked sent: it may or may not have reached the server
   */
  | { state: 'claimed'; interrupted: boolean }
  /** another attempt of this version holds a live claim (its lease has `leaseLeftMs` to run) */
  | { state: 'sending'; leaseLeftMs: number }
  /** another version of the session is being sent to the ticket (a live claim, as above) */
  | { state: 'busy'; leaseLeftMs: number }
  | { state: 'sent'; record: SentRecord | null; sentAt: string }
  /** a newer version of the session was already claimed (or sent) for the ticket */
  | { state: 'superseded'; newestMs: number };

/** A claim kept alive while its e-mail is sent (see holdClaim). */
export interface ClaimHold {
  /** stops renewing (the claim is then marked sent or released) */
  stop(): void;
}

export class MailStore {
  private readonly redis: RedisClient;
  private readonly prefix: string;

  /** the claim's lease (ms) */
  readonly claimLeaseMs: number;

  constructor(redis: RedisClient, prefix: string, opts: { claimLeaseMs?: number } = {}) {
    this.redis = redis;
    this.prefix = `${prefix}:email`;
    this.claimLeaseMs = opts.claimLeaseMs ?? DEFAULT_CLAIM_LEASE_MS;
  }

  private key(kind: 'sent' | 'thread' | 'tokens' | 'gen' | 'newest' | 'lock', id: string): string {
    // a version's memory does not depend on MAIL_ID_SECRET (set later, or changed)
    return `${this.prefix}:${kind}:${kind === 'sent' || kind === 'gen' ? untaggedMessageId(id) : id}`;
  }

  /**
   * Claims a version before sending its e-mail: a second attempt (a worker that took over a
   * stalled job, a re-run while the first still sends) is told so, with the time left on the
   * holder's lease. In the same step, one version of a session is sent to a ticket at a time
   * (`busy` while another is being sent), and a version older than the newest one claimed is
   * refused (`superseded`): two versions sent at once cannot leave the older one last in the
   * thread. A claim whose holder stopped renewing it lapses after the lease: the next attempt
   * takes the version over (`interrupted`) and sends it again, under the same Message-ID.
   */
  async claim(messageId: string, version: SessionVersion): Promise<Claim> {
    // this attempt's own token: an attempt that outlived its claim cannot renew or free a later one's
    const own = untaggedMessageId(messageId);
    version.token = `${own}|${randomUUID()}`;
    const r = (await this.redis.eval(
      CLAIM_SCRIPT,
      3,
      this.key('sent', messageId),
      this.key('newest', sessionOf(version)),
      this.key('lock', sessionOf(version)),
      String(version.ms),
      String(this.claimLeaseMs),
      version.token,
      `${own}|`,
      String(INTERRUPTED_KEPT_S),
    )) as [string, string?];
    if (r[0] === 'claimed') return { state: 'claimed', interrupted: r[1] !== undefined };
    if (r[0] === 'sending' || r[0] === 'busy') return { state: r[0], leaseLeftMs: Number(r[1]) };
    if (r[0] === 'superseded') return { state: 'superseded', newestMs: Number(r[1]) };
    const mark = r[1] ?? '';
    const record = parseRecord(mark);
    return { state: 'sent', record, sentAt: record?.sentAt ?? mark };
  }

  /**
   * Keeps this attempt's claim alive while its e-mail is sent: renewed every third of the
   * lease, so only a holder that stopped (died, froze, lost Redis) for a whole lease can be
   * taken over. `onLost` is called once if another attempt took the version over meanwhile.
   */
  holdClaim(messageId: string, version: SessionVersion, onLost: () => void): ClaimHold {
    const token = version.token;
    if (!token) throw new Error('holdClaim: the version was not claimed');
    let stopped = false;
    const timer = setInterval(() => {
      void this.redis
        .eval(RENEW_SCRIPT, 2, this.key('sent', messageId), this.key('lock', sessionOf(version)), token, String(this.claimLeaseMs))
        .then(
          (held) => {
            if (held === 1 || stopped) return;
            stopped = true;
            clearInterval(timer);
            onLost();
          },
          // Redis away: the next renewal tries again (and takes the lease back if nobody else did)
          () => undefined,
        );
    }, Math.max(100, Math.floor(this.claimLeaseMs / 3)));
    timer.unref();
    return {
      stop() {
        stopped = true;
        clearInterval(timer);
      },
    };
  }

  /** Gives up a claim (the send failed): the version may be sent again, by this job's retry or another. */
  async release(messageId: string, version: SessionVersion): Promise<void> {
    if (!version.token) return;
    await this.redis.eval(RELEASE_SCRIPT, 2, this.key('sent', messageId), this.key('lock', sessionOf(version)), version.token);
  }

  async markSent(messageId: string, record: SentRecord, version?: SessionVersion): Promise<void> {
    const thread = this.key('thread', record.ticketId);
    const session = sessionOf(record);
    const m = this.redis
      .multi()
      .set(this.key('sent', messageId), JSON.stringify(record), 'EX', KEEP_S)
      .eval(NEWEST_SCRIPT, 1, this.key('newest', session), String(Date.parse(record.version)), String(KEEP_S));
    if (version?.token) releaseLeaseIn(m, this.key('lock', session), version.token);
    await m
      .lrem(thread, 0, messageId)
      .lpush(thread, messageId)
      .ltrim(thread, 0, THREAD_IDS_KEPT - 1)
      .expire(thread, KEEP_S)
      .exec();
  }

  /** What we sent under this Message-ID, or null (not ours, or expired). */
  async sent(messageId: string): Promise<SentRecord | null> {
    const mark = await this.redis.get(this.key('sent', messageId));
    return mark && !mark.startsWith(SENDING) ? parseRecord(mark) : null;
  }

  /** Records a bounce on the sent record; false when this bounce was already recorded. */
  async markBounced(messageId: string, record: SentRecord, reason: string): Promise<boolean> {
    if (record.bounced === reason) return false;
    await this.redis.set(this.key('sent', messageId), JSON.stringify({ ...record, bounced: reason }), 'KEEPTTL');
    return true;
  }

  /** The Message-IDs known for a ticket, newest first. */
  async threadIds(ticketId: string): Promise<string[]> {
    return this.redis.lrange(this.key('thread', ticketId), 0, THREAD_IDS_KEPT - 1);
  }

  async hasThread(ticketId: string): Promise<boolean> {
    return (await this.redis.exists(this.key('thread', ticketId))) === 1;
  }

  /** Remembers a helpdesk notification's Message-ID (and its threading tokens) for the ticket. */
  async remember(ticketId: string, messageId: string | null, tokens: string[]): Promise<void> {
    const m = this.redis.multi();
    // one well-formed id: it goes into the References header of our later e-mails
    if (messageId && /^<[^<>\s]{1,250}>$/.test(messageId)) {
      const thread = this.key('thread', ticketId);
      m.lrem(thread, 0, messageId).lpush(thread, messageId).ltrim(thread, 0, THREAD_IDS_KEPT - 1).expire(thread, KEEP_S);
    }
    if (tokens.length) {
      const t = this.key('tokens', ticketId);
      for (const token of tokens) m.lrem(t, 0, token).lpush(t, token);
      m.ltrim(t, 0, TOKENS_KEPT - 1).expire(t, KEEP_S);
    }
    await m.exec();
  }

  /**
   * Remembers the job of an e-mail that came back (a bounce, a NEW ticket), so `replay` can send
   * it again after a fix: its job completed, so it is not in the queue's failed list.
   */
  async markReturned(jobId: string, r: Returned): Promise<void> {
    await this.redis.hset(`${this.prefix}:returned`, jobId, JSON.stringify(r));
  }

  /** Job id -> what came back, for every e-mail that was not replayed yet. */
  async returned(): Promise<Map<string, Returned>> {
    const h = await this.redis.hgetall(`${this.prefix}:returned`);
    return new Map(Object.entries(h).map(([jobId, json]) => [jobId, JSON.parse(json) as Returned]));
  }

  /**
   * Forgets a returned e-mail: the next run of its job sends it again, as the next generation
   * of its Message-ID, and no later e-mail of the ticket refers to the one that came back (after
   * a threading miss the helpdesk filed it on the wrong ticket).
   */
  async forgetReturned(jobId: string, r: Returned): Promise<void> {
    const gen = this.key('gen', r.baseId);
    await this.redis
      .multi()
      .hdel(`${this.prefix}:returned`, jobId)
      .incr(gen)
      .expire(gen, KEEP_S)
      .lrem(this.key('thread', r.ticketId), 0, r.messageId)
      .exec();
  }

  /** Forgets a returned e-mail whose job is gone (expired after KEEP_COMPLETED_DAYS). */
  async dropReturned(jobId: string): Promise<void> {
    await this.redis.hdel(`${this.prefix}:returned`, jobId);
  }

  /** How often the version's e-mail was resent after coming back (0: never). */
  async generation(baseId: string): Promise<number> {
    return Number((await this.redis.get(this.key('gen', baseId))) ?? 0);
  }

  async tokens(ticketId: string): Promise<string[]> {
    return this.redis.lrange(this.key('tokens', ticketId), 0, TOKENS_KEPT - 1);
  }
}

function parseRecord(mark: string): SentRecord | null {
  if (!mark.startsWith('{')) return null; // an older marker: the time it was sent
  try {
    return JSON.parse(mark) as SentRecord;
  } catch {
    return null;
  }
}
