// A validated session metadata document to the `Session` the rest of the worker uses. Pure.
// Rules come from docs/session-metadata.md ("Field notes") and the field comments in
// ../types.ts; anything tolerated rather than taken as-is adds a warning.
import { parseTimestamp } from './time.ts';
import { AGENT_TEXT_MAX_CHARS, codePointLength, cutText } from '../text-cut.ts';
import { quote, type MenuPathDoc, type PersonDoc, type SessionDocument } from './schema.ts';
import type { AgentRef, Disposition, Escalation, InputWarning, MenuPath, Session, SessionKind, Transfer } from '../types.ts';

export interface SessionHead {
  kind: SessionKind;
  id: number;
  key: string;
  /** updated_at, already parsed */
  version: string;
  versionMs: number;
}

export function normaliseSession(
  raw: Record<string, unknown>,
  doc: SessionDocument,
  head: SessionHead,
  warnings: InputWarning[],
): Session {
  const time = (value: string | null | undefined, field: string) => optionalTime(value, field, warnings);
  const duration = (value: number | null | undefined, field: string) => seconds(value, field, warnings);
  warnUnreadableIds(doc, warnings);
  const people = collectPeople(doc);
  const talkField = head.kind === 'call' ? (doc.call_duration != null ? 'call_duration' : 'chat_duration') : doc.chat_duration != null ? 'chat_duration' : 'call_duration';
  const talk = duration(talkField === 'call_duration' ? doc.call_duration : doc.chat_duration, talkField);
  const afterCallWork = sumAfterCallWork(doc, warnings);
  // agent (and customer) text has one size limit wherever it is written: a 4 MB note would
  // otherwise be stored whole in the fields, the note text and its HTML
  const agentText = (value: string | null, field: string) => limitText(value, field, warnings);
  const feedback = agentText(nonEmpty(doc.feedback), 'feedback');

  return {
    kind: head.kind,
    id: head.id,
    key: head.key,
    version: head.version,
    versionMs: head.versionMs,
    lang: nonEmpty(doc.lang),
    utcOffsetMinutes: fileOffset(doc, raw),
    type:
      nonEmpty(doc.session_type_v2) ??
      nonEmpty(doc.session_type) ??
      nonEmpty(head.kind === 'call' ? doc.call_type : doc.chat_type) ??
      head.kind,
    status: nonEmpty(doc.status),
    times: {
      created: time(doc.created_at, 'created_at'),
      queued: time(doc.queued_at, 'queued_at'),
      assigned: time(doc.assigned_at, 'assigned_at'),
      connected: time(doc.connected_at, 'connected_at'),
      ended: time(doc.ends_at, 'ends_at'),
      scheduled: time(doc.scheduled_at, 'scheduled_at'),
      updated: head.version,
    },
    durations: {
      wait: duration(doc.wait_duration, 'wait_duration'),
      talk,
      hold: duration(doc.hold_duration, 'hold_duration'),
      afterCallWork,
      // docs: "handle time ... call or chat duration plus after-call work"
      handle: talk === null && afterCallWork === null ? null : (talk ?? 0) + (afterCallWork ?? 0),
    },
    ticket: {
      id: nonEmpty(doc.out_ticket_id?.trim()),
      url: nonEmpty(doc.out_ticket_url?.trim()),
      isAccount: doc.is_out_ticket_account === true,
    },
    answerType: nonEmpty(doc.answer_type),
    agents: people.agents,
    virtualAgents: people.virtualAgents,
    dispositions: (doc.dispositions ?? []).map((d, i) => ({
      code: nonEmpty(d.code),
      note: agentText(nonEmpty(d.note), `dispositions[${i}].note`), // the key is absent when the agent typed nothing
      list: nonEmpty(d.list),
      listPath: nonEmpty(d.list_path),
      agent: people.human(int(d.user_id)),
      participantId: int(d.participant_id),
      transferId: int(d.transfer_id),
    }) satisfies Disposition),
    csat: {
      rating: csatRating(doc.rating, warnings),
      comment: feedback,
      hasFeedback: doc.has_feedback ?? feedback !== null,
    },
    recording: { url: nonEmpty(doc.recording_url?.trim()), permission: nonEmpty(doc.recording_permission) },
    menuPath: menuPath(doc.menu_path),
    selectedMenu: typeof doc.selected_menu === 'string' ? nonEmpty(doc.selected_menu) : nonEmpty(doc.selected_menu?.name),
    queuePriority: finite(doc.queue_priority_level, 'queue_priority_level', warnings),
    supportNumber: nonEmpty(doc.support_number),
    outboundNumber: nonEmpty(doc.outbound_number),
    transfers: present(doc.transfers).map((t, i) => ({
      status: nonEmpty(t.status),
      at: t.created_at != null ? time(t.created_at, `transfers[${i}].created_at`) : time(t.connected_at, `transfers[${i}].connected_at`),
      fromAgent: people.human(personRef(t.from_agent, false)) ?? people.virtual(personRef(t.from_virtual_agent, true)),
      toAgent: people.human(personRef(t.to_agent, false)) ?? people.virtual(personRef(t.to_virtual_agent, true)),
      fromMenu: menuPath(t.from_menu_path),
      toMenu: menuPath(t.to_menu_path),
    }) satisfies Transfer),
    escalations: present(doc.escalations).map((e, i) => ({
      status: nonEmpty(e.status),
      reason: nonEmpty(e.reason),
      at: e.escalated_at != null ? time(e.escalated_at, `escalations[${i}].escalated_at`) : time(e.created_at, `escalations[${i}].created_at`),
      fromVirtualAgent: people.virtual(personRef(e.from_virtual_agent, true)),
      toAgent: people.human(personRef(e.to_agent, false)),
    }) satisfies Escalation),
    deflection: nonEmpty(doc.deflection),
    deflectionDetails: (doc.deflection_details ?? []).map(deflectionLabel).filter((s): s is string => s !== null),
    voicemailReason: nonEmpty(doc.voicemail_reason),
    disconnectedBy: nonEmpty(doc.disconnected_by),
    failReason: nonEmpty(doc.fail_reason),
    participants: countParticipants(doc),
    smartActions: {
      verified: doc.verified ?? null,
      photos: doc.photos?.length ?? 0,
      videos: doc.videos?.length ?? 0,
      text: agentText(smartActionText(doc.smart_action_text), 'smart_action_text'),
    },
    sms: { inCall: doc.in_call_sms?.length ?? 0, waitTime: doc.wait_time_sms?.length ?? 0 },
    customer: customer(doc),
    chat: {
      messages: count(doc.message_count, 'message_count', warnings),
      averageResponse: duration(doc.average_response_time, 'average_response_time'),
      longestResponse: duration(doc.longest_response_time, 'longest_response_time'),
    },
    media: { transcript: doc.transcript ?? null, recordings: doc.recordings?.length ?? 0 },
    customData: customData(doc.custom_data_not_secured, 'custom_data_not_secured', agentText),
    securedCustomData: customData(doc.custom_data_secured, 'custom_data_secured', agentText),
    raw,
  };
}

