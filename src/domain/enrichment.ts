// What gets written on the ticket for one session version. Pure: a function of the parsed
// session, the matched ticket and two admin options; no I/O, no clock, so the same file
// always gives the same fields and the same note (targets rely on that for idempotency).
//
// Two outputs (see templates/README.md for the full list an admin can use):
//   - `fields`: the latest state of the session, under stable snake_case names an admin maps
//     to CRM fields. Every name is always present; null when the file does not carry it.
//   - `view`: what the note templates render. It covers everything the file carries that the
//     product specification lists (docs: "What the product's specification lists as the
//     file's content") and OMITS what the file does not carry: a key is present only when
//     there is something to show, so `{% if csat %}` in a template is enough to drop a
//     section. (Liquid treats "" and [] as true, hence no empty strings or lists in the view.)
//
// Rules from the docs applied here:
//   - "Secured" custom data is never written unless the admin opts in
//     (`includeSecuredCustomData`); it never appears in `fields` at all.
//   - Recording links follow the admin's policy and the caller's recording permission.
//   - Every string taken from the file is user text: control characters are removed here
//     (and again by the renderer, which also escapes HTML).
import type {
  AgentRef,
  Disposition,
  Enrichment,
  Escalation,
  FieldValue,
  InputWarning,
  MenuPath,
  Session,
  TicketRef,
  Transfer,
} from './types.ts';
import { codePointLength, cutText, FIELD_TEXT_MAX_CHARS } from './text-cut.ts';

/**
 * `unless-denied`: link the recording unless the caller denied recording;
 * `granted-only`: link it only when the caller granted permission; `never`: never link it.
 */
export type RecordingLinkPolicy = 'unless-denied' | 'granted-only' | 'never';

export interface EnrichOptions {
  recordingLink: RecordingLinkPolicy;
  /** write `custom_data_secured` into the note view (never into fields) */
  includeSecuredCustomData: boolean;
}

export const DEFAULT_ENRICH_OPTIONS: EnrichOptions = Object.freeze({
  recordingLink: 'unless-denied',
  includeSecuredCustomData: false,
});

/** The stable field names, in a readable order. An admin maps these to CRM fields. */
export const FIELD_NAMES = [
  'session_key',
  'session_version',
  'session_kind',
  'session_type',
  'status',
  'lang',
  'started_at',
  'ended_at',
  'answer_type',
  'agents',
  'last_disposition',
  'dispositions',
  'disposition_notes',
  'csat_rating',
  'csat_comment',
  'recording_url',
  'recording_permission',
  'handle_seconds',
  'talk_seconds',
  'wait_seconds',
  'hold_seconds',
  'acw_seconds',
  'menu_path',
  'menu_path_id',
  'queue_priority',
  'transfer_count',
  'escalated',
  'support_number',
  'outbound_number',
  'deflection',
  'disconnected_by',
] as const;

export type FieldName = (typeof FIELD_NAMES)[number];
export type EnrichmentFields = Record<FieldName, FieldValue>;

/** Values the file uses to say "nothing happened": not worth a line in a note. */
const MEANINGLESS = new Set(['no_deflection', 'not_voicemail', 'nothing', 'none', '']);

const CSAT_SCALE = 5;

export function enrich(session: Session, ticket: TicketRef, opts: EnrichOptions = DEFAULT_ENRICH_OPTIONS): Enrichment {
  const recording = decideRecordingLink(session.recording, opts.recordingLink);
  const warnings: InputWarning[] = [];
  return {
    ticket,
    sessionKey: session.key,
    version: session.version,
    fields: limitFields(buildFields(session, recording), warnings),
    view: buildView(session, ticket, recording, opts),
    warnings,
  };
}

/**
 * Each text field at most FIELD_TEXT_MAX_CHARS: each piece of agent text is already limited,
 * but a field that joins them (disposition_notes over hundreds of legs) is limited as a whole.
 */
function limitFields(fields: EnrichmentFields, warnings: InputWarning[]): EnrichmentFields {
  for (const name of FIELD_NAMES) {
    const v = fields[name];
    if (typeof v !== 'string' || v.length <= FIELD_TEXT_MAX_CHARS) continue;
    const cut = cutText(v, FIELD_TEXT_MAX_CHARS);
    fields[name] = cut.text;
    warnings.push({ field: `fields.${name}`, message: `the ${name} field is ${codePointLength(v).toLocaleString('en-US')} characters long; cut to ${FIELD_TEXT_MAX_CHARS.toLocaleString('en-US')} (the limit for a field on the ticket), ${cut.removed.toLocaleString('en-US')} left out` });
  }
  return fields;
}

