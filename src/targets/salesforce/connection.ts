// One jsforce connection per worker process, authenticated once and again only when
// Salesforce says the session expired (jsforce calls `refreshFn` on INVALID_SESSION_ID and
// repeats the request). Never a login per job: Salesforce rate-limits logins.
//   - client credentials: SF_CLIENT_ID + SF_CLIENT_SECRET against SF_LOGIN_URL (My Domain)
//   - JWT bearer: SF_CLIENT_ID + SF_USERNAME + SF_PRIVATE_KEY(_FILE), RS256 assertion we sign
//   - a ready token: SF_INSTANCE_URL + SF_ACCESS_TOKEN (tests, scripts; cannot be renewed)
import { createSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Connection } from 'jsforce';
import { SyncError } from '../../errors.ts';
import { setRequestDefaults } from './jsforce-internals.ts';

export type AuthMode = 'token' | 'jwt' | 'client-credentials';

/** How to log in (the SF_* settings; the composition root builds it from the configuration). */
export interface SalesforceAuth {
  loginUrl: string;
  clientId?: string;
  clientSecret?: string;
  username?: string;
  /** PEM, or read from privateKeyFile */
  privateKey?: string;
  privateKeyFile?: string;
  instanceUrl?: string;
  accessToken?: string;
  apiVersion: string;
  jwtAudience?: string;
  requestTimeoutMs: number;
}

interface TokenResponse {
  access_token: string;
  instance_url: string;
}

export function authModeOf(c: SalesforceAuth): AuthMode {
  if (c.instanceUrl && c.accessToken) return 'token';
  if (c.clientId && c.username && (c.privateKey || c.privateKeyFile)) return 'jwt';
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

async function requestToken(c: SalesforceAuth, mode: Exclude<AuthMode, 'token'>): Promise<TokenResponse> {
  const form = new URLSearchParams();
  if (mode === 'jwt') {
    let key = c.privateKey;
    if (!key && c.privateKeyFile) {
      try {
        key = readFileSync(c.privateKeyFile, 'utf8');
      } catch (err) {
        throw new SyncError('TARGET_CONFIG', `SF_PRIVATE_KEY_FILE: cannot read ${c.privateKeyFile} (${(err as NodeJS.ErrnoException).code})`);
      }
    }
    form.set('grant_type', 'urn:ietf:params:oauth:grant-type:jwt-bearer');
    form.set('assertion', jwtAssertion({ clientId: c.clientId!, username: c.username!, audience: audienceFor(c.loginUrl, c.jwtAudience), privateKeyPem: key!.replace(/\\n/g, '\n') }));
  } else {
    form.set('grant_type', 'client_credentials');
    form.set('client_id', c.clientId!);
    form.set('client_secret', c.clientSecret!);
  }
  const url = new URL('/services/oauth2/token', c.loginUrl);
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

export async function connect(c: SalesforceAuth): Promise<{ conn: Connection; mode: AuthMode }> {
  // setDefaults replaces them all: keep the proxy jsforce would have taken from the environment
  setRequestDefaults({
    httpProxy: process.env.https_proxy ?? process.env.http_proxy ?? process.env.HTTPS_PROXY ?? process.env.HTTP_PROXY ?? undefined,
    timeout: c.requestTimeoutMs,
    followRedirect: true,
  });
  const mode = authModeOf(c);
  if (mode === 'token') {
    const conn = new Connection({ instanceUrl: c.instanceUrl, accessToken: c.accessToken, version: c.apiVersion });
    return { conn, mode };
  }
  const first = await requestToken(c, mode);
  const conn = new Connection({
    instanceUrl: first.instance_url,
    accessToken: first.access_token,
    loginUrl: c.loginUrl,
    version: c.apiVersion,
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
