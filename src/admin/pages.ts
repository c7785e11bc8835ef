// The console's pages: plain functions from what the console read to escaped HTML (html.ts).
// Server-rendered and complete without JavaScript; the only script-free interactivity is links
// and forms. Every value that came from a metadata file (session keys aside, which are
// checked, everything: ticket ids, reasons in a CRM's words, agent notes in the note) goes
// through `html`, so it is text.
import { SERIES, minuteChart } from './chart.ts';
import type { MinuteCounts } from './chart.ts';
import { html, link, query, trusted } from './html.ts';
import type { Html } from './html.ts';
import type { SessionSummary } from '../store/status-store.ts';

export const BASE = '/admin';

/** One row of the sources table: the inbox, a mailbox folder, a bucket or SFTP folder. */
export interface SourceRow {
  kind: string;
  name: string;
  ok: boolean;
  state: string;
  lastOkAt: string | null;
  lastError: string | null;
  detail: string;
}

export interface TargetView {
  name: string | null;
  apiUsage?: { used: number; limit: number } | null;
  pause?: { until: string; why: string } | null;
  refusals?: { count: number; lastAt: string | null; last: string | null };
}

export interface FailedGroup {
  code: string;
  count: number;
  summary: string | null;
  /** the latest failure's reason, and when */
  example: string;
  lastAt: string | null;
}

export interface OverviewData {
  queueName: string;
  counts: Record<string, number>;
  lastHour: Partial<Record<string, number>>;
  lastDay: Partial<Record<string, number>>;
  codesLastDay: Record<string, number>;
  perMinute: MinuteCounts[];
  sources: SourceRow[];
  target: TargetView;
  failed: FailedGroup[];
  /** said when the groups were made from part of the failed jobs */
  failedNote: string | null;
  redis: boolean;
  worker: boolean;
  startedAt: string;
}

export interface Page {
  title: string;
  /** the nav entry to mark */
  section: 'overview' | 'sessions' | 'replay' | null;
  body: Html;
}

export interface LayoutOptions {
  user: string;
  readOnly: boolean;
  queueName: string;
  /** bull-board is mounted */
  board: boolean;
}

const STATES = ['queued', 'retrying', 'delivered', 'skipped', 'rejected', 'failed'] as const;