// ---------------------------------------------------------------------------------------
// Text hygiene

// C0 and C1 control characters except \t (\u0009) and \n (\u000A), and the Unicode
// bidirectional embedding/override/isolate controls, which can make a note display
// something other than what it contains.
const CONTROL_CHARS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;
/** Anything cleanText changes: CONTROL_CHARS (CR included), and U+2028/U+2029. Not global: test() keeps no state. */
const NEEDS_CLEANING = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028-\u202E\u2066-\u2069]/;

/**
 * User text made safe to store and render: CR LF, lone CR and the Unicode line/paragraph
 * separators become \n; every other control character is removed. Keeps \n and \t.
 */
export function cleanText(s: string): string {
  // Most text has nothing to clean: one scan to find out, instead of two replacing passes.
  if (!NEEDS_CLEANING.test(s)) return s;
  return s.replace(/\r\n?|[\u2028\u2029]/g, '\n').replace(CONTROL_CHARS, '');
}

/** cleanText, trimmed; null when nothing is left. */
function text(s: string | null | undefined): string | null {
  if (s === null || s === undefined) return null;
  const t = cleanText(String(s)).trim();
  return t === '' ? null : t;
}

/** A single line: runs of whitespace (line breaks included) become one space. */
function oneLine(s: string | null | undefined): string | null {
  const t = text(s);
  return t === null ? null : t.replace(/\s+/g, ' ');
}

function lines(s: string): string[] {
  return s.split('\n').map((l) => l.trimEnd());
}

/** Only http(s) links are written: a `javascript:` or `data:` URL is never made clickable. */
export function httpUrl(s: string | null | undefined): string | null {
  const t = oneLine(s);
  if (t === null) return null;
  try {
    const u = new URL(t);
    return u.protocol === 'https:' || u.protocol === 'http:' ? t : null;
  } catch {
    return null;
  }
}

/** `after_hours_message_only` -> `after hours message only` */
export function humanise(code: string): string {
  return code.replace(/[_-]+/g, ' ').replace(/\s+/g, ' ').trim();
}

function meaningful(code: string | null): string | null {
  const t = oneLine(code);
  return t === null || MEANINGLESS.has(t.toLowerCase()) ? null : t;
}

// ---------------------------------------------------------------------------------------
// Formatting

/** `2026-03-23T20:12:51.000Z` -> iso (UTC, milliseconds) and `2026-03-23 20:12:51 UTC` */
export function formatTime(iso: string | null): { iso: string; human: string } | null {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  const utc = new Date(ms).toISOString();
  return { iso: utc, human: `${utc.slice(0, 10)} ${utc.slice(11, 19)} UTC` };
}

/** 126 -> `2m 06s`; 27 -> `27s`; 3723 -> `1h 02m 03s` */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h ${pad(m)}m ${pad(sec)}s`;
  if (m > 0) return `${m}m ${pad(sec)}s`;
  return `${sec}s`;
}

function duration(seconds: number | null): { seconds: number; human: string } | null {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return null;
  return { seconds, human: formatDuration(seconds) };
}

/** 4 -> `★★★★☆` on the 1–5 scale; null outside it. */
export function stars(rating: number): string | null {
  if (!Number.isInteger(rating) || rating < 1 || rating > CSAT_SCALE) return null;
  return '★'.repeat(rating) + '☆'.repeat(CSAT_SCALE - rating);
}

function agentName(a: AgentRef | null): string | null {
  if (a === null) return null;
  const name = oneLine(a.name);
  if (name !== null) return name;
  return a.id !== null ? `${a.virtual ? 'virtual agent' : 'agent'} #${a.id}` : null;
}

function menuLeaf(name: string): string {
  const parts = name.split('/').filter((p) => p.trim() !== '');
  return parts.length > 0 ? parts[parts.length - 1]!.trim() : name;
}

const ANSWER_TYPE_LABELS: Record<string, string> = {
  manual: 'human agent',
  human: 'human agent',
  agent: 'human agent',
  virtual_agent: 'virtual agent',
  va: 'virtual agent',
};

function answerTypeLabel(code: string): string {
  return ANSWER_TYPE_LABELS[code.toLowerCase()] ?? humanise(code);
}

/** `disconnected_by_end_user` -> `end user` */
function disconnectedByLabel(code: string): string {
  return humanise(code.replace(/^disconnected_by_/i, ''));
}

