// The Salesforce double driven by the real, unmocked jsforce: if these pass, code written
// against jsforce talks to the double the way it would talk to an org.
import assert from 'node:assert/strict';
import { createSign, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Connection } from 'jsforce';
import { startSalesforceDouble, DOUBLE_PASSWORD } from './double.ts';
import type { SalesforceDouble } from './double.ts';
import { checksum, normalizeId } from './ids.ts';
import { soqlEquals, soqlMatcher } from './soql.ts';

const VERSION = '62.0';
const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

type Saved = { id?: string; success: boolean; errors: Array<{ statusCode: string; message: string; fields: string[] }> };
type ApiErr = Error & { errorCode?: string; name: string; data?: unknown };

function connect(sf: SalesforceDouble): Connection {
  return new Connection({ instanceUrl: sf.url, accessToken: sf.accessToken(), version: VERSION });
}

function signJwt(claims: Record<string, unknown>, privateKeyPem: string): string {
  const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: 'RS256' })}.${enc(claims)}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(privateKeyPem).toString('base64url')}`;
}

async function rejection(p: PromiseLike<unknown>): Promise<ApiErr> {
  try {
    await p;
  } catch (e) {
    return e as ApiErr;
  }
  assert.fail('expected the call to fail');
}

describe('record ids', () => {
  test('checksum matches the documented sample', () => {
    assert.equal(checksum('500xx000000bpkT'), 'AAQ');
    assert.equal(normalizeId('500xx000000bpkTAAQ'), '500xx000000bpkT');
    assert.equal(normalizeId('500xx000000bpkTAAA'), null);
    assert.equal(normalizeId('not-an-id'), null);
  });

  test('seeded ids have the key prefix of their object and a valid checksum', async () => {
    const sf = await startSalesforceDouble();
    try {
      const prefixes = { Case: '500', Task: '00T', CaseComment: '00a', FeedItem: '0D5', Account: '001', Contact: '003' };
      const caseId = sf.insert('Case', { Subject: 'seed' });
      const fields: Record<string, Record<string, unknown>> = {
        Case: { Subject: 'x' }, Task: { Subject: 'x' }, CaseComment: { ParentId: caseId }, FeedItem: { ParentId: caseId, Body: 'x' },
        Account: { Name: 'Acme' }, Contact: { LastName: 'Doe' },
      };
      for (const [type, prefix] of Object.entries(prefixes)) {
        const id = sf.insert(type, fields[type]!);
        assert.equal(id.length, 18);
        assert.equal(id.slice(0, 3), prefix);
        assert.equal(id.slice(15), checksum(id.slice(0, 15)));
      }
      assert.match(caseId.slice(5, 15), /[A-Z]/, 'ids mix upper and lower case so the checksum is not trivial');
      const [stored] = sf.records('Case');
      assert.equal(stored!.Id, caseId);
      assert.equal(stored!.Status, 'New');
      assert.match(String(stored!.CreatedDate), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    } finally {
      await sf.close();
    }
  });
});

describe('jsforce against the double (instance URL + access token)', () => {
  let sf: SalesforceDouble;
  let conn: Connection;
  before(async () => {
    sf = await startSalesforceDouble();
    sf.describeOverride('Case', [{ name: 'CCAI_Last_Disposition__c', length: 80 }]);
    conn = connect(sf);
  });
  after(() => sf.close());

  test('create of two Tasks is one sObject Collections call', async () => {
    const caseId = sf.insert('Case', { Subject: 'Printer on fire' });
    sf.reset();
    const results = (await conn.sobject('Task').create([
      { WhatId: caseId, Subject: 'Call', CallObject: 'sess-1', CallType: 'Inbound', CallDurationInSeconds: 42 },
      { WhatId: caseId, Subject: 'Call', CallObject: 'sess-2', CallType: 'Outbound' },
    ])) as Saved[];
    assert.deepEqual(sf.requests.map((r) => `${r.method} ${r.path}`), [`POST /services/data/v${VERSION}/composite/sobjects`]);
    assert.equal(sf.apiCalls(), 1);
    assert.deepEqual(results.map((r) => [r.success, r.errors, r.id?.slice(0, 3)]), [[true, [], '00T'], [true, [], '00T']]);
    const tasks = sf.records('Task').filter((t) => String(t.CallObject).startsWith('sess-'));
    assert.deepEqual(tasks.map((t) => [t.Id, t.WhatId, t.CallDurationInSeconds ?? null, t.Status, t.TaskSubtype]),
      [[results[0]!.id, caseId, 42, 'Not Started', 'Task'], [results[1]!.id, caseId, null, 'Not Started', 'Task']]);
  });

  test('per-record errors come back in jsforce results, the rest is saved', async () => {
    const gone = sf.insert('Case', { Subject: 'deleted later' });
    sf.remove('Case', gone);
    const live = sf.insert('Case', { Subject: 'live' });
    const results = (await conn.sobject('Task').create([
      { WhatId: gone, CallObject: 'err-1' },
      { WhatId: live, CallObject: 'x'.repeat(256) },
      { WhatId: live, CallObject: 'err-3', CallType: 'Sideways' },
      { WhatId: live, CallObject: 'err-4' },
      { WhatId: 'nope', CallObject: 'err-5' },
      { WhatId: sf.insert('Contact', { LastName: 'Doe' }), CallObject: 'err-6' },
    ])) as Saved[];
    assert.deepEqual(results.map((r) => r.success ? 'ok' : r.errors[0]!.statusCode), [
      'ENTITY_IS_DELETED', 'STRING_TOO_LONG', 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', 'ok', 'MALFORMED_ID', 'FIELD_INTEGRITY_EXCEPTION',
    ]);
    assert.deepEqual(results[1]!.errors[0]!.fields, ['CallObject']);
    assert.match(results[1]!.errors[0]!.message, /data value too large: x+ \(max length=255\)$/);
    assert.equal(results[0]!.id, undefined, 'a failed create carries no id');
    assert.deepEqual(sf.records('Task').filter((t) => String(t.CallObject).startsWith('err-')).map((t) => t.CallObject), ['err-4']);
  });

  test('allOrNone rolls every record back', async () => {
    const live = sf.insert('Case', { Subject: 'aon' });
    const before = sf.records('CaseComment').length;
    const results = (await conn.sobject('CaseComment').create(
      [{ ParentId: live, CommentBody: 'fine' }, { ParentId: live, CommentBody: 'é'.repeat(2001) }],
      { allOrNone: true },
    )) as Saved[];
    assert.deepEqual(results.map((r) => [r.success, r.errors[0]?.statusCode]), [
      [false, 'ALL_OR_NONE_OPERATION_ROLLED_BACK'], [false, 'STRING_TOO_LONG'],
    ]);
    assert.equal(sf.records('CaseComment').length, before, 'CommentBody is limited to 4000 bytes, and nothing was kept');
  });

  test('collection update: custom fields from describeOverride, unknown and read-only fields, deleted ids', async () => {
    const a = sf.insert('Case', { Subject: 'a' });
    const b = sf.insert('Case', { Subject: 'b' });
    sf.remove('Case', b);
    sf.reset();
    const results = (await conn.sobject('Case').update([
      { Id: a, CCAI_Last_Disposition__c: 'Resolved', Subject: 'a2' },
      { Id: b, Subject: 'b2' },
      { Id: a, No_Such_Field__c: 1 },
      { Id: a, CaseNumber: '1' },
      { Id: a.replace(/^500/, '501'), Subject: 'wrong prefix' },
    ])) as Saved[];
    assert.equal(sf.apiCalls(), 1);
    assert.equal(sf.requests[0]!.method, 'PATCH');
    assert.deepEqual(results.map((r) => r.success ? 'ok' : r.errors[0]!.statusCode), [
      'ok', 'ENTITY_IS_DELETED', 'INVALID_FIELD', 'INVALID_FIELD_FOR_INSERT_UPDATE', 'MALFORMED_ID',
    ]);
    assert.equal(results[0]!.id, a);
    const stored = sf.records('Case').find((c) => c.Id === a)!;
    assert.deepEqual([stored.Subject, stored.CCAI_Last_Disposition__c], ['a2', 'Resolved']);
  });

  test('single-record update, retrieve and their errors', async () => {
    const id = sf.insert('Case', { Subject: 'one' });
    sf.reset();
    assert.deepEqual(await conn.sobject('Case').update({ Id: id, Status: 'Closed' }), { id, success: true, errors: [] });
    assert.deepEqual(sf.requests.map((r) => `${r.method} ${r.path}`), [`PATCH /services/data/v${VERSION}/sobjects/Case/${id}`]);
    const rec = (await conn.sobject('Case').retrieve(id)) as Record<string, unknown>;
    assert.deepEqual([rec.Id, rec.Status, rec.IsClosed, (rec.attributes as { type: string }).type], [id, 'Closed', true, 'Case']);
    assert.equal((await rejection(conn.sobject('Case').update({ Id: id, Bogus__c: 1 }))).errorCode, 'INVALID_FIELD');
    assert.equal((await rejection(conn.sobject('Case').retrieve('500notanid'))).errorCode, 'MALFORMED_ID');
    const unknown = id.slice(0, 9) + 'zzzzzz';
    assert.equal((await rejection(conn.sobject('Case').retrieve(unknown))).errorCode, 'NOT_FOUND');
    sf.remove('Case', id);
    assert.equal((await rejection(conn.sobject('Case').update({ Id: id, Subject: 'x' }))).errorCode, 'ENTITY_IS_DELETED');
  });

  test('query: equality, IN, AND, LIMIT, deleted rows left out, malformed queries', async () => {
    const caseId = sf.insert('Case', { Subject: 'q' });
    const t1 = sf.insert('Task', { WhatId: caseId, CallObject: 'Q-1' });
    sf.insert('Task', { WhatId: caseId, CallObject: 'q-2' });
    const t3 = sf.insert('Task', { WhatId: caseId, CallObject: 'q-3' });
    sf.remove('Task', t3);
    const byKey = await conn.query<{ Id: string; CallObject: string }>(`SELECT Id, CallObject FROM Task WHERE CallObject = 'q-1'`);
    assert.deepEqual([byKey.totalSize, byKey.done, byKey.records[0]!.Id, byKey.records[0]!.CallObject], [1, true, t1, 'Q-1']);
    const some = await conn.query(`SELECT Id FROM Task WHERE WhatId = '${caseId.slice(0, 15)}' AND CallObject IN ('q-1', 'q-2', 'q-3') LIMIT 5`);
    assert.equal(some.totalSize, 2, 'a 15-character id matches, text compares case-insensitively, deleted rows are skipped');
    const found = await conn.sobject('Task').find({ CallObject: 'q-2' }, ['Id', 'WhatId']).limit(1);
    assert.equal((found[0] as { WhatId: string }).WhatId, caseId);
    assert.equal((await rejection(conn.query('SELECT Id FROM Task WHERE CallObject LIKE \'q%\''))).errorCode, 'MALFORMED_QUERY');
    assert.equal((await rejection(conn.query('SELECT Nope FROM Task'))).errorCode, 'INVALID_FIELD');
    assert.equal((await rejection(conn.query('SELECT Id FROM Nope'))).errorCode, 'INVALID_TYPE');
  });

  test('describe lists the call fields, custom fields and answers NOT_FOUND for unknown objects', async () => {
    const task = await conn.describe('Task');
    const field = (name: string) => task.fields.find((f) => f.name === name)!;
    assert.deepEqual([field('CallObject').length, field('Description').length, field('CallDisposition').length], [255, 32000, 255]);
    assert.deepEqual(field('CallType').picklistValues!.map((p) => p.value), ['Inbound', 'Outbound', 'Internal']);
    assert.equal(field('Id').updateable, false);
    const kase = await conn.describe('Case');
    assert.equal(kase.fields.find((f) => f.name === 'CCAI_Last_Disposition__c')?.custom, true);
    assert.equal((await rejection(conn.describe('NoSuchThing__c'))).errorCode, 'NOT_FOUND');
  });

  test('Sforce-Limit-Info fills conn.limitInfo; GET /limits agrees', async () => {
    sf.setDailyLimit(5000, 100);
    await conn.query('SELECT Id FROM Case LIMIT 1');
    assert.deepEqual(conn.limitInfo.apiUsage, { used: 101, limit: 5000 });
    const limits = (await conn.limits()) as unknown as { DailyApiRequests: { Max: number; Remaining: number } };
    assert.deepEqual(limits.DailyApiRequests, { Max: 5000, Remaining: 4898 });
  });

  test('composite: one API call, references between subrequests, allOrNone halts the rest', async () => {
    const caseId = sf.insert('Case', { Subject: 'composite' });
    sf.reset();
    const used = () => conn.limitInfo.apiUsage!.used;
    await conn.query('SELECT Id FROM Case LIMIT 1');
    const before = used();
    const v = `/services/data/v${VERSION}`;
    const res = (await conn.requestPost('/composite', {
      compositeRequest: [
        { method: 'POST', url: `${v}/sobjects/Task`, referenceId: 'task', body: { WhatId: caseId, CallObject: 'comp-1' } },
        { method: 'GET', url: `${v}/sobjects/Task/@{task.id}?fields=CallObject`, referenceId: 'read' },
        { method: 'PATCH', url: `${v}/sobjects/Case/${caseId}`, referenceId: 'touch', body: { Subject: 'touched' } },
        { method: 'GET', url: `${v}/query?q=${encodeURIComponent("SELECT Id FROM Task WHERE CallObject = 'comp-1'")}`, referenceId: 'q' },
      ],
    })) as { compositeResponse: Array<{ body: any; httpHeaders: Record<string, string>; httpStatusCode: number; referenceId: string }> };
    assert.equal(used() - before, 1, 'four subrequests count as one call');
    assert.equal(sf.apiCalls(), 2);
    assert.deepEqual(res.compositeResponse.map((r) => [r.referenceId, r.httpStatusCode]), [['task', 201], ['read', 200], ['touch', 204], ['q', 200]]);
    assert.equal(res.compositeResponse[1]!.body.CallObject, 'comp-1');
    assert.equal(res.compositeResponse[3]!.body.totalSize, 1);

    const halted = (await conn.requestPost('/composite', {
      allOrNone: true,
      compositeRequest: [
        { method: 'POST', url: `${v}/sobjects/Task`, referenceId: 'ok', body: { WhatId: caseId, CallObject: 'comp-2' } },
        { method: 'POST', url: `${v}/sobjects/CaseComment`, referenceId: 'bad', body: { ParentId: caseId, Nope__c: 1 } },
        { method: 'POST', url: `${v}/sobjects/Task`, referenceId: 'never', body: { WhatId: caseId, CallObject: 'comp-3' } },
      ],
    })) as { compositeResponse: Array<{ body: Array<{ errorCode: string }>; httpStatusCode: number }> };
    assert.deepEqual(halted.compositeResponse.map((r) => [r.httpStatusCode, r.body[0]!.errorCode]),
      [[400, 'PROCESSING_HALTED'], [400, 'INVALID_FIELD'], [400, 'PROCESSING_HALTED']]);
    assert.deepEqual(sf.records('Task').filter((t) => String(t.CallObject).startsWith('comp-')).map((t) => t.CallObject), ['comp-1']);
  });

  test('failRecords injects per-record errors, e.g. UNABLE_TO_LOCK_ROW', async () => {
    const a = sf.insert('Case', { Subject: 'locked' });
    const b = sf.insert('Case', { Subject: 'free' });
    sf.failRecords((sobject, rec, op) => sobject === 'Case' && op === 'update' && rec.Id === a
      ? { statusCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record' } : null);
    try {
      const results = (await conn.sobject('Case').update([{ Id: a, Subject: 'x' }, { Id: b, Subject: 'y' }])) as Saved[];
      assert.deepEqual(results.map((r) => r.success ? 'ok' : r.errors[0]!.statusCode), ['UNABLE_TO_LOCK_ROW', 'ok']);
      assert.equal(sf.records('Case').find((c) => c.Id === a)!.Subject, 'locked');
    } finally {
      sf.failRecords(() => null);
    }
  });

  test('more than 200 records in one collection is refused', async () => {
    const many = Array.from({ length: 201 }, (_, i) => ({ Subject: `n${i}` }));
    const err = await rejection(conn.sobject('Task').create(many));
    assert.equal(err.errorCode, 'EXCEEDED_ID_LIMIT');
  });
});

describe('faults', () => {
  let sf: SalesforceDouble;
  before(async () => { sf = await startSalesforceDouble({ dailyLimit: 1000 }); });
  after(() => sf.close());

  test('failNext 503: POST is not retried by jsforce, GET is', async () => {
    const conn = connect(sf);
    sf.failNext(1, { status: 503, body: [{ errorCode: 'SERVER_UNAVAILABLE', message: 'Server unavailable' }] });
    sf.reset();
    const err = await rejection(conn.sobject('Case').create({ Subject: 'x' }));
    assert.equal(err.errorCode, 'SERVER_UNAVAILABLE');
    assert.equal(sf.requests.length, 1);
    sf.failNext(1, { status: 503, body: [{ errorCode: 'SERVER_UNAVAILABLE', message: 'Server unavailable' }] });
    sf.reset();
    const res = await conn.query('SELECT Id FROM Case');
    assert.equal(res.totalSize, 0);
    assert.equal(sf.requests.length, 2, 'jsforce retried the GET once by itself');
  });

  test('expireTokens: 401 INVALID_SESSION_ID without refreshFn, transparent re-auth with one', async () => {
    const plain = connect(sf);
    const withRefresh = new Connection({
      instanceUrl: sf.url, accessToken: sf.accessToken(), version: VERSION,
      oauth2: { loginUrl: sf.url, clientId: sf.clientId, clientSecret: sf.clientSecret },
      refreshFn: (c, callback) => {
        c.oauth2.requestToken({ grant_type: 'client_credentials' })
          .then((r) => callback(null, r.access_token, r), (e: Error) => callback(e));
      },
    });
    sf.expireTokens();
    const err = await rejection(plain.query('SELECT Id FROM Case'));
    assert.deepEqual([err.errorCode, err.message], ['INVALID_SESSION_ID', 'Session expired or invalid']);
    sf.reset();
    const res = await withRefresh.query('SELECT Id FROM Case');
    assert.equal(res.done, true);
    assert.deepEqual(sf.requests.map((r) => [r.path.replace(/\/v\d+\.\d\//, '/vX/'), r.apiCall]),
      [['/services/data/vX/query', true], ['/services/oauth2/token', false], ['/services/data/vX/query', true]]);
  });

  test('403 REQUEST_LIMIT_EXCEEDED once the daily limit is used up', async () => {
    const conn = connect(sf);
    sf.setDailyLimit(10, 10);
    const err = await rejection(conn.sobject('Case').create({ Subject: 'over' }));
    assert.deepEqual([err.errorCode, err.message], ['REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.']);
    const res = await fetch(`${sf.url}/services/data/v${VERSION}/limits`, { headers: { Authorization: `Bearer ${sf.accessToken()}` } });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('sforce-limit-info'), 'api-usage=10/10');
    sf.setDailyLimit(1000, 0);
  });

  test('latency applies to every request, the token endpoint included', async () => {
    sf.setLatency(60);
    try {
      const t0 = Date.now();
      const res = await fetch(`${sf.url}/services/oauth2/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password' }) });
      assert.equal(res.status, 400);
      assert.ok(Date.now() - t0 >= 55);
    } finally {
      sf.setLatency(0);
    }
  });
});

