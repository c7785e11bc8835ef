// The admin console: the worker's HTTP server hands it every request under /admin. It reads
// through ConsoleDeps (wired in src/app/service.ts from the status store, the queue, the
// target and the sources) and changes one thing only: it replays failed sessions, with the
// rules `replay` has. Every request needs the admin's Basic credentials; one that changes
// something must also come from the console's own pages (auth.ts). ADMIN_READ_ONLY shows
// everything and changes nothing.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseSessionKey } from '../domain/session/parse.ts';
import { matchTicket } from '../domain/ticket/match.ts';
import type { Logger } from '../logger.ts';
import { authorised, formToken, sameOrigin, validFormToken } from './auth.ts';
import type { Credentials } from './auth.ts';
import { escapeHtml, query } from './html.ts';
import { BASE, layout, messagePage, overviewPage, replayedPage, replayPage, sessionPage, sessionsPage, stylesheet } from './pages.ts';
import type { FailedGroup, LayoutOptions, Page, SearchForm, SourceRow, StatusEventView, TargetView } from './pages.ts';
import type { SessionPage, SessionQuery, SessionState } from '../store/status-store.ts';
import { ERROR_CODES, isErrorCode } from '../errors.ts';
import { readBody } from '../sources/http.ts';
import type { MinuteCounts } from './chart.ts';

/** A failed session as replay sees it (the queue's FailedJob). */
export interface FailedView {
  jobId: string;
  sessionKey: string;
  ticketId: string;
  code: string | null;
  reason: string;
  failedAt: string | null;
}

export type FailedFilter = (f: FailedView) => boolean;

export interface ConsoleDeps {
  credentials: Credentials;
  readOnly: boolean;
  queueName: string;
  log: Logger;
  health(): Promise<{ redis: boolean; worker: boolean; startedAt: string }>;
  counts(): Promise<Record<string, number>>;
  activity(): Promise<{ perMinute: MinuteCounts[]; lastHour: Partial<Record<string, number>>; lastDay: Partial<Record<string, number>>; codesLastDay: Record<string, number> }>;
  sources(): Promise<SourceRow[]>;
  target(): TargetView;
  search(q: SessionQuery): Promise<SessionPage>;
  status(sessionKey: string): Promise<{ latest: StatusEventView; history: StatusEventView[] } | null>;
  /** a job and the file it holds */
  job(jobId: string): Promise<{ id: string; state: string; attemptsMade: number; failedReason: string | null; failure: { code: string; message: string } | null; document: string; files: string[] } | null>;
  /** the note this worker renders from a file, and the ticket it goes to */
  note(document: string, files: string[]): { subject: string; text: string; html: string; ticketUrl: string | null; ticketSystem: string | null } | { error: string } | { skip: string };
  replayable(filter: FailedFilter): Promise<{ jobs: FailedView[]; expired: number }>;
  /** the newest failed sessions, at most `limit`, for the overview (complete: there are no more) */
  failedSample(limit: number): Promise<{ jobs: FailedView[]; expired: number; complete: boolean }>;
  replay(filter: FailedFilter): Promise<{ jobs: FailedView[]; expired: number }>;
  /** bull-board, when mounted (under /admin/queues) */
  board: { handle(req: IncomingMessage, res: ServerResponse): void } | null;
}

export interface AdminConsole {
  /** answers a request under /admin (the caller routes only those here) */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
}

const PAGE_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
// the HTML note in its frame: its own inline styles, nothing else; a sandbox (no script, its own origin)
const NOTE_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'";
const SEARCH_PAGE = 50;
/** failed jobs the overview reads (each whole: its data is the metadata file) to group them by code */
const OVERVIEW_FAILED = 2_000;
const MAX_FORM_BYTES = 16 * 1024;

const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