// ---- timestamps -------------------------------------------------------------------------

/** An optional timestamp: null when absent; null plus a warning when it cannot be parsed. */
function optionalTime(value: string | null | undefined, field: string, warnings: InputWarning[]): string | null {
  if (value == null || value.trim() === '') return null;
  const t = parseTimestamp(value);
  if (!t.ok) {
    warnings.push({ field, message: `${field} ${quote(value)} is not a usable timestamp (${t.reason}); ignored` });
    return null;
  }
  if (t.assumedUtc) warnings.push({ field, message: `${field} ${quote(value)} has no UTC offset; read as UTC` });
  return t.iso;
}

/**
 * A duration in seconds: null when absent. A negative or non-finite number (a digit string too
 * long to be a number, `1e999`) cannot be a duration: it is dropped, with a warning, rather
 * than written on the ticket or summed into the handle time.
 */
function seconds(value: number | null | undefined, field: string, warnings: InputWarning[]): number | null {
  const n = finite(value, field, warnings);
  if (n === null || n >= 0) return n;
  warnings.push({ field, message: `${field} ${n} is negative, not a duration; dropped` });
  return null;
}

// ---- people -----------------------------------------------------------------------------

interface People {
  /** human agents who handled the session, first-handled first */
  agents: AgentRef[];
  virtualAgents: AgentRef[];
  /** a human agent by id or partial ref, completed from everything the file says about them */
  human(ref: AgentRef | number | null): AgentRef | null;
  virtual(ref: AgentRef | null): AgentRef | null;
}

/**
 * Docs: `agent_info` is the human agent, or a virtual agent when it has a `va_alias` key. It is
 * ABSENT when no agent handled the session and also when both a virtual and a human agent did:
 * then the agents come from `participants[]` (type `agent`), else from `dispositions[].user_id`.
 */
