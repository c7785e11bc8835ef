import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DEFAULT_MAX_BYTES, parseSession, parseSessionKey, sessionKey } from '../../src/domain/session/parse.ts';
import type { AgentRef, InputProblem, InputWarning, Session } from '../../src/domain/types.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url);

function bytes(path: string): Buffer {
  return readFileSync(new URL(path, FIXTURES));
}

/** A fixture as a plain object, to build variants from. */
function doc(path: string): Record<string, any> {
  return JSON.parse(bytes(path).toString('utf8').replace(/^\uFEFF/, ''));
}

/** A document that must parse: its session, its warnings' messages, and the warnings whole (field and message). */
function ok(input: Uint8Array | string | Record<string, unknown>, opts?: { maxBytes?: number }): { session: Session; warnings: string[]; corrections: InputWarning[] } {
  const r = parseSession(typeof input === 'string' || input instanceof Uint8Array ? input : JSON.stringify(input), opts);
  if (!r.ok) assert.fail(`expected the document to parse, got ${r.problem.code}: ${r.problem.message}`);
  return { session: r.session, warnings: r.warnings.map((w) => w.message), corrections: r.warnings };
}

function rejected(input: Uint8Array | string | Record<string, unknown>, opts?: { maxBytes?: number }): InputProblem {
  const r = parseSession(typeof input === 'string' || input instanceof Uint8Array ? input : JSON.stringify(input), opts);
  if (r.ok) assert.fail(`expected the document to be rejected, it parsed as ${r.session.key}`);
  return r.problem;
}

const JANE: AgentRef = { id: 5, name: 'Jane Smith', email: 'jane.smith@example.com', virtual: false };
const BOB: AgentRef = { id: 7, name: 'Bob Jones', email: 'bob.jones@example.com', virtual: false };
const CAROL: AgentRef = { id: 8, name: 'Carol Diaz', email: 'carol.diaz@example.com', virtual: false };
const ESCALATION_VA: AgentRef = { id: 6, name: 'ccaas_escalation_va', email: null, virtual: true };
const TASK_VA: AgentRef = { id: 15, name: null, email: null, virtual: true };

describe('parseSession: the real call-1418 (Salesforce Case, escalation, transfer)', () => {
  const { session: s, warnings } = ok(bytes('sessions/metadata_call-1418.json'));

  it('is identified as call-1418 and versioned by updated_at in UTC', () => {
    assert.equal(s.kind, 'call');
    assert.equal(s.id, 1418);
    assert.equal(s.key, 'call-1418');
    assert.equal(s.version, '2026-03-23T20:16:58.000Z');
    assert.equal(s.versionMs, Date.UTC(2026, 2, 23, 20, 16, 58));
    assert.deepEqual(warnings, []);
  });

  it('keeps the labels as the file writes them', () => {
    assert.equal(s.lang, 'en');
    assert.equal(s.type, 'Voice Inbound (IVR)');
    assert.equal(s.status, 'finished');
    assert.equal(s.answerType, 'manual');
    assert.equal(s.deflection, 'no_deflection');
    assert.deepEqual(s.deflectionDetails, []);
    assert.equal(s.voicemailReason, 'not_voicemail');
    assert.equal(s.disconnectedBy, 'disconnected_by_agent');
    assert.equal(s.failReason, 'nothing');
  });

  it('converts every time from -07:00 to UTC', () => {
    assert.deepEqual(s.times, {
      created: '2026-03-23T20:12:51.000Z',
      queued: '2026-03-23T20:14:28.000Z',
      assigned: '2026-03-23T20:14:31.000Z',
      connected: '2026-03-23T20:13:36.000Z',
      ended: '2026-03-23T20:16:46.000Z',
      scheduled: null,
      updated: '2026-03-23T20:16:58.000Z',
    });
  });

  it('computes handle time as call duration plus after-call work (126 + 0+8+0+6 = 140)', () => {
    assert.deepEqual(s.durations, { wait: 27, talk: 126, hold: 5, afterCallWork: 14, handle: 140 });
  });

  it('reads the ticket link', () => {
    assert.deepEqual(s.ticket, {
      id: '500ak000024vx4uAAA',
      url: 'https://crm.example.com/lightning/r/Case/500ak000024vx4uAAA/view',
      isAccount: false,
    });
  });

  it('takes the human agent from agent_info and the virtual agents from participants and escalations', () => {
    assert.deepEqual(s.agents, [JANE]);
    // id 6 is named by the escalation; task virtual agent 15 appears only in participants
    assert.deepEqual(s.virtualAgents, [ESCALATION_VA, TASK_VA]);
  });

  it('reads one disposition per leg, with its code, note, list and agent', () => {
    assert.deepEqual(s.dispositions, [
      {
        code: 'No Resolution - followup needed',
        note: 'notes',
        list: 'Inbound IVR dispostions',
        listPath: 'Inbound IVR dispostions',
        agent: JANE,
        participantId: 2917,
        transferId: null,
      },
      {
        code: 'key_1',
        note: null, // the key is absent when the agent typed nothing
        list: 'dispositions_1',
        listPath: 'dispositions_1',
        agent: JANE,
        participantId: 2918,
        transferId: 12,
      },
    ]);
  });

  it('reads CSAT, recording, menu path and routing', () => {
    assert.deepEqual(s.csat, { rating: 5, comment: null, hasFeedback: false });
    assert.deepEqual(s.recording, {
      url: 'https://crm.example.com/sfc/servlet.shepherd/version/download/068ak00000HCpbFAAT',
      permission: 'not_asked',
    });
    assert.deepEqual(s.menuPath, { name: 'menu-path-test/optional-dispositions_menu-8', id: '6/8' });
    assert.equal(s.selectedMenu, 'optional-dispositions_menu-8');
    assert.equal(s.queuePriority, 0);
    assert.equal(s.supportNumber, '+15550100300');
    assert.equal(s.outboundNumber, null);
  });

  it('reads the transfer and the escalation with their agents, menus and UTC times', () => {
    assert.deepEqual(s.transfers, [
      {
        status: 'transferred',
        at: '2026-03-23T20:15:03.000Z',
        fromAgent: JANE,
        toAgent: JANE,
        fromMenu: { name: 'va-escalation_menu_id', id: '4' },
        toMenu: { name: 'menu-path-test/optional-dispositions_menu-8', id: '6/8' },
      },
    ]);
    assert.deepEqual(s.escalations, [
      { status: 'escalated', reason: 'by_virtual_agent', at: '2026-03-23T20:14:38.000Z', fromVirtualAgent: ESCALATION_VA, toAgent: JANE },
    ]);
  });

  it('counts participants by type, each person once (agent 5 took two legs), Smart Actions and SMS', () => {
    assert.deepEqual(s.participants, { agents: 1, endUsers: 1, virtualAgents: 2, others: 0 });
    assert.deepEqual(s.smartActions, { verified: false, photos: 0, videos: 0, text: null });
    assert.deepEqual(s.sms, { inCall: 0, waitTime: 0 });
    assert.deepEqual(s.customData, []);
    assert.deepEqual(s.securedCustomData, []);
  });

  it("keeps the file's UTC offset, the customer's CRM record and the recordings count", () => {
    assert.equal(s.utcOffsetMinutes, -420);
    assert.deepEqual(s.customer, { crmId: '003ak00000ipFq5AAE', name: null, email: null });
    assert.deepEqual(s.media, { transcript: null, recordings: 1 });
    assert.deepEqual(s.chat, { messages: null, averageResponse: null, longestResponse: null });
  });

  it('keeps the whole document as raw, and the caller phone number only there', () => {
    assert.deepEqual(s.raw, doc('sessions/metadata_call-1418.json'));
    const { raw: _raw, ...rest } = s;
    assert.doesNotMatch(JSON.stringify(rest), /\+15550100100/);
  });
});

