// Builds `Session` objects for tests. The default is the real fixture
// test/fixtures/sessions/metadata_call-1418.json as the parser normalises it (times in UTC,
// agents from agent_info, after-call work summed over handle_durations); `buildChatSession`
// is metadata_chat-135.json. Override any part; nested objects merge, lists replace:
//
//   buildSession({ csat: { rating: null }, recording: { permission: 'denied' } })
import { readFileSync } from 'node:fs';
import type { AgentRef, Disposition, MenuPath, Session, TicketRef, Transfer, Escalation } from '../../src/domain/types.ts';

const FIXTURES = new URL('../fixtures/sessions/', import.meta.url);

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as Record<string, unknown>;
}

/** Overrides: any part of a Session; plain objects merge deeply, arrays and null replace. */
export type SessionOverrides = {
  [K in keyof Session]?: Session[K] extends unknown[] | null
    ? Session[K]
    : Session[K] extends object
      ? { [P in keyof Session[K]]?: Session[K][P] }
      : Session[K];
};

export const JANE: AgentRef = { id: 5, name: 'Jane Smith', email: 'jane.smith@example.com', virtual: false };
export const ESCALATION_VA: AgentRef = { id: 6, name: 'ccaas_escalation_va', email: null, virtual: true };

export function agent(name: string, id: number, email: string | null = null): AgentRef {
  return { id, name, email, virtual: false };
}

export function virtualAgent(name: string, id: number): AgentRef {
  return { id, name, email: null, virtual: true };
}

export function menu(name: string, id: string): MenuPath {
  return { name, id };
}

export function disposition(over: Partial<Disposition> = {}): Disposition {
  return {
    code: 'Resolved',
    note: null,
    list: 'Inbound IVR dispostions',
    listPath: 'Inbound IVR dispostions',
    agent: JANE,
    participantId: null,
    transferId: null,
    ...over,
  };
}

export function transfer(over: Partial<Transfer> = {}): Transfer {
  return {
    status: 'transferred',
    at: '2026-03-23T20:15:03.000Z',
    fromAgent: JANE,
    toAgent: JANE,
    fromMenu: menu('va-escalation_menu_id', '4'),
    toMenu: menu('menu-path-test/optional-dispositions_menu-8', '6/8'),
    ...over,
  };
}

export function escalation(over: Partial<Escalation> = {}): Escalation {
  return {
    status: 'escalated',
    reason: 'by_virtual_agent',
    at: '2026-03-23T20:14:38.000Z',
    fromVirtualAgent: ESCALATION_VA,
    toAgent: JANE,
    ...over,
  };
}

/** call-1418, normalised. */
export function call1418(): Session {
  return {
    kind: 'call',
    id: 1418,
    key: 'call-1418',
    version: '2026-03-23T20:16:58.000Z',
    versionMs: Date.parse('2026-03-23T20:16:58.000Z'),
    lang: 'en',
    utcOffsetMinutes: -420,
    type: 'Voice Inbound (IVR)',
    status: 'finished',
    times: {
      created: '2026-03-23T20:12:51.000Z',
      queued: '2026-03-23T20:14:28.000Z',
      assigned: '2026-03-23T20:14:31.000Z',
      connected: '2026-03-23T20:13:36.000Z',
      ended: '2026-03-23T20:16:46.000Z',
      scheduled: null,
      updated: '2026-03-23T20:16:58.000Z',
    },
    // acw: 0 + 8 + 0 + 6 over handle_durations; handle = call_duration + acw
    durations: { wait: 27, talk: 126, hold: 5, afterCallWork: 14, handle: 140 },
    ticket: {
      id: '500ak000024vx4uAAA',
      url: 'https://crm.example.com/lightning/r/Case/500ak000024vx4uAAA/view',
      isAccount: false,
    },
    answerType: 'manual',
    agents: [JANE],
    virtualAgents: [ESCALATION_VA],
    dispositions: [
      disposition({
        code: 'No Resolution - followup needed',
        note: 'notes',
        list: 'Inbound IVR dispostions',
        listPath: 'Inbound IVR dispostions',
        participantId: 2917,
        transferId: null,
      }),
      disposition({
        code: 'key_1',
        note: null,
        list: 'dispositions_1',
        listPath: 'dispositions_1',
        participantId: 2918,
        transferId: 12,
      }),
    ],
    csat: { rating: 5, comment: null, hasFeedback: false },
    recording: {
      url: 'https://crm.example.com/sfc/servlet.shepherd/version/download/068ak00000HCpbFAAT',
      permission: 'not_asked',
    },
    menuPath: menu('menu-path-test/optional-dispositions_menu-8', '6/8'),
    selectedMenu: 'optional-dispositions_menu-8',
    queuePriority: 0,
    supportNumber: '+15550100300',
    outboundNumber: null,
    transfers: [transfer()],
    escalations: [escalation()],
    deflection: 'no_deflection',
    deflectionDetails: [],
    voicemailReason: 'not_voicemail',
    disconnectedBy: 'disconnected_by_agent',
    failReason: 'nothing',
    participants: { agents: 1, endUsers: 1, virtualAgents: 2, others: 0 },
    smartActions: { verified: false, photos: 0, videos: 0, text: null },
    sms: { inCall: 0, waitTime: 0 },
    customer: { crmId: '003ak00000ipFq5AAE', name: null, email: null },
    chat: { messages: null, averageResponse: null, longestResponse: null },
    media: { transcript: null, recordings: 1 },
    customData: [],
    securedCustomData: [],
    raw: fixture('metadata_call-1418.json'),
  };
}

