// What the note templates render: everything the file carries that a reader wants, with keys
// present only when there is something to show (`{% if csat %}` is enough in a template).
// Every string in it is user text, escaped on output. Pure.
import type { AgentRef, Disposition, Escalation, MenuPath, Session, TicketRef, Transfer } from '../types.ts';
import { CSAT_SCALE, SYSTEM_LABELS, agentName, answerTypeLabel, disconnectedByLabel, duration, formatTime, httpUrl, humanise, lines, meaningful, menuLeaf, oneLine, stars, text } from './format.ts';
import type { EnrichOptions, RecordingLinkDecision } from './options.ts';
import { normaliseSalesforceId, salesforceObjectForId } from '../ticket/salesforce-id.ts';

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
    // false when `name` is only the id (`virtual agent #15`): a person cannot use it
    ['named', oneLine(a.name) !== null],
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
      ['value_lines', value === null ? null : lines(value)],
    ]));
  }
  return out;
}

/**
 * The end user's CRM record as a link, where the ticket says which CRM and where it lives:
 * Salesforce (`003…` Contact, `001…` Account, from the Case link's host), Zendesk users and
 * Freshdesk contacts (numeric ids). Null when the CRM or its address is not known.
 */
export function customerLink(crmId: string, ticket: TicketRef): { url: string; object: string | null } | null {
  const ticketUrl = httpUrl(ticket.url);
  if (ticketUrl === null) return null;
  const origin = new URL(ticketUrl).origin;
  if (ticket.system === 'salesforce') {
    const id = normaliseSalesforceId(crmId);
    if (id === null) return null;
    const object = salesforceObjectForId(id);
    return { url: object === null ? `${origin}/${id}` : `${origin}/lightning/r/${object}/${id}/view`, object };
  }
  if (!/^\d{1,20}$/.test(crmId)) return null;
  if (ticket.system === 'zendesk') return { url: `${origin}/agent/users/${crmId}`, object: 'user' };
  if (ticket.system === 'freshdesk') return { url: `${origin}/a/contacts/${crmId}`, object: 'contact' };
  return null;
}

export function buildView(s: Session, ticket: TicketRef, recording: RecordingLinkDecision, opts: EnrichOptions, storedFiles: readonly string[] = []): ViewObject {
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
    ['utc_offset_minutes', s.utcOffsetMinutes],
  ]));

  // The customer: their CRM record (a link where the CRM is known), name and e-mail.
  const crmId = oneLine(s.customer.crmId);
  const link = crmId === null ? null : customerLink(crmId, ticket);
  put(view, 'customer', obj([
    ['name', oneLine(s.customer.name)],
    ['email', oneLine(s.customer.email)],
    ['crm_id', crmId],
    ['crm_object', link?.object ?? null],
    ['url', link?.url ?? null],
  ]));

  // Chats: messages and response times, only where they say something.
  if (s.kind === 'chat') {
    put(view, 'chat', obj([
      ['messages', s.chat.messages],
      ['average_response', s.chat.averageResponse !== null && s.chat.averageResponse > 0 ? duration(s.chat.averageResponse) : null],
      ['longest_response', s.chat.longestResponse !== null && s.chat.longestResponse > 0 ? duration(s.chat.longestResponse) : null],
    ]));
  }

  // Files CCAI stores beside the metadata (external storage): named, never fetched. The
  // storage's own listing names them exactly; else the file says there is a transcript
  // (`transcript: true`, always chat-{id}.txt) or recordings (call-{id}.mp3 or .wav).
  const stored = storedFiles.filter((n) => n.toLowerCase().startsWith(`${s.key}.`));
  const transcript = stored.find((n) => n.toLowerCase().endsWith('.txt')) ?? (s.media.transcript === true ? `${s.key}.txt` : null);
  const recordingFiles = stored.filter((n) => /\.(mp3|wav)$/i.test(n));
  const hasRecording = s.kind === 'call' && (s.media.recordings > 0 || recordingFiles.length > 0);
  put(view, 'files', obj([
    ['transcript', transcript],
    ['recording', hasRecording ? s.key : null],
    ['recording_files', recordingFiles],
    ['recordings', s.kind === 'call' && s.media.recordings > 0 ? s.media.recordings : null],
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
    ['withheld_reason', recording.withheldReason],
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