function collectPeople(doc: SessionDocument): People {
  const info = doc.agent_info ?? null;
  const infoIsVirtual = info !== null && info.va_alias !== undefined;
  const participants = present(doc.participants);

  // Everyone the file names, to complete a bare user_id or a partial ref.
  const directory: AgentRef[] = [];
  if (!infoIsVirtual) addAgent(directory, personRef(info, false));
  for (const p of participants) {
    if (p.type === 'agent') addAgent(directory, participantRef(p));
  }
  for (const t of present(doc.transfers)) {
    addAgent(directory, personRef(t.from_agent, false));
    addAgent(directory, personRef(t.to_agent, false));
  }
  for (const e of present(doc.escalations)) addAgent(directory, personRef(e.to_agent, false));

  const bots: AgentRef[] = [];
  if (infoIsVirtual) addAgent(bots, personRef(info, true));
  for (const p of participants) {
    if (p.type === 'virtual_agent' || p.type === 'task_virtual_agent') {
      const id = int(p.virtual_agent_id);
      if (id !== null) addAgent(bots, { id, name: nonEmpty(p.name), email: null, virtual: true });
    }
  }
  for (const e of present(doc.escalations)) addAgent(bots, personRef(e.from_virtual_agent, true));
  for (const t of present(doc.transfers)) {
    addAgent(bots, personRef(t.from_virtual_agent, true));
    addAgent(bots, personRef(t.to_virtual_agent, true));
  }
  for (const v of present(doc.virtual_agent_handle_durations)) addAgent(bots, personRef(v.virtual_agent, true));

  const complete = (list: AgentRef[], ref: AgentRef): AgentRef => {
    const known = ref.id === null ? undefined : list.find((a) => a.id === ref.id);
    return known ? { ...known, name: known.name ?? ref.name, email: known.email ?? ref.email } : ref;
  };
  const human = (ref: AgentRef | number | null): AgentRef | null => {
    if (ref === null) return null;
    return complete(directory, typeof ref === 'number' ? { id: ref, name: null, email: null, virtual: false } : ref);
  };

  const agents: AgentRef[] = [];
  const infoRef = infoIsVirtual ? null : personRef(info, false);
  if (infoRef) {
    addAgent(agents, human(infoRef));
  } else {
    for (const p of participants) if (p.type === 'agent') addAgent(agents, human(participantRef(p)));
    if (agents.length === 0) {
      for (const d of doc.dispositions ?? []) addAgent(agents, human(int(d.user_id)));
    }
  }

  return {
    agents,
    virtualAgents: bots,
    human,
    virtual: (ref) => (ref === null ? null : complete(bots, ref)),
  };
}

function personRef(p: PersonDoc | null | undefined, virtual: boolean): AgentRef | null {
  if (!p) return null;
  const id = int(p.id);
  const name = nonEmpty(p.name) ?? fullName(p.first_name, p.last_name) ?? (virtual ? nonEmpty(p.va_alias) : null);
  const email = virtual ? null : nonEmpty(p.email);
  if (id === null && name === null && email === null) return null;
  return { id, name, email, virtual };
}

type ParticipantDoc = NonNullable<NonNullable<SessionDocument['participants']>[number]>;

function participantRef(p: ParticipantDoc): AgentRef | null {
  const id = int(p.user_id);
  const name = nonEmpty(p.name) ?? fullName(p.first_name, p.last_name);
  const email = nonEmpty(p.email);
  if (id === null && name === null && email === null) return null;
  return { id, name, email, virtual: false };
}

/** Adds a person once (same id, or same name and email when there is no id), filling gaps. */
function addAgent(list: AgentRef[], ref: AgentRef | null): void {
  if (!ref) return;
  const same = list.find((a) => (ref.id !== null ? a.id === ref.id : a.id === null && a.name === ref.name && a.email === ref.email));
  if (!same) {
    list.push({ ...ref });
    return;
  }
  same.name ??= ref.name;
  same.email ??= ref.email;
}

function fullName(first: string | null | undefined, last: string | null | undefined): string | null {
  return nonEmpty([first, last].filter((s) => s != null && s.trim() !== '').join(' '));
}

/**
 * People, not legs: `participants[]` has one entry per leg, so an agent who took the call back
 * after a transfer is listed twice. Entries with the same user (agent), end user or virtual
 * agent id count once; entries without an id count each.
 */