/** `2026-03-23 20:16:58 UTC` from an ISO time; what it was given when it is not one. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((now - t) / 1000);
  if (s < 0) return `in ${fmtSpan(-s)}`;
  return `${fmtSpan(s)} ago`;
}

function fmtSpan(s: number): string {
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}

const sessionHref = (key: string) => `${BASE}/sessions/${encodeURIComponent(key)}`;

export function stateBadge(state: string): Html {
  return html`<span class="state s-${/^[a-z]+$/.test(state) ? state : 'other'}">${state}</span>`;
}

function ok(good: boolean, yes = 'ok', no = 'NOT OK'): Html {
  return html`<span class="${good ? 'good' : 'bad'}">${good ? yes : no}</span>`;
}

export function layout(page: Page, o: LayoutOptions, flash: Html | null = null): string {
  const nav = (section: Page['section'], href: string, label: string) =>
    html`<a href="${href}"${page.section === section ? trusted(' aria-current="page"') : ''}>${label}</a>`;
  return `<!doctype html>
${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${page.title} · ccai-crm-sync</title>
<link rel="stylesheet" href="${BASE}/console.css">
</head>
<body>
<header>
<strong class="brand">ccai-crm-sync</strong>
<nav>${nav('overview', BASE, 'Overview')} ${nav('sessions', `${BASE}/sessions`, 'Sessions')} ${nav('replay', `${BASE}/replay`, 'Failed')}${o.board ? html` <a href="${BASE}/queues">Queue internals</a>` : ''}</nav>
<span class="who">queue ${o.queueName} · signed in as ${o.user}${o.readOnly ? html` · <span class="badge">read-only</span>` : ''}</span>
</header>
<main>
${flash ?? ''}
<h1>${page.title}</h1>
${page.body}
</main>
</body>
</html>`.value}
`;
}

function countsRow(label: string, counts: Partial<Record<string, number>>): Html {
  return html`<tr><th scope="row">${label}</th>${STATES.map((s) => html`<td class="num">${counts[s] ?? 0}</td>`)}</tr>`;
}

export function overviewPage(d: OverviewData, o: { readOnly: boolean }): Page {
  const t = d.target;
  const usage = t.apiUsage
    ? html`${t.apiUsage.used.toLocaleString('en-US')} of ${t.apiUsage.limit.toLocaleString('en-US')} API requests in the last 24 h (${Math.round((t.apiUsage.used / t.apiUsage.limit) * 100)} %)`
    : html`not reported yet (Salesforce says it with each API answer)`;
  const targetRows: Html[] = [html`<tr><th scope="row">CRM</th><td>${t.name ?? 'none (this process runs no worker)'}</td></tr>`];
  if (t.name === 'salesforce') targetRows.push(html`<tr><th scope="row">API usage</th><td>${usage}</td></tr>`);
  if (t.apiUsage !== undefined || t.pause !== undefined) {
    targetRows.push(
      html`<tr><th scope="row">Writes</th><td>${t.pause ? html`<span class="bad">paused</span> until ${when(t.pause.until)} (${ago(t.pause.until)}): ${t.pause.why}` : html`<span class="good">running</span>`}</td></tr>`,
    );
  }
  if (t.refusals) {
    targetRows.push(
      html`<tr><th scope="row">SMTP refusals</th><td>${t.refusals.count === 0 ? 'none since this worker started' : html`${t.refusals.count} since this worker started; the last ${when(t.refusals.lastAt)}: ${t.refusals.last}`}</td></tr>`,
    );
  }
  const failedTotal = d.failed.reduce((n, g) => n + g.count, 0);
  const codes = Object.entries(d.codesLastDay).sort((a, b) => b[1] - a[1]);
  const body = html`
<p class="lede">${ok(d.redis && d.worker, 'Running', 'Needs attention')}: Redis ${d.redis ? 'answers' : 'does not answer'}, the worker ${d.worker ? 'runs' : 'does not run'} (started ${when(d.startedAt)}).</p>
<section id="sessions">
<h2>Sessions</h2>
<table class="counts"><thead><tr><th></th>${STATES.map((s) => html`<th scope="col">${stateBadge(s)}</th>`)}</tr></thead>
<tbody>${countsRow('last hour', d.lastHour)}${countsRow('last 24 hours', d.lastDay)}</tbody></table>
<p class="hint">How many sessions reached each state (a session that was retried counts once per attempt under retrying).</p>
<h3>Per minute, last hour (UTC)</h3>
${minuteChart(d.perMinute)}
</section>
<section id="failed">
<h2>Failed now</h2>
${
  d.failed.length === 0
    ? html`<p>No failed session is waiting for a replay.</p>`
    : html`<table class="failed"><thead><tr><th scope="col">Error code</th><th scope="col" class="num">Sessions</th><th scope="col">The latest, in the target's words</th><th scope="col"></th></tr></thead><tbody>
${d.failed.map(
  (g) => html`<tr><td><a href="${`${BASE}/sessions${query({ state: 'failed', code: g.code })}`}"><code>${g.code}</code></a>${g.summary ? html`<br><span class="hint">${g.summary}</span>` : ''}</td><td class="num">${g.count}</td><td>${g.example}<br><span class="hint">${when(g.lastAt)}</span></td>
<td>${o.readOnly ? '' : html`<a class="button" href="${`${BASE}/replay${query({ code: g.code })}`}">Replay ${g.count}…</a>`}</td></tr>`,
)}
</tbody></table>
${d.failedNote ? html`<p class="notice">${d.failedNote}</p>` : ''}
<p class="hint">${d.failedNote ? '' : html`${failedTotal} failed in all. `}${o.readOnly ? '' : html`<a href="${`${BASE}/replay`}">Replay every failed session…</a>`}</p>`
}
<h3>Errors in the last 24 hours, by code</h3>
${codes.length === 0 ? html`<p>None.</p>` : html`<table class="codes"><tbody>${codes.map(([code, n]) => html`<tr><td><code>${code}</code></td><td class="num">${n}</td></tr>`)}</tbody></table><p class="hint">Every failed attempt counts, retried or not.</p>`}
</section>
<div class="pair">
<section id="queue">
<h2>Queue</h2>
<table><tbody>${Object.entries(d.counts).map(([k, v]) => html`<tr><th scope="row">${k}</th><td class="num">${v}</td></tr>`)}</tbody></table>
</section>
<section id="target">
<h2>Target</h2>
<table><tbody>${targetRows}</tbody></table>
</section>
</div>
<section id="sources">
<h2>Sources</h2>
${
  d.sources.length === 0
    ? html`<p>None but the HTTP endpoint and the <code>run</code> command (no INBOX_DIR, IMAP_URL, GCS_BUCKET or SFTP_URL).</p>`
    : html`<table><thead><tr><th scope="col">Source</th><th scope="col">Health</th><th scope="col">State</th><th scope="col">Last read</th><th scope="col">Details</th></tr></thead><tbody>
${d.sources.map(
  (s) => html`<tr><td>${s.kind} <code>${s.name}</code></td><td>${ok(s.ok, 'ok', 'NOT ANSWERING')}</td><td>${s.state}</td><td>${s.lastOkAt ? html`${ago(s.lastOkAt)}<br><span class="hint">${when(s.lastOkAt)}</span>` : 'never'}</td><td>${s.detail}${s.lastError ? html`<br><span class="bad">last error:</span> ${s.lastError}` : ''}</td></tr>`,
)}</tbody></table>`
}
</section>`;
  return { title: 'Overview', section: 'overview', body };
}

export interface SearchForm {
  q: string;
  state: string;
  code: string;
  from: string;
  to: string;
}

export function sessionsPage(
  form: SearchForm,
  result: { items: SessionSummary[]; next: string | null; truncated: boolean; scanned: number; note: string | null },
  codes: readonly string[],
): Page {
  const option = (value: string, label: string, selected: string) => html`<option value="${value}"${value === selected ? trusted(' selected') : ''}>${label}</option>`;
  const nextHref = result.next ? `${BASE}/sessions${query({ ...form, cursor: result.next })}` : null;
  const body = html`
<form class="search" method="get" action="${BASE}/sessions">
<label>Session or ticket <input name="q" value="${form.q}" placeholder="call-1418 or 500ak000024vx4uAAA"></label>
<label>Status <select name="state">${option('', 'any', form.state)}${STATES.map((s) => option(s, s, form.state))}</select></label>
<label>Error code <input name="code" value="${form.code}" list="codes" placeholder="TARGET_REJECTED"></label>
<datalist id="codes">${codes.map((c) => html`<option value="${c}">`)}</datalist>
<label>From <input type="datetime-local" name="from" value="${form.from}"></label>
<label>To <input type="datetime-local" name="to" value="${form.to}"></label>
<button type="submit">Search</button>
</form>
<p class="hint">Times in UTC. A session is found by its latest event: its state, its code and when it happened.</p>
${result.note ? html`<p class="notice">${result.note}</p>` : ''}
${
  result.items.length === 0
    ? html`<p>No session matches.</p>`
    : html`<table class="sessions"><thead><tr><th scope="col">Session</th><th scope="col">Status</th><th scope="col">Ticket</th><th scope="col">Why</th><th scope="col">When</th></tr></thead><tbody>
${result.items.map(
  (r) => html`<tr><td><a href="${sessionHref(r.session)}">${r.session}</a></td><td>${stateBadge(r.state)}</td><td>${r.ticket ?? ''}</td><td>${r.code ? html`<code>${r.code}</code> ` : ''}${cut(r.reason, 160)}</td><td>${when(r.at)}</td></tr>`,
)}</tbody></table>`
}
${nextHref ? html`<p><a href="${nextHref}">Older sessions →</a>${result.truncated ? html` <span class="hint">(the search looked at ${result.scanned} sessions and stopped; older ones may match)</span>` : ''}</p>` : ''}`;
  return { title: 'Sessions', section: 'sessions', body };
}

function cut(s: string | null, n: number): string {
  if (!s) return '';
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export interface StatusEventView {
  state: string;
  version: string | null;
  ticket: string | null;
  reason: string | null;
  code: string | null;
  source: string | null;
  jobId: string | null;
  warnings?: Array<{ field: string; message: string }>;
  at: string;
}

export interface JobView {
  id: string;
  state: string;
  attemptsMade: number;
  failedReason: string | null;
  failure: { code: string; message: string } | null;
}

export interface NoteView {
  subject: string;
  text: string;
  /** the HTML note is shown from this address, in a sandboxed frame */
  htmlHref: string | null;
  ticketUrl: string | null;
  ticketSystem: string | null;
}