describe('parseSession: the real call-987 (scheduled call) and chat-135 (no CRM record)', () => {
  it('reads call-987: scheduled time, outbound number, no dispositions', () => {
    const { session: s, warnings } = ok(bytes('sessions/metadata_call-987.json'));
    assert.equal(s.key, 'call-987');
    assert.equal(s.type, 'Voice Scheduled (API)');
    assert.equal(s.version, '2026-01-24T01:14:27.000Z'); // -08:00 crosses midnight UTC
    assert.equal(s.times.scheduled, '2026-01-24T01:14:00.000Z');
    assert.deepEqual(s.durations, { wait: 6, talk: 12, hold: 0, afterCallWork: 0, handle: 12 });
    assert.deepEqual(s.dispositions, []);
    assert.deepEqual(s.agents, [JANE]);
    assert.deepEqual(s.virtualAgents, []);
    assert.equal(s.outboundNumber, '+15550100200');
    assert.equal(s.supportNumber, null);
    assert.deepEqual(s.recording.permission, 'granted');
    assert.deepEqual(s.menuPath, { name: 'schedule_call', id: '70' });
    assert.equal(s.disconnectedBy, 'disconnected_by_end_user');
    assert.deepEqual(s.csat, { rating: null, comment: null, hasFeedback: false });
    assert.deepEqual(warnings, []);
  });

  it('reads chat-135: chat duration, no ticket id, custom data as label/value pairs', () => {
    const { session: s, warnings } = ok(bytes('sessions/metadata_chat-135.json'));
    assert.equal(s.kind, 'chat');
    assert.equal(s.key, 'chat-135');
    assert.equal(s.type, 'Messaging Inbound (Web Chat)');
    assert.equal(s.version, '2025-09-09T20:51:23.000Z');
    assert.equal(s.times.queued, null);
    assert.equal(s.times.connected, null);
    assert.deepEqual(s.durations, { wait: 5, talk: 59, hold: null, afterCallWork: 0, handle: 59 });
    assert.deepEqual(s.ticket, {
      id: null,
      url: 'https://media.ccaiplatform.com/v1/download/88900e6a-76cd-449d-87c6-0524afdbf877',
      isAccount: false,
    });
    assert.deepEqual(s.recording, { url: null, permission: null });
    assert.deepEqual(s.customData, [
      { label: 'CustomDataOne', value: 'test1' },
      { label: 'CustomDataTwo', value: 'test2' },
      { label: 'CustomDataThree', value: 'test3' },
      { label: 'CustomAppID', value: 'ccaip-incub-stg' },
    ]);
    assert.deepEqual(s.participants, { agents: 1, endUsers: 1, virtualAgents: 0, others: 0 });
    assert.equal(s.status, 'finished');
    assert.equal(s.failReason, null);
    assert.deepEqual(s.chat, { messages: 2, averageResponse: 0, longestResponse: 0 });
    assert.deepEqual(s.media, { transcript: false, recordings: 0 });
    // identifier and email are the customer's address; no CRM contact
    assert.deepEqual(s.customer, { crmId: null, name: null, email: 'customer@example.com' });
    assert.equal(s.utcOffsetMinutes, -420);
    assert.deepEqual(warnings, []);
  });
});

