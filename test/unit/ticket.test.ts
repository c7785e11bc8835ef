import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  isHostAllowed,
  matchTicket,
  normaliseSalesforceId,
  parseAllowedHosts,
  salesforceIdChecksum,
} from '../../src/domain/ticket/match.ts';
import type { TicketMatch, TicketRef } from '../../src/domain/types.ts';

const ANY_HOST = { allowedHosts: [] as string[] };

function fixtureTicket(name: string): { id: string | null; url: string | null; isAccount: boolean } {
  const doc = JSON.parse(readFileSync(new URL(`../fixtures/sessions/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
  return { id: doc.out_ticket_id as string | null, url: doc.out_ticket_url as string | null, isAccount: doc.is_out_ticket_account as boolean };
}

function match(id: string | null, url: string | null, opts: { allowedHosts: readonly string[] } = ANY_HOST, isAccount = false): TicketMatch {
  return matchTicket({ id, url, isAccount }, opts);
}

/** The ticket of a match that must be `matched`, with its warnings. */
function matchedTicket(m: TicketMatch): TicketRef & { warnings: string[] } {
  assert.equal(m.outcome, 'matched', `expected a match, got ${JSON.stringify(m)}`);
  if (m.outcome !== 'matched') throw new Error('unreachable');
  return { ...m.ticket, warnings: m.warnings.map((w) => w.message) };
}

function invalid(m: TicketMatch): { code: string; field: string; reason: string } {
  assert.equal(m.outcome, 'invalid', `expected invalid, got ${JSON.stringify(m)}`);
  if (m.outcome !== 'invalid') throw new Error('unreachable');
  return m;
}

function noTicket(m: TicketMatch): string {
  assert.equal(m.outcome, 'no-ticket', `expected no-ticket, got ${JSON.stringify(m)}`);
  if (m.outcome !== 'no-ticket') throw new Error('unreachable');
  return m.reason;
}

describe('Salesforce ids', () => {
  it('computes the documented checksum: 500xx000000bpkT -> 500xx000000bpkTAAQ', () => {
    assert.equal(salesforceIdChecksum('500xx000000bpkT'), 'AAQ');
    assert.equal(normaliseSalesforceId('500xx000000bpkT'), '500xx000000bpkTAAQ');
  });

  it('accepts the real fixtures’ 18-character ids as they are', () => {
    assert.equal(normaliseSalesforceId('500ak000024vx4uAAA'), '500ak000024vx4uAAA');
    assert.equal(normaliseSalesforceId('500ak00001nkg4MAAQ'), '500ak00001nkg4MAAQ');
    assert.equal(normaliseSalesforceId('500ak00001nkg4M'), '500ak00001nkg4MAAQ');
  });

  it('refuses an 18-character id whose checksum does not match', () => {
    assert.equal(normaliseSalesforceId('500ak000024vx4uAAB'), null);
    assert.equal(normaliseSalesforceId('500xx000000bpkTAAA'), null);
    // a lower-cased id: the checksum no longer matches the letters' case
    assert.equal(normaliseSalesforceId('500ak00001nkg4mAAQ'), null);
  });

  it('treats 15-character ids as case-sensitive: changing case changes the checksum', () => {
    assert.equal(normaliseSalesforceId('500ak000024VX4U'), '500ak000024VX4UAAW');
    assert.notEqual(normaliseSalesforceId('500ak000024VX4U'), normaliseSalesforceId('500ak000024vx4u'));
  });

  it('refuses ids of the wrong length or with other characters', () => {
    for (const bad of ['', '500ak000024vx4', '500ak000024vx4uAA', '500ak000024vx4uAAAA', '500ak-00024vx4u', '500ak000024vx4ü']) {
      assert.equal(normaliseSalesforceId(bad), null, bad);
    }
    assert.throws(() => salesforceIdChecksum('500ak000024vx4uAAA'), RangeError);
  });
});

describe('matchTicket: the real fixtures', () => {
  it('matches call 1418 to its Salesforce Case on the custom domain', () => {
    assert.deepEqual(matchTicket(fixtureTicket('metadata_call-1418.json'), ANY_HOST), {
      outcome: 'matched',
      ticket: {
        system: 'salesforce',
        id: '500ak000024vx4uAAA',
        url: 'https://crm.example.com/lightning/r/Case/500ak000024vx4uAAA/view',
        object: 'Case',
        isAccount: false,
      },
      warnings: [],
    });
  });

  it('matches call 987 to its Case when crm.example.com is the allowed host', () => {
    const t = matchedTicket(matchTicket(fixtureTicket('metadata_call-987.json'), { allowedHosts: ['crm.example.com'] }));
    assert.equal(t.id, '500ak00001nkg4MAAQ');
    assert.equal(t.object, 'Case');
  });

  it('says the chat has no CRM record: its URL is a CCAI media download, named by host only', () => {
    const reason = noTicket(matchTicket(fixtureTicket('metadata_chat-135.json'), { allowedHosts: ['crm.example.com'] }));
    assert.match(reason, /out_ticket_id is empty/);
    assert.match(reason, /CCAI Platform media download link/);
    assert.match(reason, /host media\.ccaiplatform\.com/);
    assert.match(reason, /not a CRM record/);
    assert.doesNotMatch(reason, /88900e6a|\/v1\/download/);
  });
});

describe('matchTicket: Salesforce', () => {
  const ID = '500ak000024vx4uAAA';
  const urls = [
    `https://acme.lightning.force.com/lightning/r/Case/${ID}/view`,
    `https://acme.lightning.force.com/lightning/r/Case/${ID}/edit`,
    `https://acme.lightning.force.com/lightning/r/Case/${ID}/view?ws=%2Flightning%2Fr%2FAccount%2F001ak00000AbCdEAAV%2Fview&0.source=alohaHeader`,
    `https://acme.lightning.force.com/lightning/r/Case/${ID}/related/CaseComments/view`,
    `https://acme.lightning.force.com/lightning/r/${ID}/view`,
    `https://acme.my.salesforce.com/${ID}`,
    `https://acme.my.salesforce.com/${ID}/e?retURL=%2F${ID}`,
    `https://acme--uat.sandbox.my.salesforce.com/${ID}`,
    `https://acme--uat.sandbox.lightning.force.com/lightning/r/Case/${ID}/view`,
    `https://acme.lightning.force.com/one/one.app#/sObject/${ID}/view`,
    `https://support.acme.example/lightning/r/Case/${ID}/view`,
  ];
  for (const url of urls) {
    it(`takes the record id from ${url}`, () => {
      const t = matchedTicket(match(null, url));
      assert.equal(t.system, 'salesforce');
      assert.equal(t.id, ID);
      assert.equal(t.object, 'Case');
      assert.equal(t.url, url);
    });
  }

  it('agrees when the id and the URL carry the same record', () => {
    const url = `https://acme.my.salesforce.com/${ID}`;
    const t = matchedTicket(match(ID, url));
    assert.equal(t.id, ID);
    assert.equal(t.url, url);
    assert.deepEqual(t.warnings, []);
  });

  it('normalises a 15-character id to 18 and says so; it agrees with the 18-character URL', () => {
    const t = matchedTicket(match('500ak000024vx4u', `https://acme.lightning.force.com/lightning/r/Case/${ID}/view`));
    assert.equal(t.id, ID);
    assert.ok(t.warnings.some((w) => /15-character/.test(w) && w.includes(ID)), t.warnings.join('; '));
  });

  it('normalises a 15-character id in the URL when there is no out_ticket_id', () => {
    const t = matchedTicket(match(null, 'https://acme.my.salesforce.com/500xx000000bpkT'));
    assert.equal(t.id, '500xx000000bpkTAAQ');
  });

  it('matches an id alone and names the object from its key prefix', () => {
    const cases: Array<[string, string]> = [
      ['500ak000024vx4uAAA', 'Case'],
      ['00Tak00000Tt1AaEAJ', 'Task'],
      ['003ak00000XyZ12AAF', 'Contact'],
      ['001ak00000AbCdEAAV', 'Account'],
      ['006ak00000Pq7RsAAJ', 'Opportunity'],
      ['00Qak00000Lm3NoEAJ', 'Lead'],
    ];
    for (const [id, object] of cases) {
      const t = matchedTicket(match(id, null));
      assert.deepEqual([t.system, t.id, t.object, t.url], ['salesforce', id, object, null], id);
    }
  });

  it('matches the documented 15-character sample alone as a Case, in its 18-character form', () => {
    const t = matchedTicket(match('500xx000000bpkT', null));
    assert.equal(t.system, 'salesforce');
    assert.equal(t.id, '500xx000000bpkTAAQ');
    assert.equal(t.object, 'Case');
  });

  it('takes a custom object’s name from the URL when its key prefix is unknown', () => {
    const t = matchedTicket(match('a0Bak00000Cc9DdEAJ', 'https://acme.lightning.force.com/lightning/r/Support_Request__c/a0Bak00000Cc9DdEAJ/view'));
    assert.equal(t.object, 'Support_Request__c');
    assert.equal(matchedTicket(match('a0Bak00000Cc9DdEAJ', null)).object, null);
  });

  it('rejects an 18-character id with a wrong checksum (TICKET_INVALID_ID on out_ticket_id)', () => {
    const r = invalid(match('500ak000024vx4uAAB', null));
    assert.equal(r.code, 'TICKET_INVALID_ID');
    assert.equal(r.field, 'out_ticket_id');
    assert.match(r.reason, /500ak000024vx4uAAB/);
    assert.match(r.reason, /checksum/);
    const withUrl = invalid(match('500ak000024vx4uAAB', `https://acme.my.salesforce.com/${ID}`));
    assert.equal(withUrl.code, 'TICKET_INVALID_ID');
    assert.equal(withUrl.field, 'out_ticket_id');
  });

  it('rejects a record URL whose id has a wrong checksum (field out_ticket_url)', () => {
    const r = invalid(match(null, 'https://crm.example.com/lightning/r/Case/500ak000024vx4uAAB/view'));
    assert.equal(r.code, 'TICKET_INVALID_ID');
    assert.equal(r.field, 'out_ticket_url');
    assert.match(r.reason, /checksum/);
  });

  it('rejects an id and a URL naming different records, quoting both', () => {
    const r = invalid(match('500ak00001nkg4MAAQ', `https://crm.example.com/lightning/r/Case/${ID}/view`));
    assert.equal(r.code, 'TICKET_MISMATCH');
    assert.equal(r.field, 'out_ticket_id');
    assert.ok(r.reason.includes('500ak00001nkg4MAAQ') && r.reason.includes(ID), r.reason);
  });

  it('compares 15-character ids case-sensitively: a case change is another record', () => {
    const r = invalid(match('500ak000024VX4U', `https://acme.my.salesforce.com/${ID}`));
    assert.equal(r.code, 'TICKET_MISMATCH');
  });

  it('rejects a non-Salesforce id with a Salesforce URL as a mismatch', () => {
    const r = invalid(match('12345', `https://acme.my.salesforce.com/${ID}`));
    assert.equal(r.code, 'TICKET_MISMATCH');
    assert.match(r.reason, /"12345"/);
  });

  it('does not take a Salesforce page that is not a record for a record link', () => {
    const reason = noTicket(match(null, 'https://acme.lightning.force.com/lightning/o/Case/list'));
    assert.match(reason, /Salesforce link \(host acme\.lightning\.force\.com\) but not to a record/);
  });
});

describe('matchTicket: Zendesk', () => {
  const urls = [
    'https://acme.zendesk.com/agent/tickets/4711',
    'https://acme.zendesk.com/agent/tickets/4711/events',
    'https://acme.zendesk.com/hc/en-us/requests/4711',
    'https://acme.zendesk.com/hc/requests/4711',
    'https://acme.zendesk.com/api/v2/tickets/4711',
    'https://acme.zendesk.com/api/v2/tickets/4711.json',
  ];
  for (const url of urls) {
    it(`reads ticket 4711 from ${url}`, () => {
      const t = matchedTicket(match(null, url));
      assert.deepEqual([t.system, t.id, t.url], ['zendesk', '4711', url]);
    });
  }

  it('compares numbers as numbers: " 04711 " and "#4711" agree with ticket 4711', () => {
    assert.equal(matchedTicket(match(' 04711 ', 'https://acme.zendesk.com/agent/tickets/4711')).id, '4711');
    assert.equal(matchedTicket(match('#4711', 'https://acme.zendesk.com/agent/tickets/4711')).id, '4711');
  });

  it('rejects a different ticket number in the id', () => {
    const r = invalid(match('4712', 'https://acme.zendesk.com/agent/tickets/4711'));
    assert.equal(r.code, 'TICKET_MISMATCH');
    assert.ok(r.reason.includes('"4712"') && r.reason.includes('"4711"'), r.reason);
  });

  it('rejects a Salesforce id with a Zendesk URL', () => {
    assert.equal(invalid(match('500ak000024vx4uAAA', 'https://acme.zendesk.com/agent/tickets/4711')).code, 'TICKET_MISMATCH');
  });

  it('does not take the Zendesk dashboard for a ticket', () => {
    assert.match(noTicket(match(null, 'https://acme.zendesk.com/agent/dashboard')), /Zendesk link .* but not to a ticket/);
  });
});

describe('matchTicket: Freshdesk', () => {
  const urls = [
    'https://acme.freshdesk.com/a/tickets/815',
    'https://acme.freshdesk.com/helpdesk/tickets/815',
    'https://acme.freshdesk.com/support/tickets/815',
  ];
  for (const url of urls) {
    it(`reads ticket 815 from ${url}`, () => {
      const t = matchedTicket(match('815', url));
      assert.deepEqual([t.system, t.id, t.url], ['freshdesk', '815', url]);
    });
  }

  it('rejects a different ticket number in the id', () => {
    const r = invalid(match('816', 'https://acme.freshdesk.com/a/tickets/815'));
    assert.equal(r.code, 'TICKET_MISMATCH');
    assert.equal(r.field, 'out_ticket_id');
  });
});

describe('matchTicket: ServiceNow', () => {
  const SYS = '9d385017c611228701d22104cc95c371';
  const urls: Array<[string, string]> = [
    [`https://acme.service-now.com/nav_to.do?uri=incident.do%3Fsys_id%3D${SYS}`, 'incident'],
    [`https://acme.service-now.com/nav_to.do?uri=%2Fincident.do%3Fsys_id%3D${SYS}%26sysparm_view%3Dess`, 'incident'],
    [`https://acme.service-now.com/nav_to.do?uri=incident.do?sys_id=${SYS}`, 'incident'],
    [`https://acme.service-now.com/incident.do?sys_id=${SYS}&sysparm_view=`, 'incident'],
    [`https://acme.service-now.com/now/nav/ui/classic/params/target/incident.do%3Fsys_id%3D${SYS}`, 'incident'],
    [`https://acme.service-now.com/now/sow/record/incident/${SYS}`, 'incident'],
    [`https://acme.service-now.com/now/cwf/agent/record/sn_customerservice_case/${SYS}`, 'sn_customerservice_case'],
  ];
  for (const [url, table] of urls) {
    it(`reads the ${table} sys_id from ${url}`, () => {
      const t = matchedTicket(match(null, url));
      assert.deepEqual([t.system, t.id, t.object, t.url], ['servicenow', SYS, table, url]);
    });
  }

  it('lower-cases a sys_id so an upper-case id agrees with the URL', () => {
    const t = matchedTicket(match(SYS.toUpperCase(), `https://acme.service-now.com/incident.do?sys_id=${SYS}`));
    assert.equal(t.id, SYS);
  });

  it('recognises a record number alone and names its table', () => {
    const inc = matchedTicket(match('INC0010001', null));
    assert.deepEqual([inc.system, inc.id, inc.object], ['servicenow', 'INC0010001', 'incident']);
    const cs = matchedTicket(match('CS0001234', null));
    assert.deepEqual([cs.system, cs.object], ['servicenow', 'sn_customerservice_case']);
  });

  it('accepts a number with a sys_id URL of the same table, keeping the sys_id and saying why', () => {
    const t = matchedTicket(match('INC0010001', `https://acme.service-now.com/now/sow/record/incident/${SYS}`));
    assert.equal(t.id, SYS);
    assert.ok(t.warnings.some((w) => w.includes('INC0010001') && w.includes('sys_id')), t.warnings.join('; '));
  });

  it('rejects a different sys_id, and a number of another table', () => {
    const other = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
    assert.equal(invalid(match(other, `https://acme.service-now.com/incident.do?sys_id=${SYS}`)).code, 'TICKET_MISMATCH');
    assert.equal(invalid(match('CS0001234', `https://acme.service-now.com/now/sow/record/incident/${SYS}`)).code, 'TICKET_MISMATCH');
  });

  it('does not take a new-record form (sys_id=-1) for a record', () => {
    assert.match(noTicket(match(null, 'https://acme.service-now.com/incident.do?sys_id=-1')), /ServiceNow link .* but not to a record/);
  });
});

describe('matchTicket: Dynamics 365', () => {
  const GUID = 'ab12cd34-1111-2222-3333-444455556666';
  const urls = [
    `https://acme.crm4.dynamics.com/main.aspx?appid=9f0e&pagetype=entityrecord&etn=incident&id=${GUID}`,
    `https://acme.crm.dynamics.com/main.aspx?pagetype=entityrecord&etn=incident&id=%7B${GUID.toUpperCase()}%7D`,
    `https://acme.crm11.dynamics.com/main.aspx?etn=incident&id={${GUID}}&pagetype=entityrecord`,
  ];
  for (const url of urls) {
    it(`reads the incident GUID from ${url}`, () => {
      const t = matchedTicket(match(null, url));
      assert.deepEqual([t.system, t.id, t.object, t.url], ['dynamics365', GUID, 'incident', url]);
    });
  }

  it('compares GUIDs without case or braces', () => {
    const t = matchedTicket(match(`{${GUID.toUpperCase()}}`, urls[0]!));
    assert.equal(t.id, GUID);
  });

  it('recognises a GUID alone', () => {
    const t = matchedTicket(match(GUID.toUpperCase(), null));
    assert.deepEqual([t.system, t.id, t.object], ['dynamics365', GUID, null]);
  });

  it('rejects a different GUID', () => {
    const r = invalid(match('ab12cd34-1111-2222-3333-444455556667', urls[0]!));
    assert.equal(r.code, 'TICKET_MISMATCH');
    assert.match(r.reason, /444455556667/);
  });

  it('does not take a list view for a record', () => {
    assert.match(noTicket(match(null, 'https://acme.crm4.dynamics.com/main.aspx?pagetype=entitylist&etn=incident')), /Dynamics 365 link/);
  });
});

describe('matchTicket: ids no CRM claims, and what is not a ticket', () => {
  it('keeps an unrecognised id as given, trimmed, as generic', () => {
    const t = matchedTicket(match('  HELP-42 \n', null));
    assert.deepEqual([t.system, t.id, t.object, t.url], ['generic', 'HELP-42', null, null]);
  });

  it('keeps a numeric id given as a string: without a URL the CRM is unknown', () => {
    const t = matchedTicket(match('12345', null));
    assert.deepEqual([t.system, t.id], ['generic', '12345']);
  });

  it('refuses an id with control characters', () => {
    const r = invalid(match('HELP-42\u0007', null));
    assert.equal(r.code, 'TICKET_INVALID_ID');
    assert.equal(r.field, 'out_ticket_id');
  });

  it('says so when both fields are empty or blank', () => {
    assert.match(noTicket(match(null, null)), /out_ticket_id and out_ticket_url are both empty/);
    assert.match(noTicket(match('   ', ' ')), /both empty/);
  });

  it('does not follow a javascript: URL', () => {
    assert.match(noTicket(match(null, 'javascript:alert(document.cookie)')), /javascript: URL, not an http\(s\) link/);
  });

  it('says a garbage URL is not a URL', () => {
    assert.match(noTicket(match(null, 'crm.example.com/lightning/r/Case/500ak000024vx4uAAA/view')), /not a valid absolute URL/);
    assert.match(noTicket(match(null, 'http://')), /not a valid absolute URL/);
  });

  it('names the host of an http link that is no CRM record', () => {
    assert.match(noTicket(match(null, 'https://intranet.example.org/wiki/Page')), /host intranet\.example\.org\) is not a CRM record link/);
  });

  it('matches by id when the URL is a media link, warning that the URL was ignored', () => {
    const t = matchedTicket(match('500ak000024vx4uAAA', 'https://media.ccaiplatform.com/v1/download/88900e6a', { allowedHosts: ['crm.example.com'] }));
    assert.equal(t.system, 'salesforce');
    assert.equal(t.url, null);
    assert.ok(t.warnings.some((w) => /out_ticket_url ignored/.test(w) && /media\.ccaiplatform\.com/.test(w)), t.warnings.join('; '));
  });

  it('matches by id when the URL is garbage, warning about it', () => {
    const t = matchedTicket(match('HELP-42', 'javascript:void(0)'));
    assert.equal(t.id, 'HELP-42');
    assert.ok(t.warnings.some((w) => /ignored/.test(w) && /javascript:/.test(w)));
  });

  it('keeps is_out_ticket_account and warns that the record is an account', () => {
    const t = matchedTicket(match('001ak00000AbCdEAAV', null, ANY_HOST, true));
    assert.equal(t.isAccount, true);
    assert.ok(t.warnings.includes("is_out_ticket_account is true: the record is the customer's account"));
    assert.equal(matchedTicket(match('001ak00000AbCdEAAV', null)).isAccount, false);
  });
});

