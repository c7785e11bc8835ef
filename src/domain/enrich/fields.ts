// The latest-state fields written on the ticket, under stable names an admin maps to CRM
// fields. Every name is always present; null when the file does not carry it. Pure.
import { codePointLength, cutText, FIELD_TEXT_MAX_CHARS } from '../text-cut.ts';
import type { FieldValue, InputWarning, Session } from '../types.ts';
import { agentName, formatTime, oneLine, text } from './format.ts';
import type { RecordingLinkDecision } from './options.ts';

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

export function buildFields(s: Session, recording: RecordingLinkDecision): EnrichmentFields {
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

/**
 * Each text field at most FIELD_TEXT_MAX_CHARS: each piece of agent text is already limited,
 * but a field that joins them (disposition_notes over hundreds of legs) is limited as a whole.
 */
export function limitFields(fields: EnrichmentFields, warnings: InputWarning[]): EnrichmentFields {
  for (const name of FIELD_NAMES) {
    const v = fields[name];
    if (typeof v !== 'string' || v.length <= FIELD_TEXT_MAX_CHARS) continue;
    const cut = cutText(v, FIELD_TEXT_MAX_CHARS);
    fields[name] = cut.text;
    warnings.push({ field: `fields.${name}`, message: `the ${name} field is ${codePointLength(v).toLocaleString('en-US')} characters long; cut to ${FIELD_TEXT_MAX_CHARS.toLocaleString('en-US')} (the limit for a field on the ticket), ${cut.removed.toLocaleString('en-US')} left out` });
  }
  return fields;
}