describe('parseSession: variants', () => {
  it('reads an abandoned call with no agent and no dispositions', () => {
    const { session: s } = ok(bytes('sessions/abandoned-call.json'));
    assert.equal(s.key, 'call-1501');
    assert.equal(s.status, 'failed');
    assert.equal(s.failReason, 'abandoned');
    assert.deepEqual(s.agents, []);
    assert.deepEqual(s.virtualAgents, []);
    assert.deepEqual(s.dispositions, []);
    assert.equal(s.times.assigned, null);
    assert.deepEqual(s.durations, { wait: 45, talk: 0, hold: 0, afterCallWork: null, handle: 0 });
    assert.equal(s.ticket.id, '500ak000024vy7QAAQ');
  });

  it('reads a voicemail with its deflection, labelling object deflection details by type', () => {
    const { session: s } = ok(bytes('sessions/voicemail-call.json'));
    assert.equal(s.status, 'voicemail');
    assert.equal(s.voicemailReason, 'after_hours');
    assert.equal(s.deflection, 'after_hours_message_only');
    assert.deepEqual(s.deflectionDetails, ['voicemail']);
    assert.deepEqual(s.agents, []);
    assert.equal(s.recording.url, 'https://crm.example.com/sfc/servlet.shepherd/version/download/068ak00000HVm1AAAT');
  });

  it('puts a virtual agent in agent_info (va_alias) among the virtual agents, not the agents', () => {
    const { session: s } = ok(bytes('sessions/virtual-agent-only-chat.json'));
    assert.equal(s.key, 'chat-201');
    assert.deepEqual(s.agents, []);
    assert.deepEqual(s.virtualAgents, [{ id: 9, name: 'Support Bot', email: null, virtual: true }]);
    assert.equal(s.answerType, 'virtual_agent');
    assert.deepEqual(s.participants, { agents: 0, endUsers: 1, virtualAgents: 1, others: 0 });
  });

  it('takes the agents from participants when agent_info is absent (virtual and human agents)', () => {
    const { session: s } = ok(bytes('sessions/virtual-agent-and-human-call.json'));
    assert.deepEqual(s.agents, [JANE, BOB]);
    assert.deepEqual(s.virtualAgents, [ESCALATION_VA, TASK_VA]);
    assert.deepEqual(s.dispositions.map((d) => d.agent), [JANE, BOB]);
    assert.equal(s.dispositions[1]!.note, 'warm transfer from Jane; billing question answered');
    assert.deepEqual(s.transfers[0]!.toAgent, BOB);
    assert.deepEqual(s.escalations[0]!.toAgent, JANE);
  });

  it('falls back to dispositions[].user_id when neither agent_info nor participants name an agent', () => {
    const d = doc('sessions/virtual-agent-and-human-call.json');
    d.participants = null;
    const named = ok(d).session;
    // ids from the dispositions, names completed from the transfer and the escalation
    assert.deepEqual(named.agents, [JANE, BOB]);

    d.transfers = [];
    d.escalations = [];
    const bare = ok(d).session;
    assert.deepEqual(bare.agents, [
      { id: 5, name: null, email: null, virtual: false },
      { id: 7, name: null, email: null, virtual: false },
    ]);
  });

  it('reads several transfers and resolves each leg disposition to its agent', () => {
    const { session: s } = ok(bytes('sessions/several-transfers-call.json'));
    assert.deepEqual(
      s.transfers.map((t) => [t.status, t.at, t.fromAgent?.name ?? null, t.toAgent?.name ?? null, t.toMenu?.id ?? null]),
      [
        ['transferred', '2026-03-25T17:03:00.000Z', 'Jane Smith', 'Bob Jones', '6/9'],
        ['transferred', '2026-03-25T17:06:10.000Z', 'Bob Jones', 'Carol Diaz', '6/9/11'],
        ['failed', '2026-03-25T17:11:05.000Z', 'Carol Diaz', null, '6/12'],
      ],
    );
    // Carol's participant record has no name or e-mail: the transfer to her supplies them
    assert.deepEqual(s.dispositions.map((d) => d.agent), [JANE, BOB, CAROL]);
    assert.deepEqual(s.dispositions.map((d) => d.transferId), [null, 21, 22]);
    assert.deepEqual(s.dispositions.map((d) => d.note), [
      'customer asked about a double charge',
      'refund over my limit, sent to Carol',
      'refund of $42.00 approved',
    ]);
    // agent_info is present: it is the session's agent
    assert.deepEqual(s.agents, [JANE]);
    assert.deepEqual(s.durations, { wait: 10, talk: 687, hold: 42, afterCallWork: 65, handle: 752 });
    assert.deepEqual(s.participants, { agents: 3, endUsers: 1, virtualAgents: 0, others: 0 });
  });

  it('reads a Zendesk ticket link', () => {
    const { session: s } = ok(bytes('sessions/zendesk-call.json'));
    assert.deepEqual(s.ticket, { id: '12345', url: 'https://acme.zendesk.com/agent/tickets/12345', isAccount: false });
    assert.deepEqual(s.recording, { url: null, permission: 'denied' });
  });

  it('keeps hostile notes exactly as typed (escaping is the renderer’s job)', () => {
    const source = doc('sessions/hostile-notes-call.json');
    const { session: s } = ok(bytes('sessions/hostile-notes-call.json'));
    const note = s.dispositions[0]!.note!;
    assert.equal(note, source.dispositions[0].note);
    for (const piece of ['{{ 7*7 }}', '{% raw %}', '<script>alert(1)</script>', '\r\nBcc: x@example.com', '\u0007', '😀', '\u202E', 'مرحبا']) {
      assert.ok(note.includes(piece), `note keeps ${JSON.stringify(piece)}`);
    }
    assert.equal(s.dispositions[0]!.code, '<b>Resolved</b> & "closed"');
    assert.equal(s.csat.comment, '<img src=x onerror=alert(1)> {{ 7*7 }}');
    assert.deepEqual(s.customData, [{ label: 'Order <ref>', value: '{{ order.secret }}' }]);
  });

  it('reads a rating given as a string, with its comment, without a warning (documented drift)', () => {
    const { session: s, warnings } = ok(bytes('sessions/rating-string-call.json'));
    assert.deepEqual(s.csat, {
      rating: 4,
      comment: 'Quick and friendly, but I had to repeat my account number twice.',
      hasFeedback: true,
    });
    assert.deepEqual(warnings, []);
  });

  it('accepts a file with a UTF-8 BOM and CRLF line endings', () => {
    const file = bytes('sessions/bom-crlf-call.json');
    assert.deepEqual([...file.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
    const { session: s, warnings } = ok(file);
    assert.equal(s.key, 'call-1508');
    assert.equal(s.dispositions[0]!.note, 'Café crème: naïve façade');
    assert.deepEqual(warnings, []);
    // the same, handed over as a string
    assert.equal(ok(file.toString('utf8')).session.key, 'call-1508');
  });

  it('orders a newer version of call-1418 after the original', () => {
    const older = ok(bytes('sessions/metadata_call-1418.json')).session;
    const newer = ok(bytes('sessions/call-1418-newer.json')).session;
    assert.equal(newer.key, older.key);
    assert.equal(newer.version, '2026-03-23T21:02:10.000Z');
    assert.ok(newer.versionMs > older.versionMs);
    assert.ok(newer.version > older.version, 'versions also sort as strings');
    assert.equal(newer.dispositions[0]!.note, 'customer called back: resolved, no follow-up needed');
  });

  it('accepts an unknown status and unknown keys, keeping them in raw with their original types', () => {
    const { session: s, warnings } = ok(bytes('sessions/unknown-status-call.json'));
    assert.equal(s.status, 'parked_in_orbit');
    assert.deepEqual(s.raw.quantum_routing, { enabled: true, qubits: 7 });
    assert.deepEqual(s.raw.new_metric_v9, [1, 2, 3]);
    assert.equal((s.raw.agent_info as Record<string, unknown>).pronouns, 'she/her');
    assert.equal((s.raw.selected_menu as Record<string, unknown>).hidden, 'true');
    assert.deepEqual(s.agents, [JANE]);
    assert.equal(s.selectedMenu, 'schedule_call');
    assert.deepEqual(warnings, [], 'agent_number, hidden and response_time_avg drift is documented');
  });
});

describe('parseSession: bad fixtures are rejected with a code, a field and a reason', () => {
  const cases: Array<[file: string, code: InputProblem['code'], field: string | undefined, message: RegExp]> = [
    ['bad/not-json.json', 'INPUT_NOT_JSON', undefined, /not valid JSON: at line 3, column 16 a value was expected but the character "'" was found/],
    ['bad/truncated.json', 'INPUT_TRUNCATED', undefined, /ends early at line 25, column 43 .*closing quote of a string/],
    ['bad/array.json', 'INPUT_NOT_OBJECT', undefined, /the JSON is an array of 3 items, not an object/],
    ['bad/missing-id.json', 'INPUT_MISSING_FIELD', 'id', /^id is missing/],
    ['bad/no-kind.json', 'INPUT_NOT_SESSION', undefined, /neither call_type nor chat_type.*keys: id, call_id/],
    ['bad/wrong-types.json', 'INPUT_INVALID_FIELD', 'dispositions', /^dispositions must be an array of objects or null, found a string \("Resolved"\)$/],
    ['bad/bad-timestamp.json', 'INPUT_BAD_TIMESTAMP', 'updated_at', /^updated_at "23\/01\/2026 17:14" cannot be parsed: it is not an ISO-8601/],
    ['bad/binary.bin', 'INPUT_BINARY', undefined, /binary.*NUL byte at byte offset 8.*89 50 4E 47/],
    ['bad/empty.json', 'INPUT_EMPTY', undefined, /^the document is empty \(0 bytes\)$/],
    ['bad/invalid-utf8.json', 'INPUT_NOT_UTF8', undefined, /not valid UTF-8: byte 0xE9 at byte offset \d+ \(line 204, column \d+\)/],
    ['bad/null.json', 'INPUT_NOT_OBJECT', undefined, /^the JSON is null, not an object/],
    ['bad/string.json', 'INPUT_NOT_OBJECT', undefined, /^the JSON is a string \("metadata_call-987.json"\), not an object/],
  ];
  for (const [file, code, field, message] of cases) {
    it(`${file}: ${code}${field ? ` (${field})` : ''}`, () => {
      const p = rejected(bytes(file));
      assert.equal(p.code, code);
      assert.equal(p.field, field);
      assert.match(p.message, message);
      assert.ok(!p.message.includes(file.split('/')[1]!), 'the caller names the file, not the message');
    });
  }
});

describe('parseSession: reading the bytes', () => {
  it('rejects whitespace and a lone BOM as empty', () => {
    assert.equal(rejected(' \r\n\t\n').code, 'INPUT_EMPTY');
    const bomOnly = rejected(Buffer.from([0xef, 0xbb, 0xbf, 0x0a]));
    assert.equal(bomOnly.code, 'INPUT_EMPTY');
    assert.match(bomOnly.message, /4 bytes are only a byte-order mark and whitespace/);
  });

  it('rejects an over-size document before reading it, with sizes in words and in bytes', () => {
    const big = Buffer.alloc(Math.round(12.3 * 1024 * 1024), 0x20);
    const p = rejected(big);
    assert.equal(p.code, 'INPUT_TOO_LARGE');
    assert.equal(p.message, 'the document is 12.3 MB, over the 5 MB limit (12,897,485 bytes > 5,242,880 bytes)');
    assert.equal(DEFAULT_MAX_BYTES, 5_242_880);
  });

  it('applies a smaller maxBytes, and accepts a document exactly at the limit', () => {
    const file = bytes('sessions/metadata_call-987.json');
    const p = rejected(file, { maxBytes: 1000 });
    assert.equal(p.code, 'INPUT_TOO_LARGE');
    assert.match(p.message, /5\.7 KB, over the 1000 bytes limit \(5,840 bytes > 1,000 bytes\)/);
    assert.equal(ok(file, { maxBytes: file.length }).session.key, 'call-987');
    // a string is measured in UTF-8 bytes, not characters: 3 × 'é' is 6 bytes
    assert.equal(rejected('"ééé"', { maxBytes: 7 }).code, 'INPUT_TOO_LARGE');
  });

  it('rejects control-character soup without NUL bytes as binary', () => {
    const p = rejected(Buffer.from([0x01, 0x02, 0x03, 0x1b, 0x7b, 0x7d, 0x04, 0x05]));
    assert.equal(p.code, 'INPUT_BINARY');
    assert.match(p.message, /6 of its first 8 bytes are control characters/);
  });

  it('names the first byte that is not UTF-8', () => {
    const p = rejected(Buffer.from([0x7b, 0x0a, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]));
    assert.equal(p.code, 'INPUT_NOT_UTF8');
    assert.match(p.message, /byte 0xC3 at byte offset 7 \(line 2, column 6\)/);
  });

  it('reads UTF-16 LE and BE with a byte-order mark, and says so in a warning', () => {
    const text = bytes('sessions/bom-crlf-call.json').toString('utf8').replace(/^\uFEFF/, '');
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
    for (const [name, file] of [['LE', le], ['BE', be]] as const) {
      const { session: s, warnings } = ok(file);
      assert.equal(s.key, 'call-1508');
      assert.equal(s.dispositions[0]!.note, 'Café crème: naïve façade', 'accents survive');
      assert.deepEqual(warnings, [`the document is UTF-16 ${name} (it starts with a byte-order mark); read as such`]);
    }
    assert.equal(rejected(Buffer.from([0xff, 0xfe, 0x20, 0x00, 0x0a, 0x00])).code, 'INPUT_EMPTY');
  });

  it('calls a document cut in the middle of a character truncated, not badly encoded', () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"id": 1', 'utf16le'), Buffer.from([0x32])]);
    const p16 = rejected(utf16);
    assert.equal(p16.code, 'INPUT_TRUNCATED');
    assert.match(p16.message, /ends in the middle of a UTF-16 character/);
    // an upload caught between the two bytes of "é"
    const p8 = rejected(Buffer.concat([Buffer.from('{"note": "caf'), Buffer.from([0xc3])]));
    assert.equal(p8.code, 'INPUT_TRUNCATED');
    assert.match(p8.message, /ends in the middle of a UTF-8 character/);
    // a Latin-1 "é" before the end is still a bad byte, not a cut
    assert.equal(rejected(Buffer.concat([Buffer.from('{"note": "caf'), Buffer.from([0xe9]), Buffer.from('"}')])).code, 'INPUT_NOT_UTF8');
  });

  it('suggests UTF-16 without a byte-order mark for text with a NUL after every character', () => {
    const p = rejected(Buffer.from('{"id": 1418, "call_type": "x"}', 'utf16le'));
    assert.equal(p.code, 'INPUT_NOT_UTF8');
    assert.match(p.message, /looks like UTF-16 LE without a byte-order mark/);
  });

  it('tells a truncated document from one that is not JSON', () => {
    assert.equal(rejected('{"id": 1418, "call_type": ').code, 'INPUT_TRUNCATED');
    assert.equal(rejected('{"id": 1418, "call_type": "Voice').code, 'INPUT_TRUNCATED');
    assert.equal(rejected('{"id": 14').code, 'INPUT_TRUNCATED');
    assert.equal(rejected('{"id": tr').code, 'INPUT_TRUNCATED');
    const trailingComma = rejected('{\n  "id": 1418,\n}');
    assert.equal(trailingComma.code, 'INPUT_NOT_JSON');
    assert.match(trailingComma.message, /line 3, column 1 a property name in double quotes was expected but the character "}" was found/);
    const transcript = rejected('Agent: Hello\nCustomer: Hi\n');
    assert.equal(transcript.code, 'INPUT_NOT_JSON');
    assert.match(transcript.message, /line 1, column 1/);
    assert.match(rejected('{} {}').message, /the end of the document was expected/);
  });

  it('reports every cut of a real file as truncated, never throwing', () => {
    const file = bytes('sessions/metadata_call-1418.json');
    const end = file.lastIndexOf('}');
    for (let cut = 1; cut < end; cut += 53) {
      const r = parseSession(file.subarray(0, cut));
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.problem.code, 'INPUT_TRUNCATED', `cut at byte ${cut}`);
    }
  });

  it('survives very deep nesting', () => {
    assert.equal(rejected('['.repeat(100_000)).code, 'INPUT_TRUNCATED');
    assert.equal(rejected('['.repeat(100_000) + ']'.repeat(100_000)).code, 'INPUT_NOT_OBJECT');
  });

  it('describes what the JSON is when it is not an object', () => {
    assert.match(rejected('42').message, /a number \(42\)/);
    assert.match(rejected('true').message, /a boolean \(true\)/);
    assert.match(rejected('[]').message, /an empty array/);
  });
});

