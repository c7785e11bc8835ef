import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { enrich } from '../../src/domain/enrich/enrich.ts';
import { DEFAULT_ENRICH_OPTIONS } from '../../src/domain/enrich/options.ts';
import { FIELD_NAMES } from '../../src/domain/enrich/fields.ts';
import { formatDuration, formatTime, stars } from '../../src/domain/enrich/format.ts';
import type { EnrichOptions } from '../../src/domain/enrich/options.ts';
import type { Session } from '../../src/domain/types.ts';
import {
  ESCALATION_VA,
  JANE,
  agent,
  buildChatSession,
  buildSession,
  buildTicket,
  disposition,
  escalation,
  menu,
  transfer,
  virtualAgent,
} from '../helpers/session-builder.ts';

type View = Record<string, any>;

function view(s: Session, opts?: EnrichOptions): View {
  return enrich(s, buildTicket(), opts).view as View;
}

function fields(s: Session, opts?: EnrichOptions) {
  return enrich(s, buildTicket(), opts).fields;
}

/** A session carrying everything the view can show. */
function everything(): Session {
  return buildSession({
    status: 'voicemail',
    times: { scheduled: '2026-03-24T09:00:00.000Z' },
    outboundNumber: '+15550100200',
    queuePriority: 2,
    csat: { rating: 3, comment: 'Quick.\nThanks' },
    deflection: 'after_hours_message_only',
    deflectionDetails: ['voicemail'],
    voicemailReason: 'after_hours',
    failReason: 'no_answer',
    smartActions: { verified: true, photos: 2, videos: 1, text: 'order 1234' },
    sms: { inCall: 1, waitTime: 2 },
    customData: [{ label: 'Plan', value: 'Gold' }],
    securedCustomData: [{ label: 'SSN', value: '123-45-6789' }],
  });
}

describe('enrich: fields of call-1418', () => {
  it('gives the latest state of the session under the stable field names', () => {
    const e = enrich(buildSession(), buildTicket());
    assert.equal(e.sessionKey, 'call-1418');
    assert.equal(e.version, '2026-03-23T20:16:58.000Z');
    assert.equal(e.ticket.id, '500ak000024vx4uAAA');
    assert.deepEqual(e.fields, {
      session_key: 'call-1418',
      session_version: '2026-03-23T20:16:58.000Z',
      session_kind: 'call',
      session_type: 'Voice Inbound (IVR)',
      status: 'finished',
      lang: 'en',
      started_at: '2026-03-23T20:12:51.000Z',
      ended_at: '2026-03-23T20:16:46.000Z',
      answer_type: 'manual',
      agents: 'Jane Smith',
      last_disposition: 'key_1',
      dispositions: 'No Resolution - followup needed; key_1',
      disposition_notes: 'No Resolution - followup needed: notes',
      csat_rating: 5,
      csat_comment: null,
      recording_url: 'https://crm.example.com/sfc/servlet.shepherd/version/download/068ak00000HCpbFAAT',
      recording_permission: 'not_asked',
      handle_seconds: 140,
      talk_seconds: 126,
      wait_seconds: 27,
      hold_seconds: 5,
      acw_seconds: 14,
      menu_path: 'menu-path-test/optional-dispositions_menu-8',
      menu_path_id: '6/8',
      queue_priority: 0,
      transfer_count: 1,
      escalated: true,
      support_number: '+15550100300',
      outbound_number: null,
      deflection: 'no_deflection',
      disconnected_by: 'disconnected_by_agent',
    });
  });

  it('always has exactly the documented field names, in order, null when the file lacks a value', () => {
    const f = fields(buildChatSession());
    assert.deepEqual(Object.keys(f), [...FIELD_NAMES]);
    assert.equal(f.csat_rating, null);
    assert.equal(f.recording_url, null);
    assert.equal(f.dispositions, null);
    assert.equal(f.last_disposition, null);
    assert.equal(f.disposition_notes, null);
    assert.equal(f.transfer_count, 0);
    assert.equal(f.escalated, false);
  });

  it('fills every field when the file carries everything', () => {
    const f = fields(everything());
    for (const name of FIELD_NAMES) assert.notEqual(f[name], null, `${name} should be filled`);
  });

  it('uses the default options when none are given', () => {
    assert.deepEqual(DEFAULT_ENRICH_OPTIONS, { recordingLink: 'unless-denied', includeSecuredCustomData: false });
    assert.deepEqual(enrich(everything(), buildTicket()), enrich(everything(), buildTicket(), DEFAULT_ENRICH_OPTIONS));
  });

  it('is deterministic and leaves the session untouched', () => {
    const s = buildSession();
    const before = structuredClone(s);
    const a = enrich(s, buildTicket());
    const b = enrich(s, buildTicket());
    assert.deepEqual(a, b);
    assert.deepEqual(s, before);
  });
});