describe('matchTicket: credentials and look-alike ids', () => {
  const LINK = 'https://crm.example.com/lightning/r/Case/500ak000024vx4uAAA/view';

  it('removes a user name and password from the ticket URL, with a warning that does not repeat them', () => {
    const m = match('500ak000024vx4uAAA', 'https://jane.doe:s3cr3t@crm.example.com/lightning/r/Case/500ak000024vx4uAAA/view');
    assert.equal(m.outcome, 'matched');
    if (m.outcome !== 'matched') return;
    assert.equal(m.ticket.url, LINK);
    assert.deepEqual(m.warnings, [{ field: 'out_ticket_url', message: 'out_ticket_url carried a user name or password; removed (credentials in a ticket link are never stored, shown or sent)' }]);
    assert.doesNotMatch(JSON.stringify(m), /s3cr3t|jane\.doe/);
  });

  it('removes them from a link it ignores too, and from a user name alone', () => {
    const m = match('HELP-42', 'https://admin:hunter2@wiki.example.org/page');
    assert.doesNotMatch(JSON.stringify(m), /hunter2|admin/);
    const u = matchedTicket(match(null, 'https://token@crm.example.com/lightning/r/Case/500ak000024vx4uAAA/view'));
    assert.equal(u.url, LINK);
    assert.ok(u.warnings.some((w) => /user name or password; removed/.test(w)));
  });

  it('keeps a link without credentials exactly as given, an @ in its path included', () => {
    const at = 'https://crm.example.com/lightning/r/Case/500ak000024vx4uAAA/view?by=jane@example.com';
    assert.equal(matchedTicket(match('500ak000024vx4uAAA', at)).url, at);
  });

  it('refuses a Salesforce-style id with a Cyrillic letter instead of making a look-alike ticket', () => {
    const cyrillic = '500ak000024vx4u\u0410AA'; // А (U+0410) where the real id has A
    const r = invalid(match(cyrillic, null));
    assert.equal(r.code, 'TICKET_INVALID_ID');
    assert.equal(r.field, 'out_ticket_id');
    assert.match(r.reason, /looks like a Salesforce .* id but contains "\u0410" \(U\+0410\)/);
    assert.equal(invalid(match('500\u0430k000024vx4uAAA', null)).code, 'TICKET_INVALID_ID', 'a small Cyrillic а');
  });

  it('refuses full-width digits and invisible characters in an id, and look-alike ServiceNow and Dynamics ids', () => {
    assert.equal(invalid(match('\uff15\uff10\uff10ak000024vx4uAAA', null)).code, 'TICKET_INVALID_ID');
    assert.match(invalid(match('HELP\u200b-42', null)).reason, /invisible character .*U\+200B/);
    assert.equal(invalid(match('IN\u04210010001', null)).code, 'TICKET_INVALID_ID', 'a Cyrillic С in an incident number');
    assert.equal(invalid(match('5\u0435d0b5a8-0bd1-4a3b-9c0e-1f2d3c4b5a69', null)).code, 'TICKET_INVALID_ID', 'a Cyrillic е in a GUID');
  });

  it('refuses any non-ASCII letter in an id of a CRM id shape, not only the look-alikes it knows', () => {
    for (const c of ['\u043a', '\u0475', '\u00c1', '\u0131', '\u0251', '\u00e9']) {
      const r = invalid(match(`500a${c}000024vx4uAAA`, null));
      assert.equal(r.code, 'TICKET_INVALID_ID', c);
      assert.match(r.reason, /looks like a Salesforce record id/);
    }
    assert.equal(invalid(match('46d44a5d\u00e0c0e0e5e1b6e0a84e1b4b5c9', null)).code, 'TICKET_INVALID_ID', 'a sys_id shape');
  });

  it('keeps an honest id with non-ASCII letters as given', () => {
    const t = matchedTicket(match('Réclamation-42', null));
    assert.deepEqual([t.system, t.id], ['generic', 'Réclamation-42']);
  });
});