export interface SessionPageData {
  key: string;
  latest: StatusEventView;
  history: StatusEventView[];
  job: JobView | null;
  note: NoteView | { error: string } | null;
  replayable: boolean;
}

export function sessionPage(d: SessionPageData, o: { readOnly: boolean; token: string }): Page {
  const l = d.latest;
  // versions newest first, each with its events oldest first: the story of each attempt
  const versions = new Map<string, StatusEventView[]>();
  for (const e of d.history) {
    const v = e.version ?? '(unknown version)';
    if (!versions.has(v)) versions.set(v, []);
    versions.get(v)!.unshift(e);
  }
  const warnings = l.warnings ?? [];
  const note = d.note;
  const ticketLine =
    note && 'ticketUrl' in note && note.ticketUrl
      ? html`${link(note.ticketUrl, l.ticket ?? note.ticketUrl)}${note.ticketSystem ? html` <span class="hint">(${note.ticketSystem})</span>` : ''}`
      : html`${l.ticket ?? 'none'}`;
  const body = html`
<table class="facts"><tbody>
<tr><th scope="row">Status</th><td>${stateBadge(l.state)} ${when(l.at)}</td></tr>
${l.reason ? html`<tr><th scope="row">${l.state === 'delivered' ? 'Result' : 'Why'}</th><td>${l.code ? html`<code>${l.code}</code>: ` : ''}<span class="reason">${l.reason}</span></td></tr>` : ''}
<tr><th scope="row">Ticket</th><td>${ticketLine}</td></tr>
<tr><th scope="row">Version</th><td>${l.version ?? ''}</td></tr>
<tr><th scope="row">From</th><td>${l.source ?? ''}</td></tr>
${d.job ? html`<tr><th scope="row">Job</th><td><code>${d.job.id}</code>: ${d.job.state}, ${d.job.attemptsMade} attempt(s)${d.job.failedReason ? html`; last error ${d.job.failedReason}` : ''}</td></tr>` : ''}
</tbody></table>
${
  d.replayable && !o.readOnly
    ? html`<form method="post" action="${BASE}/replay" class="inline"><input type="hidden" name="token" value="${o.token}"><input type="hidden" name="session" value="${d.key}"><button type="submit">Replay this session</button></form>`
    : ''
}
${warnings.length ? html`<h2>Warnings</h2><p class="hint">What was corrected or dropped when this version was read.</p><ul class="warnings">${warnings.map((w) => html`<li><code>${w.field}</code>: ${w.message}</li>`)}</ul>` : ''}
<h2>Versions and attempts</h2>
${[...versions.entries()].map(
  ([v, events]) => html`<h3>Version ${v}</h3><table class="events"><thead><tr><th scope="col">When</th><th scope="col">Status</th><th scope="col">What happened</th></tr></thead><tbody>
${events.map((e) => html`<tr><td>${when(e.at)}</td><td>${stateBadge(e.state)}</td><td>${e.code ? html`<code>${e.code}</code>: ` : ''}${e.reason ?? ''}${e.ticket ? html` <span class="hint">ticket ${e.ticket}</span>` : ''}${e.source ? html` <span class="hint">from ${e.source}</span>` : ''}</td></tr>`)}
</tbody></table>`,
)}
<h2>The note</h2>
${
  note === null
    ? html`<p>Not available: the job that holds this version's file is gone from the queue (finished jobs are kept KEEP_COMPLETED_DAYS), or there never was one (a rejected or skipped file).</p>`
    : 'error' in note
      ? html`<p class="bad">The note cannot be rendered from this version's file: ${note.error}</p>`
      : html`<p class="hint">Rendered from this version's file with the templates this worker runs now: what was written, unless the templates changed since.</p>
<p><strong>Subject:</strong> ${note.subject}</p>
<pre class="note">${note.text}</pre>
${note.htmlHref ? html`<details><summary>As HTML (as an e-mail or a rich-text field shows it)</summary><iframe class="note" title="the HTML note" sandbox src="${note.htmlHref}"></iframe></details>` : ''}`
}`;
  return { title: d.key, section: 'sessions', body };
}

export function replayPage(
  scope: { code: string | null; session: string | null },
  jobs: ReadonlyArray<{ sessionKey: string; ticketId: string; reason: string; code: string | null }>,
  codes: ReadonlyArray<{ code: string; count: number }>,
  o: { readOnly: boolean; token: string; expired: number; notice?: string | null },
): Page {
  const what = scope.session ? html`session ${scope.session}` : scope.code ? html`every failed session with <code>${scope.code}</code>` : html`every failed session`;
  const shown = jobs.slice(0, 200);
  const body = html`