describe('enrich: the view of call-1418', () => {
  const v = view(buildSession());

  it('names the session and gives times in UTC, ISO and readable', () => {
    assert.deepEqual(v.session, {
      key: 'call-1418',
      kind: 'call',
      kind_label: 'Call',
      id: 1418,
      type: 'Voice Inbound (IVR)',
      status: 'finished',
      status_label: 'finished',
      lang: 'en',
      utc_offset_minutes: -420,
    });
    assert.deepEqual(v.times.created, { iso: '2026-03-23T20:12:51.000Z', human: '2026-03-23 20:12:51 UTC' });
    assert.equal(v.times.ended.human, '2026-03-23 20:16:46 UTC');
    assert.equal(v.times.updated.iso, '2026-03-23T20:16:58.000Z');
    assert.equal('scheduled' in v.times, false, 'scheduled_at is null in the file');
  });

  it('gives durations in seconds and readable form', () => {
    assert.deepEqual(v.durations.talk, { seconds: 126, human: '2m 06s' });
    assert.deepEqual(v.durations.handle, { seconds: 140, human: '2m 20s' });
    assert.deepEqual(v.durations.wait, { seconds: 27, human: '27s' });
    assert.deepEqual(v.durations.hold, { seconds: 5, human: '5s' });
    assert.deepEqual(v.durations.after_call_work, { seconds: 14, human: '14s' });
  });

  it('lists the human and virtual agents and the answer type', () => {
    assert.equal(v.answer_type, 'manual');
    assert.equal(v.answer_type_label, 'human agent');
    assert.deepEqual(v.agents, [{ name: 'Jane Smith', named: true, id: 5, email: 'jane.smith@example.com' }]);
    assert.equal(v.agent_names, 'Jane Smith');
    assert.equal(v.virtual_agent_names, 'ccaas_escalation_va');
  });

  it('lists every disposition with its note, list, agent, leg and whether it followed a transfer', () => {
    assert.equal(v.dispositions.length, 2);
    assert.deepEqual(v.dispositions[0], {
      leg: 1,
      code: 'No Resolution - followup needed',
      note: 'notes',
      note_lines: ['notes'],
      list: 'Inbound IVR dispostions',
      list_path: 'Inbound IVR dispostions',
      agent: 'Jane Smith',
      after_transfer: false,
    });
    assert.equal(v.dispositions[1].code, 'key_1');
    assert.equal(v.dispositions[1].after_transfer, true);
    assert.equal(v.dispositions[1].transfer_id, 12);
    assert.equal('note' in v.dispositions[1], false, 'the second leg has no note');
    assert.equal(v.disposition_codes, 'No Resolution - followup needed; key_1');
    assert.equal(v.last_disposition.code, 'key_1');
  });

  it('shows CSAT as a score and stars', () => {
    assert.deepEqual(v.csat, { rating: 5, out_of: 5, stars: '★★★★★' });
  });

  it('links the recording (permission not asked, default policy)', () => {
    assert.deepEqual(v.recording, {
      url: 'https://crm.example.com/sfc/servlet.shepherd/version/download/068ak00000HCpbFAAT',
      permission: 'not_asked',
      permission_label: 'not asked',
    });
  });

  it('gives the menu path with its leaf and id, the selected menu, priority and support number', () => {
    assert.deepEqual(v.routing, {
      menu_path: { name: 'menu-path-test/optional-dispositions_menu-8', id: '6/8', leaf: 'optional-dispositions_menu-8' },
      selected_menu: 'optional-dispositions_menu-8',
      queue_priority: 0,
      support_number: '+15550100300',
    });
  });

  it('describes the transfer and the virtual agent escalation', () => {
    assert.equal(v.transfers.length, 1);
    assert.equal(v.transfers[0].from, 'Jane Smith (va-escalation_menu_id)');
    assert.equal(v.transfers[0].to, 'Jane Smith (menu-path-test/optional-dispositions_menu-8)');
    assert.equal(v.transfers[0].to_menu.leaf, 'optional-dispositions_menu-8');
    assert.equal(v.transfers[0].at.human, '2026-03-23 20:15:03 UTC');
    assert.deepEqual(v.escalations, [
      {
        from: 'ccaas_escalation_va',
        to: 'Jane Smith',
        reason: 'by_virtual_agent',
        reason_label: 'by virtual agent',
        status: 'escalated',
        status_label: 'escalated',
        at: { iso: '2026-03-23T20:14:38.000Z', human: '2026-03-23 20:14:38 UTC' },
      },
    ]);
  });

  it('leaves out "nothing happened" values: no_deflection, not_voicemail, nothing', () => {
    assert.deepEqual(v.outcome, { disconnected_by: 'disconnected_by_agent', disconnected_by_label: 'agent' });
  });

  it('counts participants and carries the ticket', () => {
    assert.deepEqual(v.participants, { agents: 1, end_users: 1, virtual_agents: 2, others: 0, total: 4 });
    assert.deepEqual(v.ticket, {
      system: 'salesforce',
      system_label: 'Salesforce',
      id: '500ak000024vx4uAAA',
      url: 'https://crm.example.com/lightning/r/Case/500ak000024vx4uAAA/view',
      object: 'Case',
      is_account: false,
    });
  });

  it("links the customer's Contact on the Case's Salesforce, and names the recording file CCAI stores", () => {
    assert.deepEqual(v.customer, {
      crm_id: '003ak00000ipFq5AAE',
      crm_object: 'Contact',
      url: 'https://crm.example.com/lightning/r/Contact/003ak00000ipFq5AAE/view',
    });
    assert.deepEqual(v.files, { recording: 'call-1418', recordings: 1 });
    assert.equal('chat' in v, false, 'a call has no chat counts');
  });

  it('omits what the file does not carry: no empty strings or lists anywhere', () => {
    for (const key of ['sms', 'custom_data', 'secured_custom_data']) assert.equal(key in v, false, key);
    const walk = (x: unknown, path: string): void => {
      if (Array.isArray(x)) {
        assert.notEqual(x.length, 0, `${path} is an empty list`);
        x.forEach((y, i) => walk(y, `${path}[${i}]`));
      } else if (x !== null && typeof x === 'object') {
        assert.notEqual(Object.keys(x).length, 0, `${path} is an empty object`);
        for (const [k, y] of Object.entries(x)) walk(y, path ? `${path}.${k}` : k);
      } else {
        assert.notEqual(x, '', `${path} is an empty string`);
        assert.notEqual(x, null, `${path} is null`);
      }
    };
    walk(v, '');
  });
});