export function createConsole(deps: ConsoleDeps): AdminConsole {
  const c = deps.credentials;
  const token = formToken(c);
  let failedSignIns = 0;
  let lastSignInWarning = 0;
  const layoutOptions: LayoutOptions = { user: c.user, readOnly: deps.readOnly, queueName: deps.queueName, board: deps.board !== null };

  function sendPage(res: ServerResponse, status: number, page: Page): void {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': PAGE_CSP, 'x-frame-options': 'DENY', ...COMMON_HEADERS });
    res.end(layout(page, layoutOptions));
  }

  function refuse(res: ServerResponse, status: number, title: string, text: string): void {
    sendPage(res, status, messagePage(title, text));
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!authorised(req, c)) {
      // credentials that were given and wrong (a browser's first request carries none): said in
      // the log at most once a minute, with how many and from where, never what was tried
      if (req.headers.authorization) {
        failedSignIns++;
        if (Date.now() - lastSignInWarning >= 60_000) {
          deps.log.warn({ failed: failedSignIns, from: req.socket.remoteAddress ?? null }, 'admin console: wrong user or password');
          lastSignInWarning = Date.now();
          failedSignIns = 0;
        }
      }
      res.writeHead(401, { 'www-authenticate': 'Basic realm="ccai-crm-sync admin", charset="UTF-8"', 'content-type': 'text/plain; charset=utf-8', ...COMMON_HEADERS });
      res.end('the admin console needs ADMIN_USER and ADMIN_PASSWORD\n');
      return;
    }
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const reading = req.method === 'GET' || req.method === 'HEAD';
    // a change must come from our own pages (a page elsewhere cannot set Origin to ours)
    if (!reading && !sameOrigin(req)) {
      deps.log.warn({ method: req.method, path }, 'admin console: a change refused, not from the console (Origin/Referer)');
      return refuse(res, 403, 'Refused', 'This change did not come from the console\'s own pages (its Origin header names another site, or none).');
    }
    if (path === `${BASE}/queues` || path.startsWith(`${BASE}/queues/`)) {
      if (!deps.board) return refuse(res, 404, 'Not found', 'Queue internals are not available on this worker.');
      deps.board.handle(req, res);
      return;
    }
    if (path === `${BASE}/console.css` && reading) {
      res.writeHead(200, { 'content-type': 'text/css; charset=utf-8', ...COMMON_HEADERS, 'cache-control': 'max-age=300' });
      res.end(stylesheet());
      return;
    }
    if (path === BASE && reading) return sendPage(res, 200, overviewPage(await overview(), { readOnly: deps.readOnly }));
    if (path === `${BASE}/sessions` && reading) return sessions(res, url);
    if (path.startsWith(`${BASE}/sessions/`) && reading) {
      const rest = path.slice(`${BASE}/sessions/`.length).split('/');
      const parsed = parseSessionKey(safeDecode(rest[0] ?? ''));
      if (!parsed) return refuse(res, 404, 'Not found', 'A session is named call-<id> or chat-<id>, e.g. call-1418.');
      const key = `${parsed.kind}-${parsed.id}`;
      if (rest.length === 1) return session(res, key);
      if (rest.length === 2 && rest[1] === 'note.html') return noteHtml(res, key, url.searchParams.get('job'));
      return refuse(res, 404, 'Not found', `No page ${path}.`);
    }
    if (path === `${BASE}/replay/done` && reading) {
      const scope = scopeOf((k) => url.searchParams.get(k));
      const n = Number(url.searchParams.get('n') ?? 0);
      return sendPage(res, 200, replayedPage(Number.isSafeInteger(n) && n >= 0 ? n : 0, scope));
    }
    if (path === `${BASE}/replay`) {
      if (reading) return replayForm(res, url);
      if (req.method === 'POST') return replayNow(req, res);
      res.writeHead(405, { allow: 'GET, POST', ...COMMON_HEADERS });
      res.end();
      return;
    }
    return refuse(res, 404, 'Not found', `No page ${path}.`);
  }

  async function overview() {
    const [health, counts, activity, sources, failed] = await Promise.all([deps.health(), deps.counts(), deps.activity(), deps.sources(), deps.failedSample(OVERVIEW_FAILED)]);
    const sampled = failed.complete ? null : `Grouped from the newest ${OVERVIEW_FAILED.toLocaleString('en-US')} of ${(counts.failed ?? 0).toLocaleString('en-US')} failed jobs; the replay page counts them all.`;
    return { ...activity, ...health, queueName: deps.queueName, counts, sources, target: deps.target(), failed: groupFailed(failed.jobs, codeSummary), failedNote: sampled };
  }

  async function sessions(res: ServerResponse, url: URL): Promise<void> {
    const p = url.searchParams;
    const form: SearchForm = { q: (p.get('q') ?? '').trim(), state: p.get('state') ?? '', code: (p.get('code') ?? '').trim().toUpperCase(), from: p.get('from') ?? '', to: p.get('to') ?? '' };
    const notes: string[] = [];
    const asKey = parseSessionKey(form.q);
    if (asKey) {
      // a session key goes straight to its page, when it is known
      const key = `${asKey.kind}-${asKey.id}`;
      if (await deps.status(key)) {
        res.writeHead(303, { location: `${BASE}/sessions/${key}`, ...COMMON_HEADERS });
        res.end();
        return;
      }
      notes.push(`No session ${key} is known to this queue (no file for it was submitted, or its record expired).`);
    }
    const from = form.from ? utcMs(form.from) : undefined;
    const to = form.to ? utcMs(form.to, true) : undefined;
    if (Number.isNaN(from) || Number.isNaN(to)) notes.push('A time could not be read: use the date pickers (YYYY-MM-DDTHH:MM, UTC).');
    if (form.state && !isSessionState(form.state)) {
      notes.push(`"${form.state}" is not a status; any status is shown.`);
      form.state = '';
    }
    const result = asKey
      ? { items: [], next: null, truncated: false, scanned: 0 }
      : await searchOrExplain({
          ...(form.q ? { ticket: ticketIdOf(form.q) } : {}),
          ...(isSessionState(form.state) ? { state: form.state } : {}),
          ...(form.code ? { code: form.code } : {}),
          ...(from !== undefined && !Number.isNaN(from) ? { from } : {}),
          ...(to !== undefined && !Number.isNaN(to) ? { to } : {}),
          limit: SEARCH_PAGE,
          ...(p.get('cursor') ? { cursor: p.get('cursor')! } : {}),
        }, notes);
    if (form.q && !asKey && result.items.length === 0) notes.push(`"${form.q}" is neither a session key (call-<id>, chat-<id>) nor a ticket one of the sessions went to.`);
    const codes = Object.keys(ERROR_CODES);
    sendPage(res, 200, sessionsPage(form, { ...result, note: notes.join(' ') || null }, codes));
  }

  /** A search; a page address that was edited or is stale (a cursor the store cannot read) starts over, and says so. */
  async function searchOrExplain(q: SessionQuery, notes: string[]) {
    try {
      return await deps.search(q);
    } catch (err) {
      if (!(err instanceof RangeError) || q.cursor === undefined) throw err;
      notes.push('That page of results could not be continued (its address was changed or is out of date): the newest are shown.');
      const { cursor: _stale, ...fresh } = q;
      return deps.search(fresh);
    }
  }

  async function session(res: ServerResponse, key: string): Promise<void> {
    const st = await deps.status(key);
    if (!st) return refuse(res, 404, key, `No session ${key} is known to this queue (no file for it was submitted, or its record expired).`);
    const jobId = st.latest.jobId ?? st.history.find((e) => e.jobId)?.jobId ?? null;
    const job = jobId ? await deps.job(jobId) : null;
    let note: Parameters<typeof sessionPage>[0]['note'] = null;
    if (job) {
      const n = deps.note(job.document, job.files);
      if ('error' in n) note = { error: n.error };
      else if ('skip' in n) note = { error: `nothing is written for this version: ${n.skip}` };
      else note = { subject: n.subject, text: n.text, htmlHref: `${BASE}/sessions/${key}/note.html?job=${encodeURIComponent(job.id)}`, ticketUrl: n.ticketUrl, ticketSystem: n.ticketSystem };
    }
    const view = job ? { id: job.id, state: job.state, attemptsMade: job.attemptsMade, failedReason: job.failedReason, failure: job.failure } : null;
    sendPage(res, 200, sessionPage({ key, latest: st.latest, history: st.history, job: view, note, replayable: job?.state === 'failed' }, { readOnly: deps.readOnly, token }));
  }

  async function noteHtml(res: ServerResponse, key: string, jobId: string | null): Promise<void> {
    // only a job of this session: the address cannot be used to render another's file
    const job = jobId && jobId.startsWith(`${key}-`) ? await deps.job(jobId) : null;
    const n = job ? deps.note(job.document, job.files) : null;
    if (!n || !('html' in n)) return refuse(res, 404, 'Not found', 'No HTML note for this session version.');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': NOTE_CSP, ...COMMON_HEADERS });
    res.end(`<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(n.subject)}</title></head><body>${n.html}</body></html>\n`);
  }

  function scopeOf(get: (k: string) => string | null): { code: string | null; session: string | null; filter: FailedFilter } {
    const code = (get('code') ?? '').trim() || null;
    const parsed = parseSessionKey(get('session') ?? '');
    const session = parsed ? `${parsed.kind}-${parsed.id}` : null;
    return {
      code,
      session,
      filter: (f) => (session === null || f.sessionKey === session) && (code === null || (f.code ?? 'NONE') === code),
    };
  }

  async function replayForm(res: ServerResponse, url: URL, status = 200, notice: string | null = null): Promise<void> {
    const scope = scopeOf((k) => url.searchParams.get(k));
    const all = await deps.replayable(() => true);
    const jobs = all.jobs.filter(scope.filter);
    const codes = groupFailed(all.jobs, codeSummary).map((g) => ({ code: g.code, count: g.count }));
    sendPage(res, status, replayPage(scope, jobs, codes, { readOnly: deps.readOnly, token, expired: all.expired, notice }));
  }

  async function replayNow(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const bytes = await readBody(req, MAX_FORM_BYTES);
    if (!bytes) return refuse(res, 413, 'Refused', 'The form is too large.');
    const body = new URLSearchParams(bytes.toString('utf8'));
    if (!validFormToken(body.get('token'), c)) return refuse(res, 403, 'Refused', 'The form is not one of the console\'s (its token is missing or wrong): open the page again and retry.');
    if (deps.readOnly) return refuse(res, 403, 'Read-only', 'This console is read-only (ADMIN_READ_ONLY=true): nothing can be replayed from it.');
    const scope = scopeOf((k) => body.get(k));
    const params = { ...(scope.code ? { code: scope.code } : {}), ...(scope.session ? { session: scope.session } : {}) };
    // what was confirmed is a number: when more (or fewer) have failed since, ask again
    const expected = body.get('expected');
    if (expected !== null) {
      const now = (await deps.replayable(scope.filter)).jobs.length;
      if (String(now) !== expected.trim()) {
        const again = new URL(`${BASE}/replay${query(params)}`, 'http://console');
        return replayForm(res, again, 409, `The count changed since you looked: ${now} now, not ${expected.trim()}. Nothing was replayed; confirm again.`);
      }
    }
    const done = await deps.replay(scope.filter);
    deps.log.info({ user: c.user, code: scope.code, session: scope.session, replayed: done.jobs.length }, 'admin console: failed sessions replayed');
    // answered with a page of its own: reloading it does not post the replay again
    res.writeHead(303, { location: `${BASE}/replay/done${query({ ...params, n: done.jobs.length })}`, ...COMMON_HEADERS });
    res.end();
  }

  return { handle };
}