const SYSTEM_LABELS: Record<TicketRef['system'], string> = {
  salesforce: 'Salesforce',
  zendesk: 'Zendesk',
  freshdesk: 'Freshdesk',
  servicenow: 'ServiceNow',
  dynamics365: 'Dynamics 365',
  generic: 'CRM',
};

// ---------------------------------------------------------------------------------------
// Recording link policy

export interface RecordingLinkDecision {
  /** the link to write, or null */
  url: string | null;
  /** why a link the file carries is not written, e.g. `withheld: the caller denied recording` */
  withheld: string | null;
}

export function decideRecordingLink(
  recording: Session['recording'],
  policy: RecordingLinkPolicy,
): RecordingLinkDecision {
  const raw = text(recording.url);
  if (raw === null) return { url: null, withheld: null };
  const url = httpUrl(raw);
  if (url === null) return { url: null, withheld: 'withheld: the recording link is not an http(s) address' };
  const permission = oneLine(recording.permission)?.toLowerCase() ?? null;
  if (permission === 'denied' && policy !== 'never') {
    return { url: null, withheld: 'withheld: the caller denied recording' };
  }
  if (policy === 'never') return { url: null, withheld: 'withheld: recording links are turned off for this integration' };
  if (policy === 'granted-only' && permission !== 'granted') {
    const was = permission === null ? 'not in the file' : `"${humanise(permission)}"`;
    return {
      url: null,
      withheld: `withheld: recording permission was ${was}; links are written only when the caller granted it`,
    };
  }
  return { url, withheld: null };
}

// ---------------------------------------------------------------------------------------
// Fields

function buildFields(s: Session, recording: RecordingLinkDecision): EnrichmentFields {
  const codes = s.dispositions.map((d) => oneLine(d.code));
  const presentCodes = codes.filter((c): c is string => c !== null);
  const notes = s.dispositions
    .map((d, i) => {
      const note = oneLine(d.note);
      return note === null ? null : `${codes[i] ?? '(no code)'}: ${note}`;
    })
    .filter((n): n is string => n !== null);
  const agentNames = s.agents.map(agentName).filter((n): n is string => n !== null);
  const rating = s.csat.rating;

  return {
    session_key: s.key,
    session_version: s.version,
    session_kind: s.kind,
    session_type: oneLine(s.type),
    status: oneLine(s.status),
    lang: oneLine(s.lang),
    started_at: formatTime(s.times.created)?.iso ?? null,
    ended_at: formatTime(s.times.ended)?.iso ?? null,
    answer_type: oneLine(s.answerType),
    agents: agentNames.length > 0 ? agentNames.join(', ') : null,
    // "last disposition": the code of the last leg that has one
    last_disposition: presentCodes.length > 0 ? presentCodes[presentCodes.length - 1]! : null,
    dispositions: presentCodes.length > 0 ? presentCodes.join('; ') : null,
    disposition_notes: notes.length > 0 ? notes.join('\n') : null,
    csat_rating: rating !== null && Number.isFinite(rating) ? rating : null,
    csat_comment: text(s.csat.comment),
    recording_url: recording.url,
    recording_permission: oneLine(s.recording.permission),
    handle_seconds: s.durations.handle,
    talk_seconds: s.durations.talk,
    wait_seconds: s.durations.wait,
    hold_seconds: s.durations.hold,
    acw_seconds: s.durations.afterCallWork,
    menu_path: oneLine(s.menuPath?.name),
    menu_path_id: oneLine(s.menuPath?.id),
    queue_priority: s.queuePriority,
    transfer_count: s.transfers.length,
    escalated: s.escalations.length > 0,
    support_number: oneLine(s.supportNumber),
    outbound_number: oneLine(s.outboundNumber),
    deflection: oneLine(s.deflection),
    disconnected_by: oneLine(s.disconnectedBy),
  };
}

// ---------------------------------------------------------------------------------------
// View

type ViewObject = Record<string, unknown>;

/** Sets key only when there is something to show (not null, not "", not an empty list/object). */
function put(target: ViewObject, key: string, value: unknown): void {
  if (value === null || value === undefined || value === '') return;
  if (Array.isArray(value) && value.length === 0) return;
  if (isPlainObject(value) && Object.keys(value).length === 0) return;
  target[key] = value;
}

function isPlainObject(v: unknown): v is ViewObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(entries: Array<[string, unknown]>): ViewObject {
  const o: ViewObject = {};
  for (const [k, v] of entries) put(o, k, v);
  return o;
}

