// The queue board of the admin console: bull-board (its JSON API and its single-page UI) for
// the session queues, under a base path of the worker's HTTP server (src/sources/http.ts). The
// caller authenticates (HTTP Basic) and checks the origin before `handle` runs; this builds
// the handler only. Only src/queue/ imports bullmq, bull-board and express
// (sdk-bull-board-only-in-queue): the rest of the code sees a QueueBoard.
//
// What the board's UI loads: its HTML (index.ejs of @bull-board/ui, rendered by the express
// adapter) and, relative to `<base href="<basePath>/">`, its scripts, styles, images and
// locales under <basePath>/static/ (served by the adapter from @bull-board/ui's dist/), then
// the JSON API under <basePath>/api/ (axios: GET to read; PUT, PATCH, POST with JSON bodies
// to act). The one thing from elsewhere is a Google Fonts stylesheet the template links: the
// Content-Security-Policy below allows nothing but this origin, so a browser does not even try
// it (the text falls back to the system's sans-serif) and the board needs no internet.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import type { SessionQueue } from './session-queue.ts';

export interface QueueBoard {
  /** answers a request for basePath or below it; req.url as the server got it (the whole path) */
  handle(req: IncomingMessage, res: ServerResponse): void;
}

export interface QueueBoardOptions {
  /** where the board is mounted, e.g. '/admin/queues' (no trailing slash) */
  basePath: string;
  /** hides every action in the UI (retry, clean, remove, pause...) and refuses them (405) */
  readOnly: boolean;
  /** a request the board failed to answer (it answered a bare 500): for the log */
  onError?: (err: Error) => void;
}

/**
 * Same origin only, for everything: scripts, styles, images, fonts, the API calls. Inline
 * styles are allowed (the template's loading screen and the UI's components use them); the
 * UI has no inline script (its config is an `application/json` block) and no eval. No framing
 * of the console by another site.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * An error as bull-board's UI reads one: a translation key (`ERRORS.*` in its locales; the key
 * bull-board itself gives whatever it did not phrase) and, as the detail, the status's name.
 */
function errorBody(status: number): { error: { key: string }; message: string } {
  const key = status === 405 ? 'ERRORS.QUEUE_READ_ONLY' : 'ERRORS.INTERNAL_SERVER_ERROR';
  return { error: { key }, message: STATUS_CODES[status] ?? 'Error' };
}

/** A client's mistake (a malformed JSON body, a bad escape in the path) keeps its 4xx; anything else is ours: 500. */
function statusOf(err: unknown): number {
  const e = err as { status?: unknown; statusCode?: unknown } | null;
  const status = Number(e?.statusCode ?? e?.status);
  return Number.isInteger(status) && status >= 400 && status < 500 ? status : 500;
}

/** The statuses bull-board's API answers with (its HTTPStatus type). */
type ApiStatus = NonNullable<ReturnType<Parameters<ExpressAdapter['setErrorHandler']>[0]>['status']>;
const API_ERROR_STATUSES = [400, 403, 404, 405, 409, 500] as const satisfies readonly ApiStatus[];
const isApiStatus = (status: number): status is ApiStatus => (API_ERROR_STATUSES as readonly number[]).includes(status);

/** bull-board for these queues under opts.basePath; readOnly hides and refuses every action. */
export function createQueueBoard(queues: SessionQueue[], opts: QueueBoardOptions): QueueBoard {
  const basePath = opts.basePath.replace(/\/+$/, '');
  if (!basePath.startsWith('/')) throw new Error(`the queue board's base path must be a path below '/' (e.g. '/admin/queues'), not ${JSON.stringify(opts.basePath)}`);
  const failed = (err: unknown) => {
    try {
      opts.onError?.(err instanceof Error ? err : new Error(String(err)));
    } catch {
      /* the log failing is no reason to fail the answer */
    }
  };

  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q.queue, { readOnlyMode: opts.readOnly })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'ccai-crm-sync queues' } },
  });
  // bull-board's own error answer carries the error's message (a Redis error can name the
  // server), and its stack when NODE_ENV=development: the key and the status text only. Set
  // after createBullBoard, which sets its own; the adapter reads it when an API call fails.
  serverAdapter.setErrorHandler((err) => {
    const found = statusOf(err);
    const status = isApiStatus(found) ? found : found < 500 ? 400 : 500;
    if (status >= 500) failed(err);
    return { status, body: errorBody(status) };
  });
  // getRouter() is the adapter's own express app (typed `any`): its settings, not express's
  // defaults (the 'development' env, whose error pages print stacks, unless NODE_ENV says
  // otherwise; the X-Powered-By header; the template read again at every page).
  const board = serverAdapter.getRouter() as Express;
  board.set('env', 'production');
  board.disable('x-powered-by');
  board.enable('view cache');

  const app = express();
  app.set('env', 'production');
  app.disable('x-powered-by');
  app.use((req: Request, res: Response, next: NextFunction) => {
    res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'same-origin');
    // bull-board refuses each action on a read-only queue itself (405, ERRORS.QUEUE_READ_ONLY),
    // but its "pause all" and "resume all" answer 200 and skip such queues, and a route a later
    // version adds could forget to: read-only here means reading only.
    if (opts.readOnly && req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      res.status(405).json(errorBody(405));
      return;
    }
    next();
  });
  app.use(basePath, board);
  app.use((req: Request, res: Response) => {
    res.status(404).type('text/plain').send(`no route ${req.method} ${req.path}\n`);
  });
  // Errors outside bull-board's API routes (the page, the static files, a bad path): express's
  // own handler would answer an HTML page; a short text and no detail instead.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = statusOf(err);
    if (status >= 500) failed(err);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(status).type('text/plain').send(`${STATUS_CODES[status] ?? 'Error'}\n`);
  });

  return {
    handle(req, res) {
      app(req, res);
    },
  };
}