/** chat-135, normalised: no CRM ticket id, no recording, custom data. */
export function chat135(): Session {
  return {
    kind: 'chat',
    id: 135,
    key: 'chat-135',
    version: '2025-09-09T20:51:23.000Z',
    versionMs: Date.parse('2025-09-09T20:51:23.000Z'),
    lang: 'en',
    utcOffsetMinutes: -420,
    type: 'Messaging Inbound (Web Chat)',
    status: 'finished',
    times: {
      created: '2025-09-09T20:50:05.000Z',
      queued: null,
      assigned: '2025-09-09T20:50:10.000Z',
      connected: null,
      ended: '2025-09-09T20:51:11.000Z',
      scheduled: null,
      updated: '2025-09-09T20:51:23.000Z',
    },
    durations: { wait: 5, talk: 59, hold: null, afterCallWork: 0, handle: 59 },
    ticket: {
      id: null,
      url: 'https://media.ccaiplatform.com/v1/download/88900e6a-76cd-449d-87c6-0524afdbf877',
      isAccount: false,
    },
    answerType: 'manual',
    agents: [JANE],
    virtualAgents: [],
    dispositions: [],
    csat: { rating: null, comment: null, hasFeedback: false },
    recording: { url: null, permission: null },
    menuPath: menu('web_3', '12'),
    selectedMenu: 'web_3',
    queuePriority: null,
    supportNumber: null,
    outboundNumber: null,
    transfers: [],
    escalations: [],
    deflection: null,
    deflectionDetails: [],
    voicemailReason: null,
    disconnectedBy: null,
    failReason: null,
    participants: { agents: 1, endUsers: 1, virtualAgents: 0, others: 0 },
    smartActions: { verified: false, photos: 0, videos: 0, text: null },
    sms: { inCall: 0, waitTime: 0 },
    customer: { crmId: null, name: null, email: 'customer@example.com' },
    chat: { messages: 2, averageResponse: 0, longestResponse: 0 },
    media: { transcript: false, recordings: 0 },
    customData: [
      { label: 'CustomDataOne', value: 'test1' },
      { label: 'CustomDataTwo', value: 'test2' },
      { label: 'CustomDataThree', value: 'test3' },
      { label: 'CustomAppID', value: 'ccaip-incub-stg' },
    ],
    securedCustomData: [],
    raw: fixture('metadata_chat-135.json'),
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge<T>(base: T, over: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(over)) return (over === undefined ? base : over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = isPlainObject(v) && isPlainObject(out[k]) && k !== 'raw' ? merge(out[k], v) : v;
  }
  return out as T;
}

/** Keeps key/version consistent with kind/id/times.updated unless they are overridden. */
function finish(base: Session, over: SessionOverrides): Session {
  const s = merge(base, over);
  if (over.key === undefined) s.key = `${s.kind}-${s.id}`;
  if (over.version === undefined && over.times?.updated !== undefined) s.version = s.times.updated;
  if (over.versionMs === undefined) s.versionMs = Date.parse(s.version);
  return s;
}

/** A call session: call-1418 normalised, with overrides. */
export function buildSession(over: SessionOverrides = {}): Session {
  return finish(call1418(), over);
}

/** A chat session: chat-135 normalised, with overrides. */
export function buildChatSession(over: SessionOverrides = {}): Session {
  return finish(chat135(), over);
}

/** The Salesforce Case call-1418 points at. */
export function buildTicket(over: Partial<TicketRef> = {}): TicketRef {
  return {
    system: 'salesforce',
    id: '500ak000024vx4uAAA',
    url: 'https://crm.example.com/lightning/r/Case/500ak000024vx4uAAA/view',
    object: 'Case',
    isAccount: false,
    ...over,
  };
}