describe('enrich: variants', () => {
  it('no CSAT: no csat section, null rating and comment', () => {
    const s = buildSession({ csat: { rating: null, comment: null } });
    assert.equal('csat' in view(s), false);
    assert.equal(fields(s).csat_rating, null);
    assert.equal(fields(s).csat_comment, null);
  });

  it('CSAT with a comment: rating, stars and the comment (also as lines)', () => {
    const s = buildSession({ csat: { rating: 2, comment: 'Took too long.\r\nSecond call.' } });
    const v = view(s);
    assert.equal(v.csat.stars, '★★☆☆☆');
    assert.equal(v.csat.comment, 'Took too long.\nSecond call.');
    assert.deepEqual(v.csat.comment_lines, ['Took too long.', 'Second call.']);
    assert.equal(fields(s).csat_comment, 'Took too long.\nSecond call.');
  });

  it('a comment without a rating still shows the comment', () => {
    const v = view(buildSession({ csat: { rating: null, comment: 'no score given' } }));
    assert.deepEqual(v.csat, { comment: 'no score given', comment_lines: ['no score given'] });
  });

  it('recording denied: the link is withheld and the note says why', () => {
    const s = buildSession({ recording: { permission: 'denied' } });
    const v = view(s);
    assert.equal(v.recording.url, undefined);
    assert.equal(v.recording.withheld, 'withheld: the caller denied recording');
    assert.equal(v.recording.permission, 'denied');
    assert.equal(fields(s).recording_url, null);
    assert.equal(fields(s).recording_permission, 'denied');
  });

  it('granted-only: links a granted recording, withholds a not-asked one', () => {
    const opts: EnrichOptions = { recordingLink: 'granted-only', includeSecuredCustomData: false };
    const granted = buildSession({ recording: { permission: 'granted' } });
    assert.equal(fields(granted, opts).recording_url, granted.recording.url);
    const notAsked = buildSession();
    assert.equal(fields(notAsked, opts).recording_url, null);
    assert.match(view(notAsked, opts).recording.withheld, /^withheld: recording permission was "not asked"/);
    const unknown = buildSession({ recording: { permission: null } });
    assert.match(view(unknown, opts).recording.withheld, /^withheld: /);
    assert.equal(fields(unknown, opts).recording_url, null);
  });

  it('never: no recording link at all', () => {
    const opts: EnrichOptions = { recordingLink: 'never', includeSecuredCustomData: false };
    const s = buildSession({ recording: { permission: 'granted' } });
    assert.equal(fields(s, opts).recording_url, null);
    assert.match(view(s, opts).recording.withheld, /^withheld: recording links are turned off/);
  });

  it('never writes a non-http(s) recording link', () => {
    const s = buildSession({ recording: { url: 'javascript:alert(1)', permission: 'granted' } });
    assert.equal(fields(s).recording_url, null);
    assert.equal(view(s).recording.url, undefined);
    assert.match(view(s).recording.withheld, /not an http\(s\) address/);
  });

  it('virtual agent only: no human agents, answer type virtual agent, not escalated', () => {
    const s = buildSession({
      answerType: 'virtual_agent',
      agents: [],
      virtualAgents: [virtualAgent('billing_bot', 9)],
      dispositions: [],
      transfers: [],
      escalations: [],
    });
    const v = view(s);
    assert.equal('agents' in v, false);
    assert.equal(v.answer_type_label, 'virtual agent');
    assert.equal(v.virtual_agent_names, 'billing_bot');
    assert.equal(fields(s).agents, null);
    assert.equal(fields(s).escalated, false);
  });

  it('virtual agent then two humans: both agents, the escalation and each leg', () => {
    const bob = agent('Bob Jones', 7);
    const s = buildSession({
      agents: [JANE, bob],
      virtualAgents: [ESCALATION_VA],
      escalations: [escalation({ reason: 'customer_requested' })],
      dispositions: [
        disposition({ code: 'Billing', note: 'refund issued', agent: JANE }),
        disposition({ code: 'Follow-up', note: 'call back Monday', agent: bob, transferId: 31 }),
      ],
    });
    const f = fields(s);
    assert.equal(f.agents, 'Jane Smith, Bob Jones');
    assert.equal(f.escalated, true);
    assert.equal(f.last_disposition, 'Follow-up');
    assert.equal(f.disposition_notes, 'Billing: refund issued\nFollow-up: call back Monday');
    const v = view(s);
    assert.equal(v.escalations[0].reason_label, 'customer requested');
    assert.equal(v.dispositions[1].agent, 'Bob Jones');
    assert.equal(v.dispositions[1].after_transfer, true);
  });

  it('several transfers: counted and described in order, agent or menu', () => {
    const bob = agent('Bob Jones', 7);
    const s = buildSession({
      transfers: [
        transfer(),
        transfer({ fromAgent: JANE, toAgent: bob, fromMenu: null, toMenu: null, at: '2026-03-23T20:15:30.000Z' }),
        transfer({ fromAgent: bob, toAgent: null, fromMenu: null, toMenu: menu('support/billing', '2/9'), status: 'failed' }),
      ],
    });
    assert.equal(fields(s).transfer_count, 3);
    const t = view(s).transfers;
    assert.deepEqual(
      t.map((x: View) => `${x.from} -> ${x.to}`),
      [
        'Jane Smith (va-escalation_menu_id) -> Jane Smith (menu-path-test/optional-dispositions_menu-8)',
        'Jane Smith -> Bob Jones',
        'Bob Jones -> support/billing',
      ],
    );
    assert.equal(t[2].status_label, 'failed');
    assert.equal(t[2].to_menu.leaf, 'billing');
  });

  it('chat: chat kind and duration, no recording or dispositions, custom data shown', () => {
    const s = buildChatSession();
    const f = fields(s);
    assert.equal(f.session_kind, 'chat');
    assert.equal(f.session_key, 'chat-135');
    assert.equal(f.talk_seconds, 59);
    assert.equal(f.session_type, 'Messaging Inbound (Web Chat)');
    const v = view(s);
    assert.equal(v.session.kind_label, 'Chat');
    for (const key of ['recording', 'dispositions', 'csat', 'transfers', 'escalations', 'outcome', 'last_disposition']) {
      assert.equal(key in v, false, `${key} should be omitted`);
    }
    assert.deepEqual(v.custom_data[0], { label: 'CustomDataOne', value: 'test1', value_lines: ['test1'] });
    assert.equal(v.custom_data.length, 4);
    // messages counted; response times of 0 say nothing; no transcript (`transcript: false`)
    assert.deepEqual(v.chat, { messages: 2 });
    assert.equal('files' in v, false);
    assert.deepEqual(v.customer, { email: 'customer@example.com' });
  });

  it('chat: response times, and the transcript CCAI stores as chat-{id}.txt when the file says there is one', () => {
    const s = buildChatSession();
    s.chat = { messages: 14, averageResponse: 12, longestResponse: 40 };
    s.media = { transcript: true, recordings: 0 };
    const v = view(s);
    assert.deepEqual(v.chat, {
      messages: 14,
      average_response: { seconds: 12, human: '12s' },
      longest_response: { seconds: 40, human: '40s' },
    });
    assert.deepEqual(v.files, { transcript: 'chat-135.txt' });
  });

  it("names the session's files the storage listed beside it, exactly, over what the file implies", () => {
    const s = buildSession();
    const e = enrich(s, buildTicket(), undefined, ['call-1418.wav']);
    assert.deepEqual((e.view as View).files, { recording: 'call-1418', recording_files: ['call-1418.wav'], recordings: 1 });
    const chat = buildChatSession();
    const c = enrich(chat, buildTicket(), undefined, ['chat-135.txt', 'call-1418.wav']);
    assert.deepEqual((c.view as View).files, { transcript: 'chat-135.txt' }, 'only its own files; a chat has no recording');
  });

  it('links a customer only where the CRM and its address are known', () => {
    const s = buildSession();
    s.customer = { crmId: '001ak00000AbCdE', name: 'Ana Lima', email: null };
    assert.deepEqual(view(s).customer, {
      name: 'Ana Lima',
      crm_id: '001ak00000AbCdE',
      crm_object: 'Account',
      url: 'https://crm.example.com/lightning/r/Account/001ak00000AbCdEAAV/view',
    });
    const zendesk = enrich(s, { system: 'zendesk', id: '123', url: 'https://acme.zendesk.com/agent/tickets/123', object: null, isAccount: false });
    s.customer = { crmId: '9001', name: null, email: null };
    const z = enrich(s, { system: 'zendesk', id: '123', url: 'https://acme.zendesk.com/agent/tickets/123', object: null, isAccount: false });
    assert.equal((z.view as View).customer.url, 'https://acme.zendesk.com/agent/users/9001');
    assert.equal('url' in (zendesk.view as View).customer, false, 'a Salesforce id is no Zendesk user');
    const noUrl = enrich(s, { system: 'salesforce', id: '500ak000024vx4uAAA', url: null, object: 'Case', isAccount: false });
    assert.deepEqual((noUrl.view as View).customer, { crm_id: '9001' });
  });

  it('secured custom data is excluded by default, from the view and from everything written', () => {
    const e = enrich(everything(), buildTicket());
    assert.equal('secured_custom_data' in e.view, false);
    assert.doesNotMatch(JSON.stringify(e), /123-45-6789|SSN/);
    assert.deepEqual((e.view as View).custom_data, [{ label: 'Plan', value: 'Gold', value_lines: ['Gold'] }]);
  });

  it('secured custom data is in the view only when the admin opts in, and never in fields', () => {
    const e = enrich(everything(), buildTicket(), { recordingLink: 'unless-denied', includeSecuredCustomData: true });
    assert.deepEqual((e.view as View).secured_custom_data, [{ label: 'SSN', value: '123-45-6789', value_lines: ['123-45-6789'] }]);
    assert.doesNotMatch(JSON.stringify(e.fields), /123-45-6789/);
  });

  it('shows deflection, voicemail and failure when they say something happened', () => {
    const v = view(everything());
    assert.deepEqual(v.outcome, {
      deflection: 'after_hours_message_only',
      deflection_label: 'after hours message only',
      deflection_details: ['voicemail'],
      voicemail_reason: 'after_hours',
      voicemail_reason_label: 'after hours',
      disconnected_by: 'disconnected_by_agent',
      disconnected_by_label: 'agent',
      fail_reason: 'no_answer',
      fail_reason_label: 'no answer',
    });
  });

  it('shows Smart Actions, SMS, scheduled time and outbound number when present', () => {
    const v = view(everything());
    assert.deepEqual(v.smart_actions, { verified: true, photos: 2, videos: 1, text: 'order 1234', text_lines: ['order 1234'] });
    assert.deepEqual(v.sms, { in_call: 1, wait_time: 2 });
    assert.equal(v.times.scheduled.human, '2026-03-24 09:00:00 UTC');
    assert.equal(v.routing.outbound_number, '+15550100200');
  });

  it('cleans agent text: control characters removed, codes kept on one line', () => {
    const s = buildSession({
      dispositions: [
        disposition({ code: 'Callback\r\nBcc: victim@example.com', note: 'ring\u0007 twice\u001b[31m\nthen \u202Eevil' }),
      ],
      csat: { comment: 'ok\u0000' },
    });
    const f = fields(s);
    assert.equal(f.dispositions, 'Callback Bcc: victim@example.com');
    assert.equal(f.disposition_notes, 'Callback Bcc: victim@example.com: ring twice[31m then evil');
    assert.equal(f.csat_comment, 'ok');
    const v = view(s);
    assert.equal(v.dispositions[0].note, 'ring twice[31m\nthen evil');
    assert.doesNotMatch(JSON.stringify(v), /\\u0007|\\u001b|\\u0000|\u202E|\\r/);
  });

  it('last_disposition is the last leg that has a code', () => {
    const s = buildSession({ dispositions: [disposition({ code: 'Sale' }), disposition({ code: null, note: 'n/a' })] });
    assert.equal(fields(s).last_disposition, 'Sale');
    assert.equal(view(s).last_disposition.code, 'Sale');
    assert.equal(fields(s).disposition_notes, '(no code): n/a');
  });
});

