// What the e-mail target remembers in Redis, shared by the sender (targets/email) and the
// mailbox reader (pipeline/mail-intake): per Message-ID we sent, a claim while sending and then
// a sent record (session, version, ticket); per ticket, the Message-IDs to reply to (ours and
// the helpdesk's notifications, newest first) and the threading tokens its notifications carry.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { releaseLeaseIn } from './lease.ts';
import { untaggedMessageId } from '../domain/mail/message-id.ts';

/** how long a send may take before another attempt may claim the version */
const SENDING_CLAIM_S = 15 * 60;
/** sent records, thread ids and tokens are kept this long */
const KEEP_S = 400 * 86_400;
const THREAD_IDS_KEPT = 20;
const TOKENS_KEPT = 5;

// KEYS: the Message-ID's mark, the newest version sent for the ticket and session, the
// session's sending lock. ARGV: this version (ms; -1: no session checks), the claim's
// lifetime (s), this attempt's lock token. A version already sent is said so first; then one
// version of a session at a time (busy), and none older than the newest sent (superseded).
const CLAIM_SCRIPT = `
local mark = redis.call('GET', KEYS[1])
if mark and mark ~= 'sending' then return {'taken', mark} end
local v = tonumber(ARGV[1])
if v >= 0 then
  local holder = redis.call('GET', KEYS[3])
  if holder and holder ~= ARGV[3] then return {'busy'} end
  local newest = redis.call('GET', KEYS[2])
  if newest and tonumber(newest) > v then return {'superseded', newest} end
end
if redis.call('SET', KEYS[1], 'sending', 'EX', ARGV[2], 'NX') then
  if v >= 0 then redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[2]) end
  return {'claimed'}
end
mark = redis.call('GET', KEYS[1])
if mark then return {'taken', mark} end
return {'taken'}`;

// The newest version sent for a ticket and session only moves up.
const NEWEST_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if (not cur) or tonumber(ARGV[1]) > tonumber(cur) then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
return 1`;


/** A session version as the claim sees it: its ticket, session and version (ms). */
export interface SessionVersion {
  ticketId: string;
  sessionKey: string;
  ms?: number;
  /** this attempt's hold on the session's lock (set by claim) */
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
  | { state: 'claimed' }
  | { state: 'sending' }
  /** another version of the session is being sent to the ticket */
  | { state: 'busy' }
  | { state: 'sent'; record: SentRecord | null; sentAt: string }
  /** a newer version of the session was already claimed (or sent) for the ticket */
  | { state: 'superseded'; newestMs: number };

export class MailStore {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = `${prefix}:email`;
  }

  private key(kind: 'sent' | 'thread' | 'tokens' | 'gen' | 'newest' | 'lock', id: string): string {
    // a version's memory does not depend on MAIL_ID_SECRET (set later, or changed)
    return `${this.prefix}:${kind}:${kind === 'sent' || kind === 'gen' ? untaggedMessageId(id) : id}`;
  }

  /**
   * Claims a Message-ID before sending: a second worker (or a re-run while the first still
   * sends) is told so. With the version's ticket and session, in the same step, one version of
   * a session is sent to a ticket at a time (`busy` while another is being sent), and a version
   * older than the newest one claimed is refused (`superseded`): two versions sent at once
   * cannot leave the older one last in the thread.
   */
  async claim(messageId: string, version?: SessionVersion): Promise<Claim> {
    // this attempt's own token: an attempt that outlived its claim cannot free a later one's lock
    if (version) version.token = `${untaggedMessageId(messageId)}|${randomUUID()}`;
    const r = (await this.redis.eval(
      CLAIM_SCRIPT,
      3,
      this.key('sent', messageId),
      this.key('newest', version ? sessionOf(version) : '-'),
      this.key('lock', version ? sessionOf(version) : '-'),
      String(version?.ms ?? -1),
      String(SENDING_CLAIM_S),
      version?.token ?? '-',
    )) as [string, string?];
    if (r[0] === 'claimed') return { state: 'claimed' };
    if (r[0] === 'busy') return { state: 'busy' };
    if (r[0] === 'superseded') return { state: 'superseded', newestMs: Number(r[1]) };
    const mark = r[1] ?? null;
    if (mark === 'sending') return { state: 'sending' };
    if (mark === null) return this.claim(messageId, version); // expired in between
    const record = parseRecord(mark);
    return { state: 'sent', record, sentAt: record?.sentAt ?? mark };
  }

  /** Gives up a claim (the send failed): the version may be sent again, by this job's retry or another. */
  async release(messageId: string, version?: SessionVersion): Promise<void> {
    const m = this.redis.multi().del(this.key('sent', messageId));
    if (version?.token) releaseLeaseIn(m, this.key('lock', sessionOf(version)), version.token);
    await m.exec();
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
    return mark && mark !== 'sending' ? parseRecord(mark) : null;
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
