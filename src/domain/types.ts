// The shapes the pure domain passes around. No I/O anywhere in src/domain.
import type { ErrorCode } from '../errors.ts';

export type SessionKind = 'call' | 'chat';

/** A person or bot who handled the session. */
export interface AgentRef {
  id: number | null;
  name: string | null;
  email: string | null;
  /** true for a virtual agent (bot) */
  virtual: boolean;
}

export interface MenuPath {
  /** leaf-inclusive path name, e.g. `menu-path-test/optional-dispositions_menu-8` */
  name: string | null;
  /** `materialized_path`, e.g. `6/8` */
  id: string | null;
}

export interface Disposition {
  code: string | null;
  note: string | null;
  list: string | null;
  listPath: string | null;
  agent: AgentRef | null;
  participantId: number | null;
  transferId: number | null;
}

export interface Transfer {
  status: string | null;
  at: string | null; // UTC ISO
  fromAgent: AgentRef | null;
  toAgent: AgentRef | null;
  fromMenu: MenuPath | null;
  toMenu: MenuPath | null;
}

export interface Escalation {
  status: string | null;
  reason: string | null;
  at: string | null; // UTC ISO (escalated_at ?? created_at)
  fromVirtualAgent: AgentRef | null;
  toAgent: AgentRef | null;
}

export interface SessionTimes {
  created: string | null;
  queued: string | null;
  assigned: string | null;
  connected: string | null;
  ended: string | null;
  scheduled: string | null;
  updated: string;
}

export interface SessionDurations {
  /** seconds in queue (`wait_duration`) */
  wait: number | null;
  /** `call_duration` or `chat_duration` */
  talk: number | null;
  hold: number | null;
  /** sum of `handle_durations[].acw_duration` */
  afterCallWork: number | null;
  /** talk + after-call work */
  handle: number | null;
}

/** A validated, normalised session metadata document. */
export interface Session {
  kind: SessionKind;
  id: number;
  /** `call-1418`, `chat-135`: the session's identity */
  key: string;
  /** `updated_at` normalised to UTC ISO-8601 with milliseconds: orders versions */
  version: string;
  /** `updated_at` as epoch milliseconds */
  versionMs: number;
  lang: string | null;
  /**
   * the UTC offset the file's times are written in (`created_at`, else `updated_at`), in minutes
   * east of UTC (`-07:00` is -420); null when they carry none
   */
  utcOffsetMinutes: number | null;
  /** raw label: session_type_v2 ?? session_type ?? call_type/chat_type */
  type: string;
  status: string | null;
  times: SessionTimes;
  durations: SessionDurations;
  ticket: { id: string | null; url: string | null; isAccount: boolean };
  answerType: string | null;
  /** human agents, first-handled first, de-duplicated (agent_info, else participants, else dispositions) */
  agents: AgentRef[];
  virtualAgents: AgentRef[];
  dispositions: Disposition[];
  csat: { rating: number | null; comment: string | null; hasFeedback: boolean };
  recording: { url: string | null; permission: string | null };
  menuPath: MenuPath | null;
  selectedMenu: string | null;
  queuePriority: number | null;
  supportNumber: string | null;
  outboundNumber: string | null;
  transfers: Transfer[];
  escalations: Escalation[];
  deflection: string | null;
  deflectionDetails: string[];
  voicemailReason: string | null;
  disconnectedBy: string | null;
  failReason: string | null;
  participants: { agents: number; endUsers: number; virtualAgents: number; others: number };
  smartActions: { verified: boolean | null; photos: number; videos: number; text: string | null };
  sms: { inCall: number; waitTime: number };
  /** the end user: their CRM record (`end_user.out_contact_id`), name and e-mail where the file has them */
  customer: { crmId: string | null; name: string | null; email: string | null };
  /** chats: `message_count`, `average_response_time` and `longest_response_time` (seconds) */
  chat: { messages: number | null; averageResponse: number | null; longestResponse: number | null };
  /** what CCAI stores beside the metadata: a transcript (`transcript`), recordings (`recordings[]`) */
  media: { transcript: boolean | null; recordings: number };
  /** `custom_data_not_secured` as label/value pairs */
  customData: Array<{ label: string; value: string }>;
  /** `custom_data_secured`: never written or logged unless the admin opts in */
  securedCustomData: Array<{ label: string; value: string }>;
  /** the whole parsed document, unknown keys included */
  raw: Record<string, unknown>;
}

export interface InputProblem {
  code: ErrorCode;
  /** dotted path of the field, when the problem is about one */
  field?: string;
  /** human-readable, names the field and what was found */
  message: string;
}

/**
 * A value the parser corrected or dropped rather than rejecting the document: a CSAT rating
 * out of range, a negative duration, a number it could not read, a ticket URL ignored in
 * favour of the id. Shown wherever the document's outcome is (run --json, status, the log, the
 * HTTP answer), so nothing is changed silently.
 */
export interface InputWarning {
  /** dotted path of the field (`handle_durations[0].acw_duration`) */
  field: string;
  /** what was found and what was done with it */
  message: string;
}

export type ParseResult =
  | { ok: true; session: Session; /** tolerated drift, e.g. a coerced type or an ignored bad optional timestamp */ warnings: InputWarning[] }
  | { ok: false; problem: InputProblem };

export type CrmSystem =
  | 'salesforce'
  | 'zendesk'
  | 'freshdesk'
  | 'servicenow'
  | 'dynamics365'
  | 'generic';

export interface TicketRef {
  system: CrmSystem;
  /** normalised id: Salesforce 18-char, Zendesk/Freshdesk number as string, ServiceNow sys_id or number, Dynamics GUID lower-case */
  id: string;
  /** the record's URL when the file gave one */
  url: string | null;
  /** sObject or table when known (`Case`, `incident`) */
  object: string | null;
  /** true when is_out_ticket_account: the record is the customer's account */
  isAccount: boolean;
}

export type TicketMatch =
  | { outcome: 'matched'; ticket: TicketRef; warnings: InputWarning[] }
  | { outcome: 'no-ticket'; reason: string }
  | {
      outcome: 'invalid';
      code: 'TICKET_MISMATCH' | 'TICKET_HOST_NOT_ALLOWED' | 'TICKET_INVALID_ID';
      field: string;
      reason: string;
    };

export type FieldValue = string | number | boolean | null;

/** What should be written on the ticket for one session version. */
export interface Enrichment {
  ticket: TicketRef;
  sessionKey: string;
  version: string;
  /** latest-state fields for the record, keyed by stable names (see enrich/fields.ts) */
  fields: Record<string, FieldValue>;
  /** the data the note templates render; every string in it is user text, escaped on output */
  view: Record<string, unknown>;
  /** field values cut to their size limit (`fields.disposition_notes`) */
  warnings: InputWarning[];
}

/**
 * What a target writes besides the note: the enrichment without its `view` (the template
 * data, used up once the note is rendered) and its warnings. Small enough to pass between threads.
 */
export type TicketUpdate = Omit<Enrichment, 'view' | 'warnings'>;

export interface RenderedNote {
  subject: string;
  text: string;
  html: string;
}