describe('enrich: covers the product specification\'s list of the file\'s content', () => {
  // docs/session-metadata.md, "What the product's specification lists as the file's content":
  // each item, and where a template finds it when the file carries it.
  const SPEC: Array<[string, string[]]> = [
    ['language', ['session.lang']],
    ['session id', ['session.id', 'session.key']],
    ['session type', ['session.type']],
    ['status', ['session.status']],
    ['created, queued, assigned, connected, ended, scheduled and updated times', [
      'times.created.human', 'times.queued.human', 'times.assigned.human', 'times.connected.human',
      'times.ended.human', 'times.scheduled.human', 'times.updated.human',
    ]],
    ['handle time and hold duration', ['durations.handle.seconds', 'durations.hold.seconds']],
    ['answer type and the agents involved', ['answer_type', 'agents', 'virtual_agents']],
    ['OutTicket id and URL', ['ticket.id', 'ticket.url']],
    ['recording permission and URL', ['recording.permission', 'recording.url']],
    ['support number and outbound number', ['routing.support_number', 'routing.outbound_number']],
    ['menu path (leaf name) and menu path id', ['routing.menu_path.leaf', 'routing.menu_path.id']],
    ['queue priority', ['routing.queue_priority']],
    ['CSAT rating and comment', ['csat.rating', 'csat.comment']],
    ['Smart Actions', ['smart_actions.verified', 'smart_actions.photos', 'smart_actions.videos', 'smart_actions.text']],
    ['agent info', ['agents']],
    ['transfer info', ['transfers']],
    ['deflection info', ['outcome.deflection', 'outcome.deflection_details']],
    ['disposition codes and notes', ['dispositions', 'disposition_codes']],
    ['SMS during the call and wait-time SMS', ['sms.in_call', 'sms.wait_time']],
    ['participant count', ['participants.agents', 'participants.end_users', 'participants.others']],
  ];

  function at(v: unknown, path: string): unknown {
    return path.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as View)[k] : undefined), v);
  }

  it('every item is in the view of a session that carries it', () => {
    const v = view(everything(), { recordingLink: 'unless-denied', includeSecuredCustomData: false });
    // everything() denies nothing, so the recording link is shown
    for (const [item, where] of SPEC) {
      for (const path of where) assert.notEqual(at(v, path), undefined, `${item}: ${path} is missing`);
    }
    assert.equal(at(v, 'dispositions.0.note'), 'notes');
  });
});