describe('parseSession: identity', () => {
  const base = () => doc('sessions/metadata_call-987.json');

  it('reads a numeric string id as the number, with a warning', () => {
    const { session, warnings } = ok({ ...base(), id: '1418' });
    assert.equal(session.id, 1418);
    assert.equal(session.key, 'call-1418');
    assert.deepEqual(warnings, ['id was the string "1418"; read as the number 1418']);
  });

  it('rejects an id that is not a positive whole number', () => {
    for (const [id, found] of [[0, 'a number (0)'], [-3, 'a number (-3)'], [14.5, 'a number (14.5)'], ['abc', 'a string ("abc")'], [{}, 'an object']] as const) {
      const p = rejected({ ...base(), id });
      assert.equal(p.code, 'INPUT_INVALID_FIELD');
      assert.equal(p.field, 'id');
      assert.equal(p.message, `id must be a positive whole number, found ${found}`);
    }
    const nullId = rejected({ ...base(), id: null });
    assert.equal(nullId.code, 'INPUT_MISSING_FIELD');
    assert.match(nullId.message, /^id is null/);
  });

  it('takes the kind from call_type or chat_type, and rejects both', () => {
    const chat = base();
    delete chat.call_type;
    chat.chat_type = 'Messaging Inbound (SMS)';
    chat.session_type_v2 = null;
    chat.session_type = null;
    const s = ok(chat).session;
    assert.equal(s.key, 'chat-987');
    assert.equal(s.type, 'Messaging Inbound (SMS)');
    // a null call_type is not present
    assert.equal(ok({ ...chat, call_type: null }).session.kind, 'chat');

    const both = rejected({ ...base(), chat_type: 'Messaging Inbound (SMS)' });
    assert.equal(both.code, 'INPUT_INVALID_FIELD');
    assert.equal(both.field, 'call_type');
    assert.match(both.message, /both call_type \(a string \("Voice Scheduled \(API\)"\)\) and chat_type/);
  });

  it('checks id before the kind', () => {
    assert.equal(rejected({ hello: 'world' }).code, 'INPUT_MISSING_FIELD');
  });
});

