// Redis errors (ioredis's) in our closed set of codes: a password to fix (CONFIG_INVALID) or a
// server that comes back by itself (QUEUE_UNAVAILABLE). ioredis hands over a server's reply
// only as an error's text, so the table matches words. Pure: tables and a lookup.
import { codeIn } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';

/** The server's reply, by its first word: no password given (NOAUTH), a wrong one (WRONGPASS, Redis 6+). */
const BY_REPLY: Record<string, ErrorCode> = {
  NOAUTH: 'CONFIG_INVALID',
  WRONGPASS: 'CONFIG_INVALID',
};

/**
 * Words anywhere in the error's code and message, in any case: anywhere, because BullMQ's
 * scripts and ioredis wrap a reply in words of their own. First match wins, so a refused
 * password is never taken for a server that will come back.
 */
const BY_WORDS: ReadonlyArray<readonly [words: string, code: ErrorCode]> = [
  // a wrong password, as Redis before 6 and ACL users say it
  ['invalid password', 'CONFIG_INVALID'],
  ['invalid username-password pair', 'CONFIG_INVALID'],
  // the connection: refused, reset, timed out, broken, the name not resolved yet
  ['ECONNREFUSED', 'QUEUE_UNAVAILABLE'],
  ['ECONNRESET', 'QUEUE_UNAVAILABLE'],
  ['ETIMEDOUT', 'QUEUE_UNAVAILABLE'],
  ['EPIPE', 'QUEUE_UNAVAILABLE'],
  ['EAI_AGAIN', 'QUEUE_UNAVAILABLE'],
  // ioredis's own: the connection is gone ("Connection is closed."), it gave up on a command
  // (MaxRetriesPerRequestError), or it may not queue one while disconnected (enableOfflineQueue
  // false: "Stream isn't writeable")
  ['Connection is closed', 'QUEUE_UNAVAILABLE'],
  ['max retries per request', 'QUEUE_UNAVAILABLE'],
  ["Stream isn't writeable", 'QUEUE_UNAVAILABLE'],
  // a server that cannot write now: a replica (READONLY), loading its data (LOADING), its
  // master gone (MASTERDOWN). Not here, and so unknown as before: OOM (memory full, which
  // waits for an admin) and a command time-out ("Command timed out").
  ['READONLY', 'QUEUE_UNAVAILABLE'],
  ['LOADING', 'QUEUE_UNAVAILABLE'],
  ['MASTERDOWN', 'QUEUE_UNAVAILABLE'],
  // a Redis Cluster between two states: slots not served (CLUSTERDOWN), a slot moving
  // (TRYAGAIN), a failover that keeps redirecting; ioredis's Cluster not ready (no offline
  // queue), no node answering, its slot map not refreshed, or closed. Not here, and so
  // unknown: CROSSSLOT (keys of one command in several slots: a bug, since QUEUE_PREFIX holds
  // a hash tag on a cluster).
  ['CLUSTERDOWN', 'QUEUE_UNAVAILABLE'],
  ['TRYAGAIN', 'QUEUE_UNAVAILABLE'],
  ['Too many Cluster redirections', 'QUEUE_UNAVAILABLE'],
  ["Cluster isn't ready", 'QUEUE_UNAVAILABLE'],
  ['None of startup nodes is available', 'QUEUE_UNAVAILABLE'],
  ['Failed to refresh slots cache', 'QUEUE_UNAVAILABLE'],
  ['Cluster is ended', 'QUEUE_UNAVAILABLE'],
];

/** What the tables do not know: for the caller to take as an unexpected error. */
const DEFAULT_CODE: ErrorCode = 'INTERNAL';

/** The code for an error of ioredis (or of BullMQ, passing one on). */
export function redisErrorCode(err: unknown): ErrorCode {
  const e = (err ?? {}) as { code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : '';
  const reply = codeIn(BY_REPLY, /^\w+/.exec(message)?.[0].toUpperCase());
  if (reply) return reply;
  const text = `${e.code ?? ''} ${message}`.toLowerCase();
  return BY_WORDS.find(([words]) => text.includes(words.toLowerCase()))?.[1] ?? DEFAULT_CODE;
}