describe('formatting helpers', () => {
  it('formats durations as h/m/s', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(59), '59s');
    assert.equal(formatDuration(60), '1m 00s');
    assert.equal(formatDuration(126), '2m 06s');
    assert.equal(formatDuration(3723), '1h 02m 03s');
  });

  it('formats times in UTC whatever offset they come with', () => {
    assert.deepEqual(formatTime('2026-03-23T13:12:51.000-07:00'), {
      iso: '2026-03-23T20:12:51.000Z',
      human: '2026-03-23 20:12:51 UTC',
    });
    assert.equal(formatTime(null), null);
  });

  it('draws CSAT stars on the 1–5 scale only', () => {
    assert.equal(stars(1), '★☆☆☆☆');
    assert.equal(stars(5), '★★★★★');
    assert.equal(stars(0), null);
    assert.equal(stars(6), null);
  });
});

describe('templates/README.md documents the enrichment', () => {
  const readme = readFileSync(new URL('../../templates/README.md', import.meta.url), 'utf8');

  function paths(v: unknown, prefix: string, out: Set<string>): Set<string> {
    if (Array.isArray(v)) {
      if (v.some((x) => typeof x === 'object' && x !== null)) for (const x of v) paths(x, `${prefix}[]`, out);
      else out.add(prefix);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) paths(x, prefix ? `${prefix}.${k}` : k, out);
    } else {
      out.add(prefix);
    }
    return out;
  }

  it('documents every field name as fields.<name>', () => {
    for (const name of FIELD_NAMES) assert.ok(readme.includes(`\`fields.${name}\``), `fields.${name} is not documented`);
  });

  it('documents every variable the view can hold', () => {
    const opted: EnrichOptions = { recordingLink: 'unless-denied', includeSecuredCustomData: true };
    const all = new Set<string>();
    paths(view(everything(), opted), '', all);
    paths(view(buildSession()), '', all);
    paths(view(buildSession({ recording: { permission: 'denied' } })), '', all);
    const chat = buildChatSession({ customer: { crmId: '003ak00000ipFq5AAE', name: 'Ana Lima', email: 'ana@example.com' } });
    chat.chat = { messages: 3, averageResponse: 4, longestResponse: 9 };
    chat.media = { transcript: true, recordings: 0 };
    paths(view(chat), '', all);
    assert.ok(all.size > 100, 'the samples exercise the whole view');
    for (const p of all) {
      // last_disposition.* has the keys of dispositions[], documented once
      const documented = p.startsWith('last_disposition.') ? '`last_disposition`' : `\`${p}\``;
      assert.ok(readme.includes(documented), `${p} is not documented in templates/README.md`);
    }
  });
});