<form method="get" action="${BASE}/replay" class="search">
<label>Error code <select name="code">${html`<option value="">any</option>`}${codes.map((c) => html`<option value="${c.code}"${c.code === scope.code ? trusted(' selected') : ''}>${c.code} (${c.count})</option>`)}</select></label>
<button type="submit">Count</button>
</form>
${o.notice ? html`<p class="notice">${o.notice}</p>` : ''}
<p class="lede">${jobs.length} failed session(s): ${what}.</p>
${o.expired ? html`<p class="notice">${o.expired} returned e-mail(s) cannot be replayed: their jobs expired (KEEP_COMPLETED_DAYS); submit their files again.</p>` : ''}
${
  jobs.length > 0 && !o.readOnly
    ? html`<form method="post" action="${BASE}/replay"><input type="hidden" name="token" value="${o.token}">${scope.code ? html`<input type="hidden" name="code" value="${scope.code}">` : ''}${scope.session ? html`<input type="hidden" name="session" value="${scope.session}">` : ''}<input type="hidden" name="expected" value="${jobs.length}">
<p>Each goes back to the queue with its attempts reset; what a session already wrote is not written twice (the same rules as <code>ccai-crm-sync replay</code>).</p>
<button type="submit" class="primary">Replay ${jobs.length} session(s)</button></form>`
    : ''
}
${
  shown.length
    ? html`<table><thead><tr><th scope="col">Session</th><th scope="col">Ticket</th><th scope="col">Why</th></tr></thead><tbody>${shown.map((j) => html`<tr><td><a href="${sessionHref(j.sessionKey)}">${j.sessionKey}</a></td><td>${j.ticketId}</td><td>${cut(j.reason, 200)}</td></tr>`)}</tbody></table>${jobs.length > shown.length ? html`<p class="hint">and ${jobs.length - shown.length} more</p>` : ''}`
    : ''
}`;
  return { title: 'Replay failed sessions', section: 'replay', body };
}

export function replayedPage(n: number, scope: { code: string | null; session: string | null }): Page {
  const what = scope.session ? html`session ${scope.session}` : scope.code ? html`failed sessions with <code>${scope.code}</code>` : html`failed sessions`;
  const next = scope.session
    ? html`<a href="${sessionHref(scope.session)}">${scope.session}</a>`
    : html`<a href="${`${BASE}/sessions${query({ code: scope.code ?? '' })}`}">the sessions${scope.code ? html` that had <code>${scope.code}</code>` : ''}</a>`;
  const body = html`