describe('parseSession: timestamps', () => {
  const base = () => doc('sessions/metadata_call-987.json');

  it('requires updated_at', () => {
    const d = base();
    delete d.updated_at;
    const missing = rejected(d);
    assert.equal(missing.code, 'INPUT_MISSING_FIELD');
    assert.equal(missing.field, 'updated_at');
    assert.match(missing.message, /updated_at is missing: it orders the versions/);
    const number = rejected({ ...base(), updated_at: 1769217267000 });
    assert.equal(number.code, 'INPUT_BAD_TIMESTAMP');
    assert.match(number.message, /found a number \(1769217267000\)/);
  });

  it('validates the calendar, naming the field and the value', () => {
    const cases: Array<[string, RegExp]> = [
      ['2026-13-45T10:00:00.000Z', /"2026-13-45T10:00:00.000Z" cannot be parsed: month 13 does not exist/],
      ['2026-02-29T10:00:00.000Z', /February 2026 has no day 29/],
      ['2026-04-31T10:00:00Z', /April 2026 has no day 31/],
      ['2026-01-23T24:14:27.000-08:00', /hour 24 is out of range/],
      ['2026-01-23T17:14:27.000+25:00', /UTC offset \+25:00 is out of range/],
      ['yesterday', /"yesterday" cannot be parsed: it is not an ISO-8601 date and time/],
    ];
    for (const [value, message] of cases) {
      const p = rejected({ ...base(), updated_at: value });
      assert.equal(p.code, 'INPUT_BAD_TIMESTAMP', value);
      assert.equal(p.field, 'updated_at');
      assert.match(p.message, message);
    }
  });

  it('normalises offsets, Z and leap days to UTC', () => {
    const at = (updated_at: string) => ok({ ...base(), updated_at }).session.version;
    assert.equal(at('2026-03-23T13:12:51.000-07:00'), '2026-03-23T20:12:51.000Z');
    assert.equal(at('2026-03-23T20:12:51Z'), '2026-03-23T20:12:51.000Z');
    assert.equal(at('2026-03-24T01:42:51.250+05:30'), '2026-03-23T20:12:51.250Z');
    assert.equal(at('2028-02-29T23:30:00.000-01:00'), '2028-03-01T00:30:00.000Z');
  });

  it('reads a timestamp without an offset as UTC, with a warning', () => {
    const { session, warnings } = ok({ ...base(), updated_at: '2026-01-23T17:14:27.000' });
    assert.equal(session.version, '2026-01-23T17:14:27.000Z');
    assert.deepEqual(warnings, ['updated_at "2026-01-23T17:14:27.000" has no UTC offset; read as UTC']);
  });

  it('ignores an unparseable optional timestamp with a warning instead of rejecting', () => {
    const d = base();
    d.created_at = 'yesterday';
    d.ends_at = '2026-02-30T10:00:00.000Z';
    d.queued_at = 1769217240;
    d.transfers = [{ ...doc('sessions/metadata_call-1418.json').transfers[0], created_at: '2026-03-23T13:15:03.000' }];
    const { session: s, warnings } = ok(d);
    assert.equal(s.times.created, null);
    assert.equal(s.times.ended, null);
    assert.equal(s.times.queued, null);
    assert.equal(s.times.assigned, '2026-01-24T01:14:06.000Z');
    assert.equal(s.transfers[0]!.at, '2026-03-23T13:15:03.000Z');
    assert.deepEqual(warnings.sort(), [
      'created_at "yesterday" is not a usable timestamp (it is not an ISO-8601 date and time such as 2026-03-23T13:12:51.000-07:00); ignored',
      'ends_at "2026-02-30T10:00:00.000Z" is not a usable timestamp (February 2026 has no day 30); ignored',
      'queued_at must be a string, found a number; ignored',
      'transfers[0].created_at "2026-03-23T13:15:03.000" has no UTC offset; read as UTC',
    ]);
  });
});

