// A loopback HTTP server that speaks the documented Salesforce REST wire format, for tests and
// the benchmark (no org is reachable from here). jsforce is pointed at it with
// loginUrl/instanceUrl = double.url. What it implements and what it does not: README.md here.
//
// Documented behaviour mimicked (Salesforce REST API Developer Guide unless noted):
// - OAuth 2.0 token endpoint: client credentials, JWT bearer (RS256), username-password;
//   success and error bodies as in the OAuth flow pages.
// - Versions (GET /services/data/, no auth, not counted), Limits, sObject Describe/Basic CRUD,
//   sObject Collections create/update (200 records, per-record SaveResults, allOrNone),
//   Composite (25 subrequests, one API call, allOrNone -> PROCESSING_HALTED), Query.
// - Errors as `[{message, errorCode, fields?}]`; 401 INVALID_SESSION_ID; 403
//   REQUEST_LIMIT_EXCEEDED; the Sforce-Limit-Info header on every API response.
import { createHmac, createVerify, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeId, normalizeId, to18 } from './ids.ts';
import { customField, customObject, describeBody, standardObjects } from './schema.ts';
import type { FieldDef, ObjectDef } from './schema.ts';
import { parseSoql, soqlMatcher, SoqlError } from './soql.ts';

export interface SalesforceDouble {
  url: string;
  apiVersion: string;
  clientId: string;
  clientSecret: string;
  username: string;
  publicKeyPem: string;
  privateKeyPem: string;
  accessToken(): string;
  records(sobject: string): Array<Record<string, unknown>>;
  insert(sobject: string, fields: Record<string, unknown>): string;
  remove(sobject: string, id: string): void;
  /** every request; a composite one lists its subrequests (`POST /composite/sobjects`, `GET /query`) */
  requests: Array<{ method: string; path: string; apiCall: boolean; at: number; subrequests?: string[] }>;
  apiCalls(): number;
  reset(): void;
  setLatency(ms: number): void;
  setDailyLimit(max: number, used?: number): void;
  failNext(n: number, reply: { status: number; body: unknown }): void;
  failRecords(match: RecordFailure): void;
  expireTokens(): void;
  describeOverride(
    sobject: string,
    fields: Array<{ name: string; type?: string; updateable?: boolean; createable?: boolean; length?: number }>,
  ): void;
  close(): Promise<void>;
}

export type RecordFailure = (
  sobject: string,
  record: Record<string, unknown>,
  op: 'create' | 'update',
) => { statusCode: string; message: string; fields?: string[] } | null;

/** The password accepted by the username-password grant. */
export const DOUBLE_PASSWORD = 'secret';

interface Reply { status: number; body?: unknown; headers?: Record<string, string> }
interface RecordError { statusCode: string; message: string; fields: string[] }
interface Stored { type: string; fields: Record<string, unknown>; deleted: boolean }
interface Ctx { version: string; nested: boolean; allOrNone: boolean; subrequests?: string[] }
type Json = Record<string, unknown>;

const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TEXT_TYPES = ['string', 'textarea', 'picklist', 'combobox', 'email', 'phone', 'url'];
const HALTED = 'The transaction was rolled back since another operation in the same transaction failed.';
const ROLLED_BACK = 'Record rolled back because not all records were valid and the request was using AllOrNone header';

const apiError = (status: number, errorCode: string, message: string, fields?: string[]): Reply =>
  ({ status, body: [{ message, errorCode, ...(fields ? { fields } : {}) }] });
const notFound = (): Reply => apiError(404, 'NOT_FOUND', 'The requested resource does not exist');
const ok = (body: unknown, status = 200): Reply => ({ status, body });
const recErr = (statusCode: string, message: string, fields: string[] = []): RecordError => ({ statusCode, message, fields });
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const stamp = (): string => new Date().toISOString().replace('Z', '+0000'); // 2025-01-01T12:00:00.000+0000