function countParticipants(doc: SessionDocument): Session['participants'] {
  const counts = { agents: 0, endUsers: 0, virtualAgents: 0, others: 0 };
  const seen = new Set<string>();
  const first = (kind: string, id: number | null | undefined) => {
    if (id == null) return true;
    const key = `${kind}:${id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
  for (const p of present(doc.participants)) {
    if (p.type === 'end_user') counts.endUsers += first('end_user', p.end_user_id) ? 1 : 0;
    else if (p.type === 'agent') counts.agents += first('agent', p.user_id) ? 1 : 0;
    else if (p.type === 'virtual_agent' || p.type === 'task_virtual_agent') counts.virtualAgents += first('va', p.virtual_agent_id) ? 1 : 0;
    else counts.others++;
  }
  return counts;
}

/** The offset of `created_at`, else of `updated_at`: the contact center's local time. */
function fileOffset(doc: SessionDocument, raw: Record<string, unknown>): number | null {
  for (const value of [doc.created_at, raw['updated_at']]) {
    if (typeof value !== 'string') continue;
    const t = parseTimestamp(value);
    if (t.ok && t.offsetMinutes !== null) return t.offsetMinutes;
  }
  return null;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The end user as the file describes them; an `identifier` counts as an e-mail only when it is one. */
function customer(doc: SessionDocument): Session['customer'] {
  const u = doc.end_user ?? null;
  const identifier = nonEmpty(u?.identifier?.trim());
  const email = [u?.email, doc.email, identifier].map((e) => nonEmpty(e?.trim())).find((e) => e !== null && EMAIL.test(e)) ?? null;
  return {
    crmId: nonEmpty(u?.out_contact_id?.trim()),
    name: nonEmpty(u?.name) ?? fullName(u?.first_name, u?.last_name),
    email,
  };
}

/** A count (`message_count`): a whole number of at least 0, else dropped with a warning. */
function count(value: number | null | undefined, field: string, warnings: InputWarning[]): number | null {
  if (value == null) return null;
  if (!Number.isInteger(value) || value < 0) {
    warnings.push({ field, message: `${field} ${String(value)} is not a count; ignored` });
    return null;
  }
  return value;
}

// ---- the rest ---------------------------------------------------------------------------

/** Docs: after-call work is the sum of `handle_durations[].acw_duration`; null with no legs. */
function sumAfterCallWork(doc: SessionDocument, warnings: InputWarning[]): number | null {
  const legs = doc.handle_durations ?? [];
  if (!legs.some((leg) => leg != null)) return null;
  let sum = 0;
  legs.forEach((leg, i) => {
    if (leg != null) sum += seconds(leg.acw_duration, `handle_durations[${i}].acw_duration`, warnings) ?? 0;
  });
  return sum;
}

/** Docs: CSAT is an integer 1-5 or null; anything else is ignored with a warning, not rejected. */
function csatRating(rating: number | null | undefined, warnings: InputWarning[]): number | null {
  if (rating == null) return null;
  if (Number.isInteger(rating) && rating >= 1 && rating <= 5) return rating;
  warnings.push({ field: 'rating', message: `rating ${rating} is not a CSAT score from 1 to 5; ignored` });
  return null;
}

function menuPath(m: MenuPathDoc | null | undefined): MenuPath | null {
  if (m == null) return null;
  if (typeof m === 'string') return nonEmpty(m) === null ? null : { name: m, id: null };
  const path = { name: nonEmpty(m.name), id: nonEmpty(m.materialized_path) };
  return path.name === null && path.id === null ? null : path;
}

/** `deflection_details[]` entries are not documented: strings as-is, objects by a short label. */
function deflectionLabel(d: unknown): string | null {
  if (d == null) return null;
  if (typeof d === 'string') return nonEmpty(d);
  if (typeof d === 'number' || typeof d === 'boolean') return String(d);
  if (typeof d === 'object' && !Array.isArray(d)) {
    const o = d as Record<string, unknown>;
    for (const k of ['type', 'name', 'reason']) {
      if (typeof o[k] === 'string' && o[k] !== '') return o[k];
    }
  }
  return JSON.stringify(d);
}

/** `smart_action_text` has no documented shape: a string as-is, anything else as JSON. */
function smartActionText(v: unknown): string | null {
  if (v == null) return null;
  if (typeof v === 'string') return nonEmpty(v);
  return JSON.stringify(v);
}

/**
 * Agent text cut at AGENT_TEXT_MAX_CHARS, with a visible marker and a warning. The warning
 * gives sizes, never the text (custom data may be personal).
 */
function limitText(value: string | null, field: string, warnings: InputWarning[]): string | null {
  if (value === null || value.length <= AGENT_TEXT_MAX_CHARS) return value;
  const cut = cutText(value, AGENT_TEXT_MAX_CHARS);
  warnings.push({
    field,
    message: `${field} is ${codePointLength(value).toLocaleString('en-US')} characters long; cut to ${AGENT_TEXT_MAX_CHARS.toLocaleString('en-US')} (the limit for agent text), ${cut.removed.toLocaleString('en-US')} left out`,
  });
  return cut.text;
}

/**
 * Custom data: documented as a map `{key: {label, value}}`; an array of `{label, value}` is
 * read too. A missing label falls back to the key; entries without a value are left out.
 */
function customData(
  data: Record<string, unknown> | unknown[] | null | undefined,
  field: string,
  limit: (value: string | null, field: string) => string | null,
): Array<{ label: string; value: string }> {
  if (data == null) return [];
  const entries: Array<[string, unknown]> = Array.isArray(data) ? data.map((v, i) => [String(i), v]) : Object.entries(data);
  const out: Array<{ label: string; value: string }> = [];
  for (const [key, entry] of entries) {
    const isEntry = typeof entry === 'object' && entry !== null && !Array.isArray(entry);
    const e = isEntry ? (entry as Record<string, unknown>) : { value: entry };
    const value = e.value;
    if (value == null) continue;
    const label = typeof e.label === 'string' && e.label !== '' ? e.label : typeof e.key === 'string' && e.key !== '' ? e.key : key;
    const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
    const path = Array.isArray(data) ? `${field}[${key}].value` : `${field}${/^[A-Za-z_$][\w$-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`}.value`;
    out.push({ label, value: limit(text, path) ?? '' });
  }
  return out;
}

function present<T>(list: ReadonlyArray<T | null | undefined> | null | undefined): T[] {
  return (list ?? []).filter((x): x is T => x != null);
}

function nonEmpty(s: string | null | undefined): string | null {
  return s == null || s === '' ? null : s;
}

/** A number, or null with a warning when it is not one the worker can read (`1e999`). */
function finite(value: number | null | undefined, field: string, warnings: InputWarning[]): number | null {
  if (value == null) return null;
  if (Number.isFinite(value)) return value;
  warnings.push({ field, message: `${field} is not a number the worker can read (${value}); dropped` });
  return null;
}

/**
 * Ids of people and legs are whole numbers; one that is not (`2.5`, `1e20`) is read as no id
 * (int() below), which this says, field by field, as a warning.
 */
function warnUnreadableIds(doc: SessionDocument, warnings: InputWarning[]): void {
  const check = (n: number | null | undefined, field: string) => {
    if (n != null && int(n) === null) warnings.push({ field, message: `${field} ${n} is not a whole number an id can be; ignored` });
  };
  const person = (p: PersonDoc | null | undefined, field: string) => check(p?.id, `${field}.id`);
  person(doc.agent_info, 'agent_info');
  (doc.dispositions ?? []).forEach((d, i) => {
    check(d.user_id, `dispositions[${i}].user_id`);
    check(d.participant_id, `dispositions[${i}].participant_id`);
    check(d.transfer_id, `dispositions[${i}].transfer_id`);
  });
  (doc.participants ?? []).forEach((p, i) => {
    check(p?.user_id, `participants[${i}].user_id`);
    check(p?.virtual_agent_id, `participants[${i}].virtual_agent_id`);
  });
  (doc.transfers ?? []).forEach((t, i) => {
    for (const k of ['from_agent', 'to_agent', 'from_virtual_agent', 'to_virtual_agent'] as const) person(t?.[k], `transfers[${i}].${k}`);
  });
  (doc.escalations ?? []).forEach((e, i) => {
    person(e?.from_virtual_agent, `escalations[${i}].from_virtual_agent`);
    person(e?.to_agent, `escalations[${i}].to_agent`);
  });
  (doc.virtual_agent_handle_durations ?? []).forEach((v, i) => person(v?.virtual_agent, `virtual_agent_handle_durations[${i}].virtual_agent`));
}

function int(n: number | null | undefined): number | null {
  return n == null || !Number.isSafeInteger(n) ? null : n;
}
