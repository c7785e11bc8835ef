// The HTTP endpoint: POST /sessions takes one metadata document (bearer token, size-limited)
// and answers with the session id and its job's state; GET /sessions/<kind-id> tells where a
// session is; /healthz and /metrics are for the platform; /admin is the admin console's, when on.
import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseSessionKey } from '../domain/session/parse.ts';
import type { Logger } from '../logger.ts';
import type { SubmitResult } from '../pipeline/submit.ts';
import type { StatusEvent } from '../store/status-store.ts';
import { keepRejectedCopy, reasonFor } from './rejected.ts';

export interface HttpTimeouts {
  /** the whole request, body included (HTTP_REQUEST_TIMEOUT_MS) */
  requestMs: number;
  /** the request line and headers (HTTP_HEADERS_TIMEOUT_MS) */
  headersMs: number;
  /** an idle kept-alive connection (HTTP_KEEP_ALIVE_TIMEOUT_MS) */
  keepAliveMs: number;
}

/** The defaults of the HTTP_*_TIMEOUT_MS settings (src/config.ts), and of callers that give none. */
export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = { requestMs: 30_000, headersMs: 10_000, keepAliveMs: 5_000 };

export interface HttpDeps {
  token: string | undefined;
  maxBytes: number;
  timeouts?: HttpTimeouts;
  rejectedDir: string;
  submit(bytes: Uint8Array, source: string): Promise<SubmitResult>;
  status(sessionKey: string): Promise<{ latest: StatusEvent; history: StatusEvent[] } | null>;
  health(): Promise<{ ok: boolean; [k: string]: unknown }>;
  metrics(): Promise<{ contentType: string; body: string }>;
  onDocument?: (outcome: string) => void;
  /** the admin console, when on: answers every request under /admin (its own auth) */
  admin?: ((req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>) | null;
  log: Logger;
}

export interface HttpSource {
  server: Server;
  port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', ...headers });
  res.end(text);
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Reads a body up to max bytes; null when it is larger (the rest is not buffered). */
export async function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > max) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function serverOptions(t: HttpTimeouts): ServerOptions {
  return {
    requestTimeout: t.requestMs,
    headersTimeout: t.headersMs,
    // an idle connection is closed about 1 s after this: Node adds keepAliveTimeoutBuffer
    // (1000 ms; a fixed second before Node 24.6), left as it is so that a client reusing the
    // connection just before the announced `Keep-Alive: timeout=` does not meet a closed one
    keepAliveTimeout: t.keepAliveMs,
    // Node enforces the first two in a sweep over the connections, every 30 s by default: a
    // 10 s limit could then let a slow client hold its connection for 40 s
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(t.headersMs / 4))),
  };
}

export async function startHttp(deps: HttpDeps, port: number, host: string): Promise<HttpSource> {
  const log = deps.log;
  const server = createServer(serverOptions(deps.timeouts ?? DEFAULT_HTTP_TIMEOUTS), async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      if (req.method === 'GET' && url.pathname === '/healthz') {
        const h = await deps.health();
        return send(res, h.ok ? 200 : 503, h);
      }
      if (req.method === 'GET' && url.pathname === '/metrics') {
        const m = await deps.metrics();
        res.writeHead(200, { 'content-type': m.contentType });
        return res.end(m.body);
      }
      if (url.pathname === '/admin' || url.pathname.startsWith('/admin/')) {
        if (!deps.admin) return send(res, 404, 'the admin console is off: set ADMIN_PASSWORD (or ADMIN_PASSWORD_FILE) to turn it on\n');
        return await deps.admin(req, res, url);
      }
      if (url.pathname === '/sessions' || url.pathname.startsWith('/sessions/')) {
        if (!deps.token) return send(res, 503, { error: { code: 'DISABLED', message: 'the ingest endpoint is disabled: set HTTP_TOKEN (or HTTP_TOKEN_FILE) to enable it' } });
        const auth = req.headers.authorization ?? '';
        const m = /^Bearer\s+(.+)$/i.exec(auth);
        if (!m || !sameSecret(m[1]!.trim(), deps.token)) {
          return send(res, 401, { error: { code: 'UNAUTHORIZED', message: 'a valid bearer token is required' } }, { 'www-authenticate': 'Bearer' });
        }
        if (req.method === 'POST' && url.pathname === '/sessions') return await postSession(req, res);
        if (req.method === 'GET' && url.pathname.startsWith('/sessions/')) {
          let key = '';
          try {
            key = decodeURIComponent(url.pathname.slice('/sessions/'.length));
          } catch {
            /* malformed escape: answered below */
          }
          const parsed = parseSessionKey(key);
          if (!parsed) return send(res, 400, { error: { code: 'BAD_SESSION_KEY', message: 'use /sessions/call-<id> or /sessions/chat-<id>' } });
          key = `${parsed.kind}-${parsed.id}`;
          const st = await deps.status(key);
          return st ? send(res, 200, { session: key, ...st }) : send(res, 404, { error: { code: 'NOT_FOUND', message: `no session ${key}` } });
        }
        return send(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: `${req.method} is not supported on ${url.pathname}` } });
      }
      return send(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${url.pathname}` } });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' && req.destroyed) {
        // not our failure: the client hung up, or was cut off (408) for sending too slowly
        log.warn({ path: url.pathname }, 'http request cut short: the client went away or was slower than HTTP_REQUEST_TIMEOUT_MS');
        return;
      }
      log.error({ err: (err as Error).message, path: url.pathname }, 'http request failed');
      if (!res.headersSent) send(res, 503, { error: { code: 'UNAVAILABLE', message: 'the request could not be processed; retry later' } });
      else res.destroy();
    }
  });

  async function postSession(req: IncomingMessage, res: ServerResponse) {
    const source = `http:${req.socket.remoteAddress ?? 'unknown'}`;
    const body = await readBody(req, deps.maxBytes);
    if (body === null) {
      deps.onDocument?.('rejected');
      res.setHeader('connection', 'close');
      return send(res, 413, { error: { code: 'INPUT_TOO_LARGE', message: `the document is over the ${deps.maxBytes}-byte limit (MAX_FILE_BYTES)` } });
    }
    const r = await deps.submit(body, source);
    deps.onDocument?.(r.status);
    if (r.status === 'rejected' || r.status === 'ignored') {
      let keptAt: string | null = null;
      // named after the sender (http_<ip>), which has no extension: .json says what it holds
      if (r.intake.status === 'rejected') keptAt = await keepRejectedCopy(deps.rejectedDir, reasonFor(source, r.intake.problem, r.session), body, '.json');
      return send(res, 422, {
        session: r.session,
        status: r.status,
        error: { code: r.code ?? 'INPUT_NOT_SESSION', field: r.field, message: r.reason },
        // the sender authenticated with the token: where to find the original (and its
        // .reason.json) on the worker's machine is for them too
        keptAt,
        warnings: r.warnings,
      });
    }
    return send(res, r.status === 'queued' ? 202 : 200, {
      session: r.session,
      version: r.version,
      ticket: r.ticket,
      status: r.status,
      reason: r.reason,
      job: r.jobId ? { id: r.jobId, state: r.jobState } : null,
      warnings: r.warnings,
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  log.info({ host, port: actual }, 'http endpoint listening');
  return {
    server,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