export async function startSalesforceDouble(
  opts: { latencyMs?: number; apiVersion?: string; dailyLimit?: number; /** records in one query answer (Salesforce: 2,000) */ queryPageSize?: number } = {},
): Promise<SalesforceDouble> {
  const apiVersion = opts.apiVersion ?? '62.0';
  const queryPageSize = opts.queryPageSize ?? 2_000;
  const keys = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const clientId = '3MVG9' + randomBytes(24).toString('base64url');
  const clientSecret = randomBytes(32).toString('hex').toUpperCase();
  const username = 'integration@ccai-crm-sync.test';
  const orgId = makeId('00D', 1_000_001);
  const userId = makeId('005', 1_000_002);

  const objects = new Map<string, ObjectDef>(standardObjects().map((o) => [o.name.toLowerCase(), o]));
  let store = new Map<string, Stored>(); // by 15-character id, all object types
  let counter = 1_000_000_000; // base 62 -> mixed-case ids, so the checksum matters
  let caseNumber = 1000;
  let customPrefixes = 0;
  const tokens = new Set<string>();
  let currentToken: string | null = null;
  const requests: SalesforceDouble['requests'] = [];
  let latency = opts.latencyMs ?? 0;
  let limitMax = opts.dailyLimit ?? 100_000;
  let used = 0;
  const injected: Reply[] = [];
  let recordFailure: RecordFailure = () => null;
  let base = '';

  const getObject = (name: unknown): ObjectDef | undefined =>
    typeof name === 'string' ? objects.get(name.toLowerCase()) : undefined;
  const fieldOf = (obj: ObjectDef, name: string): FieldDef | undefined =>
    obj.fields.find((fd) => fd.name.toLowerCase() === name.toLowerCase()); // field names are case-insensitive
  const objectOfId = (id15: string): ObjectDef | undefined =>
    [...objects.values()].find((o) => o.keyPrefix === id15.slice(0, 3));
  const versions = (): string[] => {
    const out: string[] = [];
    for (let v = 31; v <= Math.floor(Number(apiVersion)); v++) out.push(`${v}.0`);
    return out;
  };
  const recordUrl = (version: string, type: string, id: string): string => `/services/data/v${version}/sobjects/${type}/${id}`;

  // ---- OAuth 2.0 token endpoint (POST /services/oauth2/token, form-encoded) ----------------
  function issueToken(): Json {
    const token = `${orgId.slice(0, 15)}!${randomBytes(48).toString('base64url')}`;
    tokens.add(token);
    currentToken = token;
    const id = `${base}/id/${orgId}/${userId}`;
    const issuedAt = String(Date.now());
    // signature: HMAC-SHA256 of id + issued_at keyed by the consumer secret, base64
    const signature = createHmac('sha256', clientSecret).update(id + issuedAt).digest('base64');
    return { access_token: token, signature, scope: 'api', instance_url: base, id, token_type: 'Bearer', issued_at: issuedAt };
  }

  function checkAssertion(assertion: string | null): [string, string] | null {
    const parts = (assertion ?? '').split('.');
    if (parts.length !== 3) return ['invalid_grant', 'invalid assertion'];
    let header: Json;
    let claims: Json;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    } catch {
      return ['invalid_grant', 'invalid assertion'];
    }
    const signed = header.alg === 'RS256' &&
      createVerify('RSA-SHA256').update(`${parts[0]}.${parts[1]}`).verify(keys.publicKey, Buffer.from(parts[2]!, 'base64url'));
    if (!signed) return ['invalid_grant', 'invalid assertion'];
    if (claims.iss !== clientId) return ['invalid_client_id', 'client identifier invalid'];
    const audiences = [base, 'https://login.salesforce.com', 'https://test.salesforce.com'];
    if (!audiences.includes(String(claims.aud).replace(/\/$/, ''))) return ['invalid_grant', 'audience is invalid'];
    if (claims.sub !== username) return ['invalid_grant', 'invalid assertion'];
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now()) return ['invalid_grant', 'expired authorization code'];
    return null;
  }

  function tokenEndpoint(raw: string, authorization: string | undefined): Reply {
    const p = new URLSearchParams(raw);
    const grant = p.get('grant_type');
    let cid = p.get('client_id');
    let secret = p.get('client_secret');
    const basic = /^Basic\s+(.+)$/i.exec(authorization ?? ''); // client credentials may come as HTTP Basic
    if (basic) {
      const [a = '', b = ''] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
      cid ??= decodeURIComponent(a);
      secret ??= decodeURIComponent(b);
    }
    const oauthError = (error: string, description: string): Reply => ({ status: 400, body: { error, error_description: description } });
    if (grant === 'client_credentials' || grant === 'password') {
      if (cid !== clientId) return oauthError('invalid_client_id', 'client identifier invalid');
      if (secret !== clientSecret) return oauthError('invalid_client', 'invalid client credentials');
      if (grant === 'password' && (p.get('username') !== username || p.get('password') !== DOUBLE_PASSWORD)) {
        return oauthError('invalid_grant', 'authentication failure');
      }
      return ok({ ...issueToken(), ...(grant === 'client_credentials' ? { token_format: 'opaque' } : {}) });
    }
    if (grant === JWT_GRANT) {
      const problem = checkAssertion(p.get('assertion'));
      return problem ? oauthError(...problem) : ok(issueToken());
    }
    if (!grant) return oauthError('invalid_request', 'grant type is missing');
    return oauthError('unsupported_grant_type', 'grant type not supported');
  }

  // ---- record writes shared by single-record, collections and composite --------------------
  function checkValue(fd: FieldDef, value: unknown): RecordError | null {
    if (fd.type === 'reference') {
      const id15 = normalizeId(value);
      if (!id15) return recErr('MALFORMED_ID', `${fd.label}: id value of incorrect type: ${String(value)}`, [fd.name]);
      const target = objectOfId(id15);
      if (!target || !(fd.referenceTo ?? []).includes(target.name)) {
        return recErr('FIELD_INTEGRITY_EXCEPTION', `${fd.label}: id value of incorrect type: ${String(value)}`, [fd.name]);
      }
      const rec = store.get(id15);
      if (!rec) return recErr('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', [fd.name]);
      if (rec.deleted) return recErr('ENTITY_IS_DELETED', 'entity is deleted', [fd.name]);
    }
    if (typeof value === 'string' && TEXT_TYPES.includes(fd.type)) {
      const size = fd.maxBytes ? Buffer.byteLength(value, 'utf8') : value.length;
      if (size > (fd.maxBytes ?? fd.length)) {
        return recErr('STRING_TOO_LONG', `${fd.label}: data value too large: ${value} (max length=${fd.length})`, [fd.name]);
      }
    }
    if (fd.restricted && !(fd.picklist ?? []).includes(String(value))) {
      return recErr('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', `${fd.label}: bad value for restricted picklist field: ${String(value)}`, [fd.name]);
    }
    return null;
  }

  function checkFields(obj: ObjectDef, input: Json, op: 'create' | 'update'): { values: Json } | { error: RecordError } {
    const values: Json = {};
    const readOnly: string[] = [];
    for (const [key, value] of Object.entries(input)) {
      if (key === 'attributes') continue;
      const fd = fieldOf(obj, key);
      if (!fd) return { error: recErr('INVALID_FIELD', `No such column '${key}' on sobject of type ${obj.name}`) };
      if (op === 'create' ? !fd.createable : !fd.updateable) readOnly.push(fd.name);
      else values[fd.name] = value;
    }
    if (readOnly.length) {
      return { error: recErr('INVALID_FIELD_FOR_INSERT_UPDATE', `Unable to create/update fields: ${readOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`, readOnly) };
    }
    for (const [name, value] of Object.entries(values)) {
      const fd = fieldOf(obj, name)!;
      if (value === null) {
        if (fd.required) return { error: recErr('REQUIRED_FIELD_MISSING', `Required fields are missing: [${fd.name}]`, [fd.name]) };
        continue;
      }
      const error = checkValue(fd, value);
      if (error) return { error };
      if (fd.type === 'reference') values[name] = to18(normalizeId(value)!); // stored and returned as 18 chars
    }
    return { values };
  }

  function derive(rec: Stored): void {
    if (rec.type === 'Case') rec.fields.IsClosed = rec.fields.Status === 'Closed';
    if (rec.type === 'Task') rec.fields.IsClosed = rec.fields.Status === 'Completed';
  }

  function insertRaw(obj: ObjectDef, values: Json): string {
    const id = makeId(obj.keyPrefix, counter++);
    const now = stamp();
    for (const fd of obj.fields) if (values[fd.name] === undefined && fd.defaultValue !== undefined) values[fd.name] = fd.defaultValue;
    const rec: Stored = {
      type: obj.name,
      fields: { Id: id, ...values, IsDeleted: false, CreatedDate: now, LastModifiedDate: now, SystemModstamp: now },
      deleted: false,
    };
    if (obj.name === 'Case') rec.fields.CaseNumber = String(++caseNumber).padStart(8, '0');
    derive(rec);
    store.set(id.slice(0, 15), rec);
    return id;
  }

  function create(obj: ObjectDef, input: Json): { id: string } | { error: RecordError } {
    const checked = checkFields(obj, input, 'create');
    if ('error' in checked) return checked;
    const missing = obj.fields
      .filter((fd) => fd.required && fd.defaultValue === undefined && (checked.values[fd.name] ?? null) === null)
      .map((fd) => fd.name);
    if (missing.length) return { error: recErr('REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, missing) };
    const hook = recordFailure(obj.name, { ...checked.values }, 'create');
    if (hook) return { error: { fields: [], ...hook } };
    return { id: insertRaw(obj, checked.values) };
  }

  function update(obj: ObjectDef, rawId: unknown, input: Json): { id: string } | { error: RecordError } {
    if (rawId === undefined || rawId === null || rawId === '') return { error: recErr('MISSING_ARGUMENT', 'Id not specified in an update call') };
    const id15 = normalizeId(rawId);
    if (!id15 || !id15.startsWith(obj.keyPrefix)) {
      return { error: recErr('MALFORMED_ID', `${obj.name} ID: id value of incorrect type: ${String(rawId)}`, ['Id']) };
    }
    const rec = store.get(id15);
    if (!rec) return { error: recErr('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id') };
    if (rec.deleted) return { error: recErr('ENTITY_IS_DELETED', 'entity is deleted') };
    const checked = checkFields(obj, input, 'update');
    if ('error' in checked) return checked;
    const hook = recordFailure(obj.name, { Id: to18(id15), ...checked.values }, 'update');
    if (hook) return { error: { fields: [], ...hook } };
    Object.assign(rec.fields, checked.values);
    rec.fields.LastModifiedDate = rec.fields.SystemModstamp = stamp();
    derive(rec);
    return { id: to18(id15) };
  }

  const recordErrorReply = (e: RecordError): Reply => ({ status: 400, body: [{ message: e.message, errorCode: e.statusCode, fields: e.fields }] });
  const cloneStore = (): Map<string, Stored> => new Map([...store].map(([k, v]) => [k, { ...v, fields: { ...v.fields } }]));

  function output(obj: ObjectDef, rec: Stored, version: string, fields: FieldDef[] = obj.fields): Json {
    const out: Json = { attributes: { type: obj.name, url: recordUrl(version, obj.name, String(rec.fields.Id)) } };
    for (const fd of fields) out[fd.name] = rec.fields[fd.name] ?? null;
    return out;
  }

  // ---- resources ----------------------------------------------------------------------------
  function sobjects(method: string, seg: string[], query: URLSearchParams, body: unknown, ctx: Ctx): Reply {
    if (seg.length === 0) {
      return only(method, 'GET', () => ok({
        encoding: 'UTF-8', maxBatchSize: 200,
        sobjects: [...objects.values()].map((o) => ({
          name: o.name, label: o.label, keyPrefix: o.keyPrefix, custom: o.custom,
          createable: true, updateable: true, queryable: true, urls: describeBody(o, ctx.version).urls,
        })),
      }));
    }
    const obj = getObject(seg[0]);
    if (!obj) return notFound();
    if (seg.length === 1) {
      return only(method, 'POST', () => {
        if (!isObj(body)) return apiError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
        const r = create(obj, body);
        return 'error' in r ? recordErrorReply(r.error) : { ...ok({ id: r.id, success: true, errors: [] }, 201), headers: { Location: recordUrl(ctx.version, obj.name, r.id) } };
      });
    }
    if (seg.length === 2 && seg[1] === 'describe') return only(method, 'GET', () => ok(describeBody(obj, ctx.version)));
    if (seg.length !== 2) return notFound();
    const rawId = seg[1]!;
    const id15 = normalizeId(rawId);
    if (!id15 || !id15.startsWith(obj.keyPrefix)) return apiError(400, 'MALFORMED_ID', `${obj.name} ID: id value of incorrect type: ${rawId}`, ['Id']);
    const rec = store.get(id15);
    if (!rec) return notFound();
    if (rec.deleted) return apiError(404, 'ENTITY_IS_DELETED', 'entity is deleted');
    if (method === 'GET') {
      const names = query.get('fields')?.split(',').map((s) => s.trim()).filter(Boolean);
      const fields: FieldDef[] = [];
      for (const name of names ?? obj.fields.map((fd) => fd.name)) {
        const fd = fieldOf(obj, name);
        if (!fd) return apiError(400, 'INVALID_FIELD', noSuchColumn(name, obj.name));
        fields.push(fd);
      }
      return ok(output(obj, rec, ctx.version, fields));
    }
    if (method === 'PATCH') {
      if (!isObj(body)) return apiError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
      const r = update(obj, rawId, body);
      return 'error' in r ? recordErrorReply(r.error) : { status: 204 };
    }
    if (method === 'DELETE') {
      rec.deleted = true;
      return { status: 204 };
    }
    return apiError(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are GET,PATCH,DELETE,HEAD`);
  }

  // sObject Collections: POST (create) / PATCH (update) .../composite/sobjects, up to 200 records,
  // HTTP 200 with one SaveResult per record in order; allOrNone rolls everything back.
  function collections(op: 'create' | 'update', body: unknown, ctx: Ctx): Reply {
    if (!isObj(body) || !Array.isArray(body.records)) return apiError(400, 'JSON_PARSER_ERROR', "Expected a JSON object with a 'records' array");
    const records = body.records as unknown[];
    if (records.length > 200) return apiError(400, 'EXCEEDED_ID_LIMIT', 'record limit reached. cannot submit more than 200 records into this call');
    const typed: Array<{ obj: ObjectDef; rec: Json }> = [];
    for (const rec of records) {
      const type = isObj(rec) && isObj(rec.attributes) ? rec.attributes.type : undefined;
      if (!isObj(rec) || typeof type !== 'string') return apiError(400, 'INVALID_TYPE', 'Must send a concrete entity type.');
      const obj = getObject(type);
      if (!obj) return apiError(400, 'INVALID_TYPE', `sObject type '${type}' is not supported.`);
      typed.push({ obj, rec });
    }
    const allOrNone = body.allOrNone === true || ctx.allOrNone;
    const snapshot = allOrNone ? cloneStore() : null;
    const results: Json[] = typed.map(({ obj, rec }) => {
      if (op === 'create') {
        const r = create(obj, rec);
        return 'error' in r ? { success: false, errors: [r.error] } : { id: r.id, success: true, errors: [] };
      }
      const { id, Id, ...fields } = rec;
      const rawId = id ?? Id;
      const r = update(obj, rawId, fields);
      return 'error' in r ? { id: rawId ?? null, success: false, errors: [r.error] } : { id: r.id, success: true, errors: [] };
    });
    if (snapshot && results.some((r) => !r.success)) {
      store = snapshot;
      return ok(results.map((r) => r.success
        ? { ...(op === 'update' ? { id: r.id } : {}), success: false, errors: [recErr('ALL_OR_NONE_OPERATION_ROLLED_BACK', ROLLED_BACK)] }
        : r));
    }
    return ok(results);
  }

  // Composite: up to 25 subrequests (at most 5 query or collection), run by the same handlers,
  // `@{referenceId.path}` substitution, one API call; allOrNone rolls back and halts the rest.
  function composite(body: unknown, ctx: Ctx): Reply {
    if (!isObj(body) || !Array.isArray(body.compositeRequest)) return apiError(400, 'JSON_PARSER_ERROR', "Expected a JSON object with a 'compositeRequest' array");
    const subs = body.compositeRequest as unknown[];
    if (subs.length > 25) return apiError(400, 'LIMIT_EXCEEDED', 'Exceeded max number of subrequests (25) in a composite request');
    const seen = new Set<string>();
    let heavy = 0;
    for (const s of subs) {
      if (!isObj(s) || typeof s.method !== 'string' || typeof s.url !== 'string' || typeof s.referenceId !== 'string' || !s.referenceId) {
        return apiError(400, 'JSON_PARSER_ERROR', 'Each subrequest needs method, url and referenceId');
      }
      if (seen.has(s.referenceId)) return apiError(400, 'JSON_PARSER_ERROR', `Duplicate referenceId: ${s.referenceId}`);
      seen.add(s.referenceId);
      if (/\/(query|queryAll)\b|\/composite\/sobjects/.test(s.url)) heavy++;
    }
    if (heavy > 5) return apiError(400, 'LIMIT_EXCEEDED', 'A composite request can contain at most 5 query or sObject Collections subrequests');
    for (const sub of subs as Json[]) ctx.subrequests?.push(`${String(sub.method).toUpperCase()} ${new URL(String(sub.url), base).pathname.replace(/^\/services\/data\/v[^/]+/, '')}`);
    const allOrNone = body.allOrNone === true;
    const snapshot = allOrNone ? cloneStore() : null;
    const byRef = new Map<string, unknown>();
    const out: Json[] = [];
    let failedAt = -1;
    for (const [i, s] of (subs as Json[]).entries()) {
      const resolved = resolveRefs(String(s.url), s.body, byRef);
      let reply: Reply;
      if (typeof resolved === 'string') reply = apiError(400, 'PROCESSING_HALTED', resolved);
      else {
        const u = new URL(resolved.url, base);
        reply = route(String(s.method).toUpperCase(), u.pathname, u.searchParams, resolved.body, { ...ctx, nested: true, allOrNone });
      }
      out.push({ body: reply.body ?? null, httpHeaders: reply.headers ?? {}, httpStatusCode: reply.status, referenceId: s.referenceId });
      if (reply.status < 400) byRef.set(String(s.referenceId), reply.body);
      const recordFailed = Array.isArray(reply.body) && reply.body.some((r) => isObj(r) && r.success === false);
      if (allOrNone && (reply.status >= 400 || recordFailed)) { failedAt = i; break; }
    }
    if (snapshot && failedAt >= 0) {
      store = snapshot;
      return ok({
        compositeResponse: (subs as Json[]).map((s, i) => i === failedAt ? out[i]
          : { body: [{ errorCode: 'PROCESSING_HALTED', message: HALTED }], httpHeaders: {}, httpStatusCode: 400, referenceId: s.referenceId }),
      });
    }
    return ok({ compositeResponse: out });
  }

  function resolveRefs(url: string, body: unknown, byRef: Map<string, unknown>): { url: string; body: unknown } | string {
    let problem: string | null = null;
    const sub = (text: string): string => text.replace(/@\{([A-Za-z0-9_]+)\.([^}]+)\}/g, (_m, ref: string, path: string) => {
      let v: unknown = byRef.get(ref);
      for (const key of path.split(/[.[\]]/).filter(Boolean)) v = isObj(v) || Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined;
      if (v === undefined || v === null) problem ??= `Invalid reference specified. No value for ${ref}.${path} found in ${ref}. Provided referenceId ('${ref}') must match a previous subrequest that succeeded.`;
      return String(v);
    });
    const out = { url: sub(url), body: body === undefined ? undefined : JSON.parse(sub(JSON.stringify(body))) as unknown };
    return problem ?? out;
  }

  function runQuery(q: string | null, version: string): Reply {
    if (!q) return apiError(400, 'MALFORMED_QUERY', 'A query string (q) is required');
    let parsed;
    try {
      parsed = parseSoql(q);
    } catch (e) {
      if (e instanceof SoqlError) return apiError(400, e.errorCode, e.message);
      throw e;
    }
    const obj = getObject(parsed.object);
    if (!obj) {
      return apiError(400, 'INVALID_TYPE', `\n${q}\n^\nERROR at Row:1:Column:1\nsObject type '${parsed.object}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`);
    }
    const resolve = (name: string): FieldDef | string => fieldOf(obj, name) ?? noSuchColumn(name, obj.name, q);
    const select = parsed.fields.map(resolve);
    const where = parsed.where.map((c) => ({ c, fd: resolve(c.field) }));
    const order = parsed.orderBy ? resolve(parsed.orderBy.field) : undefined;
    const bad = [...select, ...where.map((w) => w.fd), order].find((x) => typeof x === 'string');
    if (typeof bad === 'string') return apiError(400, 'INVALID_FIELD', bad);
    const tests = where.map(({ c, fd }) => ({ name: (fd as FieldDef).name, match: soqlMatcher((fd as FieldDef).type, c.values), wanted: c.op === '=' || c.op === 'IN' }));
    let rows: Stored[] = [];
    for (const r of store.values()) {
      if (r.type === obj.name && !r.deleted && tests.every((t) => t.match(r.fields[t.name]) === t.wanted)) rows.push(r);
    }
    if (order && parsed.orderBy) {
      const name = (order as FieldDef).name;
      const dir = parsed.orderBy.desc ? -1 : 1;
      rows = rows.sort((a, b) => { // nulls first ascending, as SOQL does by default
        const x = a.fields[name] ?? null;
        const y = b.fields[name] ?? null;
        if (x === y) return 0;
        if (x === null) return -dir;
        if (y === null) return dir;
        return (x < y ? -1 : 1) * dir;
      });
    }
    if (parsed.limit !== undefined) rows = rows.slice(0, parsed.limit);
    const records = rows.map((r) => output(obj, r, version, select as FieldDef[]));
    return queryPage(records, 0, version);
  }

  // Long answers come in pages (Salesforce: 2,000 records by default, fewer for wide rows):
  // `done: false` and a `nextRecordsUrl` to GET for the next one.
  const cursors = new Map<string, Json[]>();
  function queryPage(records: Json[], offset: number, version: string, cursor?: string): Reply {
    const page = records.slice(offset, offset + queryPageSize);
    const more = offset + queryPageSize < records.length;
    let nextRecordsUrl: string | undefined;
    if (more) {
      const id = cursor ?? `01g${String(cursors.size + 1).padStart(15, '0')}`;
      cursors.set(id, records);
      nextRecordsUrl = `/services/data/v${version}/query/${id}-${offset + queryPageSize}`;
    }
    return ok({ totalSize: records.length, done: !more, ...(nextRecordsUrl ? { nextRecordsUrl } : {}), records: page });
  }

  function noSuchColumn(name: string, object: string, q?: string): string {
    return `${q ? `\n${q}\n^\nERROR at Row:1:Column:1\n` : ''}No such column '${name}' on entity '${object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`;
  }

  function only(method: string, allowed: string, handler: () => Reply): Reply {
    return method === allowed ? handler() : apiError(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are ${allowed}`);
  }

  /** Routes one request under /services/data/vXX.X (also used for composite subrequests). */
  function route(method: string, path: string, query: URLSearchParams, body: unknown, ctx: Omit<Ctx, 'version'>): Reply {
    const m = /^\/services\/data\/v(\d+\.\d)(\/.*)?$/.exec(path);
    if (!m || !versions().includes(m[1]!)) return notFound();
    const c: Ctx = { ...ctx, version: m[1]! };
    const seg = (m[2] ?? '').split('/').filter(Boolean).map(decodeURIComponent);
    const v = `/services/data/v${c.version}`;
    if (seg.length === 0) {
      return only(method, 'GET', () => ok({ sobjects: `${v}/sobjects`, query: `${v}/query`, limits: `${v}/limits`, composite: `${v}/composite` }));
    }
    if (seg[0] === 'limits' && seg.length === 1) {
      return only(method, 'GET', () => ok({ DailyApiRequests: { Max: limitMax, Remaining: Math.max(0, limitMax - used) } }));
    }
    if (seg[0] === 'query' && seg.length === 1) return only(method, 'GET', () => runQuery(query.get('q'), c.version));
    if (seg[0] === 'query' && seg.length === 2) {
      const [id, at] = seg[1]!.split('-');
      const records = cursors.get(id ?? '');
      if (!records) return apiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
      return only(method, 'GET', () => queryPage(records, Number(at), c.version, id));
    }
    if (seg[0] === 'sobjects') return sobjects(method, seg.slice(1), query, body, c);
    if (seg[0] === 'composite' && seg.length === 1 && !c.nested) return only(method, 'POST', () => composite(body, c));
    if (seg[0] === 'composite' && seg[1] === 'sobjects' && seg.length === 2) {
      if (method === 'POST') return collections('create', body, c);
      if (method === 'PATCH') return collections('update', body, c);
      return apiError(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are POST,PATCH`);
    }
    return notFound();
  }

  // ---- HTTP ---------------------------------------------------------------------------------
  function api(method: string, url: URL, raw: string, authorization: string | undefined, subrequests: string[]): Reply {
    const m = /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(authorization ?? '');
    if (!m || !tokens.has(m[1]!)) return apiError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    if (used >= limitMax) return apiError(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
    used++;
    const fault = injected.shift();
    if (fault) return fault;
    let body: unknown;
    if (raw.trim()) {
      try {
        body = JSON.parse(raw);
      } catch (e) {
        return apiError(400, 'JSON_PARSER_ERROR', `Unexpected character in request body: ${(e as Error).message}`);
      }
    }
    return route(method, url.pathname, url.searchParams, body, { nested: false, allOrNone: false, subrequests });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', base);
    const method = (req.method ?? 'GET').toUpperCase();
    const apiCall = /^\/services\/data\/v[^/]+/.test(url.pathname);
    const subrequests: string[] = [];
    requests.push({ method, path: url.pathname, apiCall, at: Date.now(), subrequests });
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    let reply: Reply;
    try {
      if (url.pathname === '/services/oauth2/token' && method === 'POST') reply = tokenEndpoint(raw, req.headers.authorization);
      else if (url.pathname === '/services/data' || url.pathname === '/services/data/') {
        reply = ok(versions().map((version) => ({ label: releaseLabel(version), url: `/services/data/v${version}`, version })));
      } else if (apiCall) reply = api(method, url, raw, req.headers.authorization, subrequests);
      else reply = notFound();
    } catch (e) {
      reply = apiError(500, 'UNKNOWN_EXCEPTION', `double: ${(e as Error).stack ?? String(e)}`);
    }
    const headers: Record<string, string> = { ...(reply.headers ?? {}) };
    if (apiCall) headers['Sforce-Limit-Info'] = `api-usage=${used}/${limitMax}`;
    if (reply.status === 204 || reply.body === undefined) {
      res.writeHead(reply.status, headers).end();
      return;
    }
    headers['Content-Type'] = 'application/json;charset=UTF-8';
    res.writeHead(reply.status, headers).end(JSON.stringify(reply.body));
  }

  const server = createServer((req, res) => { handle(req, res).catch(() => res.destroy()); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    apiVersion,
    clientId,
    clientSecret,
    username,
    publicKeyPem: keys.publicKey,
    privateKeyPem: keys.privateKey,
    requests,
    accessToken: () => (currentToken && tokens.has(currentToken) ? currentToken : String(issueToken().access_token)),
    records(sobject) {
      const obj = getObject(sobject);
      if (!obj) throw new Error(`double: unknown sObject ${sobject}`);
      return [...store.values()].filter((r) => r.type === obj.name && !r.deleted).map((r) => ({ ...r.fields }));
    },
    insert(sobject, fields) {
      const obj = getObject(sobject);
      if (!obj) throw new Error(`double: unknown sObject ${sobject}`);
      const values: Json = {};
      for (const [key, value] of Object.entries(fields)) {
        const fd = fieldOf(obj, key);
        if (!fd) throw new Error(`double: ${obj.name} has no field ${key} (describeOverride it first)`);
        values[fd.name] = fd.type === 'reference' && normalizeId(value) ? to18(normalizeId(value)!) : value;
      }
      return insertRaw(obj, values);
    },
    remove(sobject, id) {
      const id15 = normalizeId(id);
      const rec = id15 ? store.get(id15) : undefined;
      if (!rec || rec.type !== getObject(sobject)?.name) throw new Error(`double: no ${sobject} ${id}`);
      rec.deleted = true;
    },
    apiCalls: () => requests.filter((r) => r.apiCall).length,
    reset: () => { requests.length = 0; },
    setLatency: (ms) => { latency = ms; },
    setDailyLimit: (max, usedSoFar) => {
      limitMax = max;
      if (usedSoFar !== undefined) used = usedSoFar;
    },
    failNext: (n, reply) => { for (let i = 0; i < n; i++) injected.push({ status: reply.status, body: reply.body }); },
    failRecords: (match) => { recordFailure = match; },
    expireTokens: () => { tokens.clear(); currentToken = null; },
    describeOverride(sobject, fields) {
      let obj = getObject(sobject);
      if (!obj) {
        obj = customObject(sobject, `a0${String.fromCharCode(65 + customPrefixes++)}`);
        objects.set(sobject.toLowerCase(), obj);
      }
      for (const spec of fields) {
        obj.fields = obj.fields.filter((fd) => fd.name.toLowerCase() !== spec.name.toLowerCase());
        obj.fields.push(customField(spec));
      }
    },
    close: () => new Promise<void>((resolve, reject) => {
      server.close((e) => (e ? reject(e) : resolve()));
      server.closeAllConnections();
    }),
  };
}

/** Release names as the Versions resource lists them: 31.0 Summer '14, 32.0 Winter '15, ... */
function releaseLabel(version: string): string {
  const k = Number(version) - 31;
  const season = ['Summer', 'Winter', 'Spring'][k % 3];
  return `${season} '${String(14 + Math.floor((k + 2) / 3)).padStart(2, '0')}`;
}