describe('OAuth token endpoint', () => {
  let sf: SalesforceDouble;
  before(async () => { sf = await startSalesforceDouble(); });
  after(() => sf.close());

  function oauthConnection(secret = sf.clientSecret): Connection {
    return new Connection({ loginUrl: sf.url, version: VERSION, oauth2: { loginUrl: sf.url, clientId: sf.clientId, clientSecret: secret } });
  }

  test('client credentials through conn.authorize, then API calls work', async () => {
    const conn = oauthConnection();
    sf.reset();
    const user = await conn.authorize({ grant_type: 'client_credentials' });
    assert.equal(conn.instanceUrl, sf.url);
    assert.match(user.organizationId, /^00D/);
    assert.match(user.id, /^005/);
    assert.deepEqual(sf.requests.map((r) => [r.method, r.path, r.apiCall]), [['POST', '/services/oauth2/token', false]]);
    assert.equal(sf.apiCalls(), 0);
    assert.equal((await conn.query('SELECT Id FROM Case')).totalSize, 0);
    const err = await rejection(oauthConnection('wrong').authorize({ grant_type: 'client_credentials' }));
    assert.deepEqual([err.name, err.message], ['invalid_client', 'invalid client credentials']);
  });

  test('the token response has the documented fields', async () => {
    const res = await fetch(`${sf.url}/services/oauth2/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: sf.clientId, client_secret: sf.clientSecret }),
    });
    const body = (await res.json()) as Record<string, string>;
    assert.equal(res.status, 200);
    for (const key of ['access_token', 'instance_url', 'id', 'token_type', 'issued_at', 'signature', 'scope']) assert.ok(body[key], key);
    assert.equal(body.token_type, 'Bearer');
    assert.match(body.id!, new RegExp(`^${sf.url}/id/00D\\w{15}/005\\w{15}$`));
  });

  test('JWT bearer: an assertion signed with privateKeyPem is accepted, bad ones are not', async () => {
    const claims = { iss: sf.clientId, sub: sf.username, aud: sf.url, exp: Math.floor(Date.now() / 1000) + 180 };
    const conn = new Connection({ loginUrl: sf.url, version: VERSION });
    await conn.authorize({ grant_type: JWT_GRANT, assertion: signJwt(claims, sf.privateKeyPem) });
    assert.equal((await conn.query('SELECT Id FROM Task')).done, true);

    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const cases: Array<[Record<string, unknown>, string, string, string]> = [
      [claims, other, 'invalid_grant', 'invalid assertion'],
      [{ ...claims, exp: Math.floor(Date.now() / 1000) - 10 }, sf.privateKeyPem, 'invalid_grant', 'expired authorization code'],
      [{ ...claims, aud: 'https://example.com' }, sf.privateKeyPem, 'invalid_grant', 'audience is invalid'],
      [{ ...claims, aud: 'https://login.salesforce.com' }, sf.privateKeyPem, '', ''],
      [{ ...claims, iss: 'someone-else' }, sf.privateKeyPem, 'invalid_client_id', 'client identifier invalid'],
    ];
    for (const [c, key, error, description] of cases) {
      const attempt = new Connection({ loginUrl: sf.url, version: VERSION }).authorize({ grant_type: JWT_GRANT, assertion: signJwt(c, key) });
      if (!error) {
        await attempt;
        continue;
      }
      const err = await rejection(attempt);
      assert.deepEqual([err.name, err.message], [error, description]);
    }
  });

  test('username-password fallback through conn.login', async () => {
    const conn = oauthConnection();
    await conn.login(sf.username, DOUBLE_PASSWORD);
    assert.equal(conn.instanceUrl, sf.url);
    assert.equal((await conn.query('SELECT Id FROM Case')).done, true);
    const err = await rejection(oauthConnection().login(sf.username, 'wrong'));
    assert.equal(err.name, 'invalid_grant');
  });

  test('versions list needs no token and is not an API call', async () => {
    sf.reset();
    const res = await fetch(`${sf.url}/services/data/`);
    const versions = (await res.json()) as Array<{ version: string; label: string; url: string }>;
    assert.deepEqual(versions.at(-1), { version: sf.apiVersion, label: "Winter '25", url: `/services/data/v${sf.apiVersion}` });
    assert.deepEqual(versions[0], { version: '31.0', label: "Summer '14", url: '/services/data/v31.0' });
    assert.equal(res.headers.get('sforce-limit-info'), null);
    assert.equal(sf.apiCalls(), 0);
    const unauth = await fetch(`${sf.url}/services/data/v${VERSION}/limits`);
    assert.equal(unauth.status, 401);
    assert.deepEqual(await unauth.json(), [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
  });
});

test('the double\'s indexed WHERE matcher agrees with SOQL equality, value by value', () => {
  const id18 = '500ak000024vx4uAAA';
  const values: unknown[] = [null, undefined, id18, id18.slice(0, 15), id18.toLowerCase(), '500ak000024vx4u', '500ak000024vx4uXYZ', 'call-1418', 'CALL-1418', 'call-1419', 'short', '', 0, 1, 1.5, '1', true, false, 'true'];
  let compared = 0;
  for (const type of ['id', 'reference', 'string', 'double', 'boolean', 'datetime']) {
    for (const stored of values) {
      for (let i = 0; i < values.length; i++) {
        const literals = [values[i], values[(i + 7) % values.length]];
        if (literals.includes(undefined)) continue; // a literal is never undefined
        const expected = literals.some((l) => soqlEquals(type, stored, l));
        assert.equal(soqlMatcher(type, literals)(stored), expected, `${type}: ${JSON.stringify(stored)} IN ${JSON.stringify(literals)}`);
        compared++;
      }
    }
  }
  assert.ok(compared > 1000);
});