describe('parseSession: fields the worker writes with', () => {
  const base = () => doc('sessions/metadata_call-1418.json');

  function invalid(patch: (d: Record<string, any>) => void): InputProblem {
    const d = base();
    patch(d);
    const p = rejected(d);
    assert.equal(p.code, 'INPUT_INVALID_FIELD');
    return p;
  }

  it('names the field by its dotted path and says what was found', () => {
    const note = invalid((d) => (d.dispositions[1].note = { text: 'hi' }));
    assert.equal(note.field, 'dispositions[1].note');
    assert.equal(note.message, 'dispositions[1].note must be a string or null, found an object');

    const leg = invalid((d) => (d.dispositions[1] = 'key_1'));
    assert.equal(leg.field, 'dispositions[1]');
    assert.equal(leg.message, 'dispositions[1] must be an object, found a string ("key_1")');

    const ticket = invalid((d) => (d.out_ticket_id = ['500ak000024vx4uAAA']));
    assert.equal(ticket.field, 'out_ticket_id');
    assert.equal(ticket.message, 'out_ticket_id must be a string, a number or null, found an array of 1 item');

    assert.equal(invalid((d) => (d.out_ticket_url = 42)).field, 'out_ticket_url');
    assert.equal(invalid((d) => (d.feedback = ['great'])).field, 'feedback');
    assert.equal(invalid((d) => (d.recording_url = false)).field, 'recording_url');
    const agent = invalid((d) => (d.agent_info = 'Jane Smith'));
    assert.equal(agent.message, 'agent_info must be an object or null, found a string ("Jane Smith")');
    const rating = invalid((d) => (d.rating = 'great'));
    assert.equal(rating.message, 'rating must be a whole number from 1 to 5, a numeric string or null, found a string ("great")');
  });

  it('coerces the types that drift: ticket id and disposition code as numbers, rating as a string', () => {
    const d = base();
    d.out_ticket_id = 12345;
    d.dispositions[0].code = 42;
    d.rating = ' 3 ';
    const { session: s, warnings } = ok(d);
    assert.equal(s.ticket.id, '12345');
    assert.equal(s.dispositions[0]!.code, '42');
    assert.equal(s.csat.rating, 3);
    assert.deepEqual(warnings, []);
  });

  it('reads a CSAT rating out of 1..5 as no rating, with a warning', () => {
    for (const rating of [0, 7, 4.5, '0']) {
      const { session, warnings } = ok({ ...base(), rating });
      assert.equal(session.csat.rating, null, String(rating));
      assert.match(warnings[0] ?? '', /^rating [\d.]+ is not a CSAT score from 1 to 5; ignored$/);
    }
  });

  it('treats null lists as empty', () => {
    const d = base();
    for (const k of ['dispositions', 'transfers', 'escalations', 'participants', 'photos', 'videos', 'handle_durations', 'in_call_sms', 'deflection_details']) d[k] = null;
    const { session: s, warnings } = ok(d);
    assert.deepEqual(s.dispositions, []);
    assert.deepEqual(s.transfers, []);
    assert.deepEqual(s.escalations, []);
    assert.deepEqual(s.participants, { agents: 0, endUsers: 0, virtualAgents: 0, others: 0 });
    assert.equal(s.smartActions.photos, 0);
    assert.equal(s.durations.afterCallWork, null);
    assert.equal(s.durations.handle, 126);
    assert.deepEqual(warnings, []);
  });

  it('drops a field it does not write with when its type is wrong, with a warning naming it', () => {
    const d = base();
    d.status = 8;
    d.transfers = 'none';
    d.participants[0] = 'end user';
    d.escalations[0].reason = { code: 3 };
    const { session: s, warnings } = ok(d);
    assert.equal(s.status, null);
    assert.deepEqual(s.transfers, []);
    assert.equal(s.participants.endUsers, 0);
    assert.equal(s.escalations[0]!.reason, null);
    assert.deepEqual(warnings.sort(), [
      'escalations[0].reason must be a string, found an object; ignored',
      'participants[0] must be an object, found a string of 8 characters; ignored',
      'status must be a string, found a number; ignored',
      'transfers must be an array, found a string of 4 characters; ignored',
    ]);
  });

  it('never quotes a dropped value in its warning: it may be personal or secured data', () => {
    const d = base();
    d.custom_data_secured = 'SSN 123-45-6789 card 4111111111111111';
    d.custom_data_not_secured = 5551234567;
    d.answer_type = ['Jane Doe <jane@example.com>'];
    const { corrections } = ok(d);
    assert.deepEqual(corrections.map((w) => w.field).sort(), ['answer_type', 'custom_data_not_secured', 'custom_data_secured']);
    assert.doesNotMatch(JSON.stringify(corrections), /123-45|4111|5551234567|Jane|jane@/);
  });

  it('every correction names its field: a warning is { field, message }', () => {
    const d = base();
    d.status = 8;
    d.rating = 9;
    d.id = '1418';
    d.escalations[0].reason = { code: 3 };
    const { corrections } = ok(d);
    assert.deepEqual(
      corrections.map((w) => w.field).sort(),
      ['escalations[0].reason', 'id', 'rating', 'status'],
    );
    for (const w of corrections) assert.ok(w.message.startsWith(w.field), `${w.field}: ${w.message}`);
  });

  it('says so when an id is not a whole number, instead of dropping it silently', () => {
    const d = base();
    d.agent_info.id = 2.5;
    d.dispositions[0].user_id = 5.5;
    d.participants[1].user_id = '7.25';
    const { session: s, corrections } = ok(d);
    assert.equal(s.dispositions[0]!.agent?.id ?? null, null);
    assert.deepEqual(corrections.map((w) => w.field).sort(), ['agent_info.id', 'dispositions[0].user_id', 'participants[1].user_id']);
    assert.equal(corrections.find((w) => w.field === 'agent_info.id')!.message, 'agent_info.id 2.5 is not a whole number an id can be; ignored');
  });

  it('drops a negative duration, with a warning, instead of storing it or summing it', () => {
    const d = base();
    d.wait_duration = -12;
    d.hold_duration = '-3';
    d.call_duration = -100;
    d.handle_durations[0].acw_duration = -40;
    const { session: s, corrections } = ok(d);
    assert.equal(s.durations.wait, null);
    assert.equal(s.durations.hold, null);
    assert.equal(s.durations.talk, null);
    assert.equal(s.durations.afterCallWork, 14, 'the negative leg adds nothing (the others: 8 + 6)');
    assert.equal(s.durations.handle, 14);
    assert.deepEqual(corrections, [
      { field: 'call_duration', message: 'call_duration -100 is negative, not a duration; dropped' },
      { field: 'handle_durations[0].acw_duration', message: 'handle_durations[0].acw_duration -40 is negative, not a duration; dropped' },
      { field: 'wait_duration', message: 'wait_duration -12 is negative, not a duration; dropped' },
      { field: 'hold_duration', message: 'hold_duration -3 is negative, not a duration; dropped' },
    ]);
  });

  it('drops a number it cannot read (too large to be finite), with a warning', () => {
    const huge = '9'.repeat(400); // a numeric string: Number() makes it Infinity
    const text = JSON.stringify({ ...base(), queue_priority_level: 'HUGE', wait_duration: huge }).replace('"HUGE"', '1e999');
    const { session: s, corrections } = ok(text);
    assert.equal(s.durations.wait, null);
    assert.equal(s.queuePriority, null);
    assert.deepEqual(corrections.map((w) => w.field).sort(), ['queue_priority_level', 'wait_duration']);
    assert.deepEqual(corrections.map((w) => w.message).sort(), [
      'queue_priority_level must be a number, found a number out of range; ignored',
      'wait_duration is not a number the worker can read (Infinity); dropped',
    ]);
  });
});