<p class="lede"><span class="good">Replayed ${n} session(s)</span>: ${what}.</p>
<p>A running worker picks them up. See how it went: ${next}, or the <a href="${BASE}">overview</a>.</p>`;
  return { title: 'Replayed', section: 'replay', body };
}

export function messagePage(title: string, text: string): Page {
  return { title, section: null, body: html`<p>${text}</p><p><a href="${BASE}">Back to the overview</a></p>` };
}

/** The console's one stylesheet (served as a file, so the pages' CSP forbids every inline style and script). */
export function stylesheet(): string {
  const swatches = SERIES.map((s) => `.swatch.s-${s.state}{background:${s.colour}}`).join('\n');
  return `:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:15px;color:#202124}
body{margin:0;background:#f8f9fa}
header{display:flex;gap:1.5rem;align-items:baseline;flex-wrap:wrap;padding:.7rem 1.5rem;background:#fff;border-bottom:1px solid #dadce0}
header nav a{margin-right:1rem;color:#1a73e8;text-decoration:none}
header nav a[aria-current=page]{font-weight:600;color:#202124;border-bottom:2px solid #1a73e8}
.who{margin-left:auto;color:#5f6368;font-size:.9em}
.badge{background:#fce8e6;color:#a50e0e;padding:0 .4em;border-radius:3px}
main{padding:1rem 1.5rem 3rem;max-width:72rem}
h1{font-size:1.4rem;margin:.5rem 0 1rem;overflow-wrap:anywhere}
h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
h3{font-size:1rem;margin:1.2rem 0 .4rem}
section{background:#fff;border:1px solid #dadce0;border-radius:6px;padding:.2rem 1rem 1rem;margin-bottom:1rem}
.pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:0 1rem}
table{border-collapse:collapse;margin:.3rem 0;background:#fff}
th,td{border-bottom:1px solid #e8eaed;padding:.3rem .6rem;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{white-space:nowrap}
td{max-width:48rem}
thead th{font-weight:600;color:#5f6368;font-size:.9em}
.num{text-align:right;font-variant-numeric:tabular-nums}
.hint{color:#5f6368;font-size:.88em}
.lede{font-size:1.05em}
.good{color:#137333;font-weight:600}
.bad{color:#c5221f;font-weight:600}
.notice{background:#fef7e0;border:1px solid #f9ab00;padding:.4rem .7rem;border-radius:4px}
.state{display:inline-block;white-space:nowrap;padding:0 .45em;border-radius:3px;font-size:.9em;background:#e8eaed}
.state.s-delivered{background:#e6f4ea;color:#137333}
.state.s-failed{background:#fce8e6;color:#a50e0e}
.state.s-rejected{background:#feefe3;color:#b06000}
.state.s-retrying{background:#fef7e0;color:#8d5e00}
.state.s-queued,.state.s-active{background:#e8f0fe;color:#174ea6}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em}
pre.note{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;border:1px solid #dadce0;padding:.8rem;max-width:60rem}
iframe.note{width:100%;max-width:60rem;height:32rem;border:1px solid #dadce0;background:#fff}
form.search{display:flex;flex-wrap:wrap;gap:.8rem;align-items:flex-end;margin-bottom:.5rem}
form.search label{display:flex;flex-direction:column;font-size:.88em;color:#5f6368}
form.inline{margin:.8rem 0}
input,select,button{font:inherit;padding:.25rem .4rem}
button,.button{border:1px solid #1a73e8;background:#fff;color:#1a73e8;border-radius:4px;padding:.3rem .8rem;cursor:pointer;text-decoration:none;display:inline-block;white-space:nowrap}
button.primary{background:#1a73e8;color:#fff}
.chart{max-width:100%;height:auto;background:#fff}
.legend{font-size:.88em;color:#5f6368}
.key{margin-right:1rem}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.3em;vertical-align:-.05em;border-radius:2px}
${swatches}
ul.warnings li{margin:.2rem 0}
table.sessions td:first-child,table.sessions td:last-child,table.events td:first-child{white-space:nowrap}
`;
}
