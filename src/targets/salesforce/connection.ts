// One jsforce connection per worker process, authenticated once and again only when
// Salesforce says the session expired (jsforce calls `refreshFn` on INVALID_SESSION_ID and
// repeats the request). Never a login per job: Salesforce rate-limits logins.
//   - client credentials: SF_CLIENT_ID + SF_CLIENT_SECRET against SF_LOGIN_URL (My Domain)
//   - JWT bearer: SF_CLIENT_ID + SF_USERNAME + SF_PRIVATE_KEY(_FILE), RS256 assertion we sign
//   - a ready token: SF_INSTANCE_URL + SF_ACCESS_TOKEN (tests, scripts; cannot be renewed)
import { createSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Connection } from 'jsforce';
// jsforce's request defaults (its own default time-out is 30 minutes without an answer, and a
// stuck request would hold up every write of this process: batches run one at a time).
import jsforceRequest from 'jsforce/lib/request.js';
import type { Config } from '../../config.ts';
import { SyncError } from '../../errors.ts';

export type AuthMode = 'token' | 'jwt' | 'client-credentials';

interface TokenResponse {
  access_token: string;
  instance_url: string;
}

export function authModeOf(c: Config): AuthMode {
  if (c.SF_INSTANCE_URL && c.SF_ACCESS_TOKEN) return 'token';
  if (c.SF_CLIENT_ID && c.SF_USERNAME && (c.SF_PRIVATE_KEY || c.SF_PRIVATE_KEY_FILE)) return 'jwt';
  return 'client-credentials';
}

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/** The JWT bearer assertion (RS256): iss = consumer key, sub = username, aud = login URL. */
export function jwtAssertion(opts: { clientId: string; username: string; audience: string; privateKeyPem: string; now?: number }): string {
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const claims = base64url(JSON.stringify({ iss: opts.clientId, sub: opts.username, aud: opts.audience, exp: now + 180 }));
  const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(opts.privateKeyPem);
  return `${header}.${claims}.${base64url(signature)}`;
}

/**
 * Audience of the assertion: Salesforce documents https://login.salesforce.com, or
 * https://test.salesforce.com for a sandbox (or an Experience Cloud site URL, SF_JWT_AUDIENCE).
 */
export function audienceFor(loginUrl: string, override?: string): string {
  if (override) return override;
  const host = new URL(loginUrl).host;
  return /(^|\.)test\.salesforce\.com$|\.sandbox\.my\.salesforce\.com$/.test(host) ? 'https://test.salesforce.com' : 'https://login.salesforce.com';
}

async function requestToken(c: Config, mode: Exclude<AuthMode, 'token'>): Promise<TokenResponse> {
  const form = new URLSearchParams();
  if (mode === 'jwt') {
    let key = c.SF_PRIVATE_KEY;
    if (!key && c.SF_PRIVATE_KEY_FILE) {
      try {
        key = readFileSync(c.SF_PRIVATE_KEY_FILE, 'utf8');
      } catch (err) {
        throw new SyncError('TARGET_CONFIG', `SF_PRIVATE_KEY_FILE: cannot read ${c.SF_PRIVATE_KEY_FILE} (${(err as NodeJS.ErrnoException).code})`);
      }
    }
    form.set('grant_type', 'urn:ietf:params:oauth:grant-type:jwt-bearer');
    form.set('assertion', jwtAssertion({ clientId: c.SF_CLIENT_ID!, username: c.SF_USERNAME!, audience: audienceFor(c.SF_LOGIN_URL, c.SF_JWT_AUDIENCE), privateKeyPem: key!.replace(/\\n/g, '\n') }));
  } else {
    form.set('grant_type', 'client_credentials');
    form.set('client_id', c.SF_CLIENT_ID!);
    form.set('client_secret', c.SF_CLIENT_SECRET!);
  }
  const url = new URL('/services/oauth2/token', c.SF_LOGIN_URL);
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body: form, headers: { accept: 'application/json' }, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new SyncError('TARGET_UNAVAILABLE', `Salesforce login: cannot reach ${url.host} (${(err as Error).message})`, { cause: err });
  }
  const body = (await res.json().catch(() => ({}))) as Partial<TokenResponse> & { error?: string; error_description?: string };
  if (!res.ok || !body.access_token || !body.instance_url) {
    const code = res.status >= 500 ? 'TARGET_UNAVAILABLE' : 'TARGET_AUTH';
    throw new SyncError(code, `Salesforce login (${mode}) refused: ${body.error ?? res.status}: ${body.error_description ?? 'no description'}`);
  }
  return { access_token: body.access_token, instance_url: body.instance_url };
}

export async function connect(c: Config): Promise<{ conn: Connection; mode: AuthMode }> {
  // setDefaults replaces them all: keep the proxy jsforce would have taken from the environment
  (jsforceRequest as unknown as { setDefaults(d: Record<string, unknown>): void }).setDefaults({
    httpProxy: process.env.https_proxy ?? process.env.http_proxy ?? process.env.HTTPS_PROXY ?? process.env.HTTP_PROXY ?? undefined,
    timeout: c.SF_REQUEST_TIMEOUT_MS,
    followRedirect: true,
  });
  const mode = authModeOf(c);
  if (mode === 'token') {
    const conn = new Connection({ instanceUrl: c.SF_INSTANCE_URL, accessToken: c.SF_ACCESS_TOKEN, version: c.SF_API_VERSION });
    return { conn, mode };
  }
  const first = await requestToken(c, mode);
  const conn = new Connection({
    instanceUrl: first.instance_url,
    accessToken: first.access_token,
    loginUrl: c.SF_LOGIN_URL,
    version: c.SF_API_VERSION,
    // Neither grant returns a refresh token: run the grant again when the session expires.
    refreshFn: (_conn, callback) => {
      requestToken(c, mode).then(
        (t) => callback(null, t.access_token, t as never),
        (err: Error) => callback(err),
      );
    },
  });
  return { conn, mode };
}