describe('parseSession: the rest of the document', () => {
  const base = () => doc('sessions/metadata_call-1418.json');

  it('counts Smart Actions and SMS, and writes an unknown smart_action_text shape as JSON', () => {
    const d = base();
    d.verified = true;
    d.photos = [{ id: 1 }, { id: 2 }];
    d.videos = [{ id: 3 }];
    d.smart_action_text = { fields: [{ label: 'Account', value: '1234' }] };
    d.in_call_sms = [{}, {}, {}];
    d.wait_time_sms = [{}];
    const s = ok(d).session;
    assert.deepEqual(s.smartActions, { verified: true, photos: 2, videos: 1, text: '{"fields":[{"label":"Account","value":"1234"}]}' });
    assert.deepEqual(s.sms, { inCall: 3, waitTime: 1 });
    assert.equal(ok({ ...d, smart_action_text: 'order 42' }).session.smartActions.text, 'order 42');
  });

  it('reads secured custom data separately, falling back to the key when a label is missing', () => {
    const d = base();
    d.custom_data_secured = { ssn_last4: { label: 'SSN (last 4)', value: '1234' }, pin: { value: 9876 } };
    d.custom_data_not_secured = { tier: { label: 'Tier', value: 'gold' }, empty: { label: 'Empty', value: null } };
    const s = ok(d).session;
    assert.deepEqual(s.securedCustomData, [
      { label: 'SSN (last 4)', value: '1234' },
      { label: 'pin', value: '9876' },
    ]);
    assert.deepEqual(s.customData, [{ label: 'Tier', value: 'gold' }]);
  });

  it('labels deflection details: strings as-is, objects by type or name, else JSON', () => {
    const d = base();
    d.deflection_details = ['after_hours', { name: 'scheduled_call' }, { minutes: 15 }];
    assert.deepEqual(ok(d).session.deflectionDetails, ['after_hours', 'scheduled_call', '{"minutes":15}']);
  });

  it('prefers session_type_v2, then session_type, then call_type for the type label', () => {
    const d = base();
    d.session_type_v2 = null;
    d.session_type = 'Voice Inbound (Legacy label)';
    assert.equal(ok(d).session.type, 'Voice Inbound (Legacy label)');
    d.session_type = null;
    d.call_type = 'Voice Outbound';
    assert.equal(ok(d).session.type, 'Voice Outbound');
  });

  it('names a virtual agent from its escalation when the participants do not', () => {
    const d = base();
    d.virtual_agent_handle_durations = [];
    assert.deepEqual(ok(d).session.virtualAgents, [ESCALATION_VA, TASK_VA]);
    d.escalations = [];
    assert.deepEqual(ok(d).session.virtualAgents, [{ ...ESCALATION_VA, name: null }, TASK_VA]);
  });

  it("reads the customer: CRM contact, name (or first and last), e-mail only when it is one", () => {
    const d = base();
    d.end_user = { id: 42, identifier: '91237416-3705', out_contact_id: ' 003ak00000ipFq5AAE ', first_name: 'Ana', last_name: 'Lima' };
    assert.deepEqual(ok(d).session.customer, { crmId: '003ak00000ipFq5AAE', name: 'Ana Lima', email: null });
    d.end_user = { identifier: 'ana@example.com', name: 'Ana Lima' };
    assert.deepEqual(ok(d).session.customer, { crmId: null, name: 'Ana Lima', email: 'ana@example.com' });
  });

  it('reads chat counts, drops a message count that is not one, and takes the offset of created_at', () => {
    const d = base();
    d.message_count = '14';
    d.average_response_time = 12;
    d.longest_response_time = 40;
    d.created_at = '2026-03-23T22:12:51.000+02:00';
    const s = ok(d).session;
    assert.deepEqual(s.chat, { messages: 14, averageResponse: 12, longestResponse: 40 });
    assert.equal(s.utcOffsetMinutes, 120);
    d.message_count = -3;
    d.created_at = '2026-03-23T20:12:51.000Z';
    const r = ok(d);
    assert.equal(r.session.chat.messages, null);
    assert.ok(r.corrections.some((w) => w.field === 'message_count' && /not a count/.test(w.message)));
    assert.equal(r.session.utcOffsetMinutes, 0);
  });

  it('does not copy end-user phone numbers out of raw', () => {
    const d = base();
    d.end_user.phone_number = '+15550100999';
    const { raw, ...rest } = ok(d).session;
    assert.equal((raw.end_user as Record<string, unknown>).phone_number, '+15550100999');
    assert.doesNotMatch(JSON.stringify(rest), /\+15550100(999|100)/);
  });
});

describe('sessionKey and parseSessionKey', () => {
  it('builds and reads back session keys', () => {
    assert.equal(sessionKey('call', 1418), 'call-1418');
    assert.equal(sessionKey('chat', 135), 'chat-135');
    assert.deepEqual(parseSessionKey('call-1418'), { kind: 'call', id: 1418 });
    assert.deepEqual(parseSessionKey(' CHAT-135 '), { kind: 'chat', id: 135 });
  });

  it('refuses anything that is not a kind and a positive id', () => {
    for (const s of ['', 'call', 'call-', 'call-0', 'call-12a', 'call-1.5', 'call--3', 'ticket-1', '1418', 'call-99999999999999999999']) {
      assert.equal(parseSessionKey(s), null, s);
    }
  });
});