/** Failed sessions by code, the largest group first; each with its latest reason. */
export function groupFailed(jobs: readonly FailedView[], summary: (code: string) => string | null): FailedGroup[] {
  const groups = new Map<string, FailedGroup>();
  for (const j of jobs) {
    const code = j.code ?? 'NONE';
    const g = groups.get(code) ?? { code, count: 0, summary: j.code ? summary(j.code) : 'an e-mail that came back, its reason no longer known', example: j.reason, lastAt: j.failedAt };
    g.count++;
    if (j.failedAt && (!g.lastAt || j.failedAt > g.lastAt)) {
      g.lastAt = j.failedAt;
      g.example = j.reason;
    }
    groups.set(code, g);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
}

/** A ticket id as sessions record it (a 15-character Salesforce id as its 18-character form). */
function ticketIdOf(q: string): string {
  const m = matchTicket({ id: q, url: null, isAccount: false }, { allowedHosts: [] });
  return m.outcome === 'matched' ? m.ticket.id : q;
}

const SESSION_STATES: readonly string[] = ['queued', 'active', 'retrying', 'delivered', 'skipped', 'rejected', 'failed'] satisfies SessionState[];
const isSessionState = (s: string): s is SessionState => SESSION_STATES.includes(s);

/** An error code's summary from the registry (src/errors.ts). */
const codeSummary = (code: string): string | null => (isErrorCode(code) ? ERROR_CODES[code].summary : null);

/** A datetime-local value (`2026-12-07T07:30`) read as UTC; `end` takes the whole last minute. */
function utcMs(s: string, end = false): number {
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/.test(s)) return NaN;
  const t = Date.parse(s.includes('T') ? `${s}Z` : `${s}T00:00Z`);
  if (Number.isNaN(t)) return NaN;
  if (!end) return t;
  return t + (s.includes('T') ? (s.length > 16 ? 999 : 59_999) : 86_399_999);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return '';
  }
}
