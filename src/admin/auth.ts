// Who may use the console, and from where. HTTP Basic (ADMIN_USER, ADMIN_PASSWORD) on every
// request; a request that changes something must also come from the console's own pages:
//   - its Origin (or, when a browser sends none, its Referer) names the host the request was
//     sent to (Host, or X-Forwarded-Host behind a TLS proxy): a page on another site can post a
//     form to the console and the browser would add the saved Basic credentials, but it cannot
//     make the Origin ours;
//   - and the form carries a token only the console's pages know (an HMAC of the credentials),
//     so even a browser that sends neither header cannot be made to change anything.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function same(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export interface Credentials {
  user: string;
  password: string;
}

/** The request's Basic credentials are these (compared in constant time). */
export function authorised(req: IncomingMessage, c: Credentials): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return false;
  // both compared, always: how long it takes says nothing of which one was wrong
  const userOk = same(text.slice(0, colon), c.user);
  const passwordOk = same(text.slice(colon + 1), c.password);
  return userOk && passwordOk;
}

/** The token the console's forms carry: the same on every worker that has the same credentials. */
export function formToken(c: Credentials): string {
  return createHmac('sha256', `${c.user}\u0000${c.password}`).update('ccai-crm-sync admin console form').digest('base64url');
}

export function validFormToken(given: string | null | undefined, c: Credentials): boolean {
  return typeof given === 'string' && given.length > 0 && same(given, formToken(c));
}

function hostOf(value: string | undefined): string | null {
  if (!value) return null;
  try {
    return new URL(value).host.toLowerCase();
  } catch {
    return null;
  }
}

/**
 * A state-changing request comes from our own pages: its Origin (else, when it has none, its
 * Referer) is the host it was sent to, or the one a proxy says it was (X-Forwarded-Host: a
 * page on another site cannot set that header on a browser's request). "null" origins
 * (sandboxed frames, file: pages) and requests with neither header are refused.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  // an Origin decides alone (a "null" one is refused); only a request without one is judged by its Referer
  const origin = req.headers.origin;
  const from = typeof origin === 'string' ? hostOf(origin) : hostOf(req.headers.referer);
  if (!from) return false;
  const forwarded = req.headers['x-forwarded-host'];
  const hosts = [req.headers.host, ...(typeof forwarded === 'string' ? forwarded.split(',') : [])].filter((h): h is string => Boolean(h)).map((h) => h.trim().toLowerCase());
  return hosts.includes(from);
}