describe('allowed hosts', () => {
  it('parses the setting: trimmed, lower-cased, empty entries dropped, schemes and paths reduced to hosts', () => {
    assert.deepEqual(parseAllowedHosts(undefined), []);
    assert.deepEqual(parseAllowedHosts(''), []);
    assert.deepEqual(parseAllowedHosts(' CRM.Example.com , ,*.Force.com,.zendesk.com,'), ['crm.example.com', '*.force.com', '.zendesk.com']);
    assert.deepEqual(parseAllowedHosts('https://acme.my.salesforce.com/lightning/page/home, http://crm.example.com:8443/x?y'), [
      'acme.my.salesforce.com',
      'crm.example.com',
    ]);
    assert.deepEqual(parseAllowedHosts('crm.example.com,CRM.EXAMPLE.COM'), ['crm.example.com']);
  });

  it('allows any host when the list is empty', () => {
    assert.equal(isHostAllowed('anything.example', []), true);
  });

  it('matches exact hosts case-insensitively', () => {
    assert.equal(isHostAllowed('CRM.example.com', ['crm.example.com']), true);
    assert.equal(isHostAllowed('crm.example.com.evil.example', ['crm.example.com']), false);
    assert.equal(isHostAllowed('other.example.com', ['crm.example.com']), false);
  });

  it('matches *.domain on subdomains only, .domain on the domain too', () => {
    assert.equal(isHostAllowed('acme.lightning.force.com', ['*.force.com']), true);
    assert.equal(isHostAllowed('force.com', ['*.force.com']), false);
    assert.equal(isHostAllowed('evilforce.com', ['*.force.com']), false);
    assert.equal(isHostAllowed('zendesk.com', ['.zendesk.com']), true);
    assert.equal(isHostAllowed('acme.zendesk.com', ['.zendesk.com']), true);
  });

  it('refuses a record link on a host not in the list, naming the host and the setting', () => {
    const allowed = parseAllowedHosts('*.my.salesforce.com');
    const r = invalid(match(null, 'https://crm.example.com/lightning/r/Case/500ak000024vx4uAAA/view', { allowedHosts: allowed }));
    assert.equal(r.code, 'TICKET_HOST_NOT_ALLOWED');
    assert.equal(r.field, 'out_ticket_url');
    assert.match(r.reason, /crm\.example\.com/);
    assert.match(r.reason, /add .*CRM_ALLOWED_HOSTS/);
  });

  it('checks the host even when the id alone would do, and before comparing ids', () => {
    const allowed = ['acme.zendesk.com'];
    const url = 'https://phish.zendesk.com/agent/tickets/4711';
    assert.equal(invalid(match('4711', url, { allowedHosts: allowed })).code, 'TICKET_HOST_NOT_ALLOWED');
    assert.equal(invalid(match('4712', url, { allowedHosts: allowed })).code, 'TICKET_HOST_NOT_ALLOWED');
  });

  it('lets an allowed host through, wildcard or exact, whatever its case', () => {
    const url = 'https://ACME.Lightning.Force.com/lightning/r/Case/500ak000024vx4uAAA/view';
    assert.equal(matchedTicket(match(null, url, { allowedHosts: parseAllowedHosts('*.force.com') })).id, '500ak000024vx4uAAA');
    assert.equal(matchedTicket(match(null, url, { allowedHosts: parseAllowedHosts('acme.lightning.force.com') })).id, '500ak000024vx4uAAA');
  });
});

describe('allowlist and links the worker does not recognise', () => {
  const allowed = { allowedHosts: ['acme.zendesk.com'] };
  it('refuses an unrecognised link on a host outside the list, with or without an id', () => {
    for (const id of ['5', null]) {
      const m = matchTicket({ id, url: 'https://evil.example.net/agent/tickets/5', isAccount: false }, allowed);
      assert.equal(m.outcome, 'invalid');
      assert.equal(m.outcome === 'invalid' && m.code, 'TICKET_HOST_NOT_ALLOWED');
      assert.match(m.outcome === 'invalid' ? m.reason : '', /evil\.example\.net/);
    }
  });
  it('still treats a CCAI Platform media link as no ticket', () => {
    const m = matchTicket({ id: null, url: 'https://media.ccaiplatform.com/v1/download/88900e6a', isAccount: false }, allowed);
    assert.equal(m.outcome, 'no-ticket');
  });
  it('without a list, an unrecognised link is ignored and the id used', () => {
    const m = matchTicket({ id: '5', url: 'https://evil.example.net/x', isAccount: false }, { allowedHosts: [] });
    assert.equal(m.outcome, 'matched');
  });
});