function menuView(m: MenuPath | null): ViewObject | null {
  if (m === null) return null;
  const name = oneLine(m.name);
  return obj([
    ['name', name],
    ['id', oneLine(m.id)],
    ['leaf', name === null ? null : menuLeaf(name)],
  ]);
}

function agentView(a: AgentRef): ViewObject {
  return obj([
    ['name', agentName(a)],
    ['id', a.id],
    ['email', oneLine(a.email)],
  ]);
}

/** `Jane Smith (support/billing)`, `Jane Smith`, `support/billing`, or `unknown` */
function endpoint(agent: AgentRef | null, menu: MenuPath | null): string {
  const who = agentName(agent);
  const where = oneLine(menu?.name);
  if (who !== null && where !== null) return `${who} (${where})`;
  return who ?? where ?? 'unknown';
}

function dispositionView(d: Disposition, index: number): ViewObject {
  const note = text(d.note);
  return obj([
    ['leg', index + 1],
    ['code', oneLine(d.code)],
    ['note', note],
    ['note_lines', note === null ? null : lines(note)],
    ['list', oneLine(d.list)],
    ['list_path', oneLine(d.listPath)],
    ['agent', agentName(d.agent)],
    ['after_transfer', d.transferId !== null],
    ['transfer_id', d.transferId],
  ]);
}

function transferView(t: Transfer): ViewObject {
  const status = oneLine(t.status);
  return obj([
    ['from', endpoint(t.fromAgent, t.fromMenu)],
    ['to', endpoint(t.toAgent, t.toMenu)],
    ['from_agent', agentName(t.fromAgent)],
    ['to_agent', agentName(t.toAgent)],
    ['from_menu', menuView(t.fromMenu)],
    ['to_menu', menuView(t.toMenu)],
    ['status', status],
    ['status_label', status === null ? null : humanise(status)],
    ['at', formatTime(t.at)],
  ]);
}

function escalationView(e: Escalation): ViewObject {
  const reason = oneLine(e.reason);
  const status = oneLine(e.status);
  return obj([
    ['from', agentName(e.fromVirtualAgent) ?? 'virtual agent'],
    ['to', agentName(e.toAgent) ?? 'human agent'],
    ['reason', reason],
    ['reason_label', reason === null ? null : humanise(reason)],
    ['status', status],
    ['status_label', status === null ? null : humanise(status)],
    ['at', formatTime(e.at)],
  ]);
}

function labelled(key: string, code: string | null, label: (c: string) => string = humanise): Array<[string, unknown]> {
  return [
    [key, code],
    [`${key}_label`, code === null ? null : label(code)],
  ];
}

function pairs(list: Array<{ label: string; value: string }>): ViewObject[] {
  const out: ViewObject[] = [];
  for (const p of list) {
    const label = oneLine(p.label);
    const value = text(p.value);
    if (label === null && value === null) continue;
    out.push(obj([
      ['label', label ?? '(no label)'],
      ['value', value],
    ]));
  }
  return out;
}

function buildView(s: Session, ticket: TicketRef, recording: RecordingLinkDecision, opts: EnrichOptions): ViewObject {
  const view: ViewObject = {};
  const kindLabel = s.kind === 'call' ? 'Call' : 'Chat';

  const status = oneLine(s.status);
  put(view, 'session', obj([
    ['key', s.key],
    ['kind', s.kind],
    ['kind_label', kindLabel],
    ['id', s.id],
    ['type', oneLine(s.type)],
    ['status', status],
    ['status_label', status === null ? null : humanise(status)],
    ['lang', oneLine(s.lang)],
  ]));

  put(view, 'times', obj([
    ['created', formatTime(s.times.created)],
    ['queued', formatTime(s.times.queued)],
    ['assigned', formatTime(s.times.assigned)],
    ['connected', formatTime(s.times.connected)],
    ['ended', formatTime(s.times.ended)],
    ['scheduled', formatTime(s.times.scheduled)],
    ['updated', formatTime(s.times.updated)],
  ]));

  put(view, 'durations', obj([
    ['handle', duration(s.durations.handle)],
    ['talk', duration(s.durations.talk)],
    ['wait', duration(s.durations.wait)],
    ['hold', duration(s.durations.hold)],
    ['after_call_work', duration(s.durations.afterCallWork)],
  ]));

  // Who: answer type (human or virtual agent) and the agents involved.
  const answerType = oneLine(s.answerType);
  for (const [k, v] of labelled('answer_type', answerType, answerTypeLabel)) put(view, k, v);
  const agents = s.agents.map(agentView).filter((a) => a['name'] !== undefined);
  put(view, 'agents', agents);
  put(view, 'agent_names', agents.map((a) => a['name'] as string).join(', '));
  const vas = s.virtualAgents.map(agentView).filter((a) => a['name'] !== undefined);
  put(view, 'virtual_agents', vas);
  put(view, 'virtual_agent_names', vas.map((a) => a['name'] as string).join(', '));

  // Dispositions, one per agent leg, in the file's order.
  const dispositions = s.dispositions.map(dispositionView).filter((d) => d['code'] !== undefined || d['note'] !== undefined);
  put(view, 'dispositions', dispositions);
  const codes = dispositions.map((d) => d['code']).filter((c): c is string => typeof c === 'string');
  put(view, 'disposition_codes', codes.join('; '));
  // the last leg that has a code, as in fields.last_disposition
  put(view, 'last_disposition', dispositions.filter((d) => d['code'] !== undefined).at(-1) ?? null);

  // CSAT
  const rating = s.csat.rating !== null && Number.isFinite(s.csat.rating) ? s.csat.rating : null;
  const comment = text(s.csat.comment);
  if (rating !== null || comment !== null) {
    put(view, 'csat', obj([
      ['rating', rating],
      ['out_of', rating === null ? null : CSAT_SCALE],
      ['stars', rating === null ? null : stars(rating)],
      ['comment', comment],
      ['comment_lines', comment === null ? null : lines(comment)],
    ]));
  }

  // Recording: the link per policy, the permission, and why a link is withheld.
  const permission = oneLine(s.recording.permission);
  put(view, 'recording', obj([
    ['url', recording.url],
    ['withheld', recording.withheld],
    ...labelled('permission', permission),
  ]));

  // Routing
  const selectedMenu = oneLine(s.selectedMenu);
  put(view, 'routing', obj([
    ['menu_path', menuView(s.menuPath)],
    ['selected_menu', selectedMenu],
    ['queue_priority', s.queuePriority],
    ['support_number', oneLine(s.supportNumber)],
    ['outbound_number', oneLine(s.outboundNumber)],
  ]));

  put(view, 'transfers', s.transfers.map(transferView));
  put(view, 'escalations', s.escalations.map(escalationView));

  // Outcome details, only when they say something happened.
  const details = s.deflectionDetails.map(oneLine).filter((d): d is string => d !== null);
  put(view, 'outcome', obj([
    ...labelled('deflection', meaningful(s.deflection)),
    ['deflection_details', details],
    ...labelled('voicemail_reason', meaningful(s.voicemailReason)),
    ...labelled('disconnected_by', meaningful(s.disconnectedBy), disconnectedByLabel),
    ...labelled('fail_reason', meaningful(s.failReason)),
  ]));

  const p = s.participants;
  const totalParticipants = p.agents + p.endUsers + p.virtualAgents + p.others;
  if (totalParticipants > 0) {
    put(view, 'participants', {
      agents: p.agents,
      end_users: p.endUsers,
      virtual_agents: p.virtualAgents,
      others: p.others,
      total: totalParticipants,
    });
  }

  const sa = s.smartActions;
  const saText = text(sa.text);
  put(view, 'smart_actions', obj([
    ['verified', sa.verified],
    ['photos', sa.photos > 0 ? sa.photos : null],
    ['videos', sa.videos > 0 ? sa.videos : null],
    ['text', saText],
    ['text_lines', saText === null ? null : lines(saText)],
  ]));

  if (s.sms.inCall > 0 || s.sms.waitTime > 0) {
    put(view, 'sms', { in_call: s.sms.inCall, wait_time: s.sms.waitTime });
  }

  put(view, 'custom_data', pairs(s.customData));
  // Docs: "Secured" data must never be written to the CRM unless explicitly configured.
  if (opts.includeSecuredCustomData) put(view, 'secured_custom_data', pairs(s.securedCustomData));

  put(view, 'ticket', obj([
    ['system', ticket.system],
    ['system_label', SYSTEM_LABELS[ticket.system] ?? ticket.system],
    ['id', oneLine(ticket.id)],
    ['url', httpUrl(ticket.url)],
    ['object', oneLine(ticket.object)],
    ['is_account', ticket.isAccount],
  ]));

  return view;
}
