// ServiceNow record links and ids. Pure.
//   /nav_to.do?uri=incident.do?sys_id={sys_id}          (the inner URI encoded or not)
//   /{table}.do?sys_id={sys_id}                          (also ?sysparm_query=number={number})
//   /now/nav/ui/classic/params/target/{table}.do%3Fsys_id%3D{sys_id}
//   /now/{sow|cwf/agent|workspace/agent}/record/{table}/{sys_id}
// These path shapes are distinctive, so they are recognised on any host (instances can have
// custom domains); the host allowlist still applies.
// Ids: a sys_id (32 hex, lower-cased) or a record number such as INC0010001 or CS0001234
// (upper-cased). The object is the table.
import type { CrmRecogniser, IdOk, IdReading, Reconciled, RecordLink } from './recogniser.ts';
import { hostIn, pathSegments, quote } from './recogniser.ts';

const SYS_ID = /^[0-9a-f]{32}$/i;
const NUMBER = /^([A-Za-z]{2,10})(\d{4,})$/;
const TABLE = /^[a-z0-9_]+$/i;

/** Record number prefixes of the out-of-the-box tables. */
const NUMBER_PREFIX_TABLES: Readonly<Record<string, string>> = {
  INC: 'incident',
  CS: 'sn_customerservice_case',
  RITM: 'sc_req_item',
  REQ: 'sc_request',
  SCTASK: 'sc_task',
  CHG: 'change_request',
  CTASK: 'change_task',
  PRB: 'problem',
  PTASK: 'problem_task',
};

function isVendorHost(host: string): boolean {
  return hostIn(host, 'service-now.com') || hostIn(host, 'servicenowservices.com');
}

/** `incident.do?sys_id=…` (a path, possibly with a leading slash) as a record link. */
function readDoUri(uri: string): RecordLink | null {
  let inner: URL;
  try {
    inner = new URL(uri.replace(/^\/*/, '/'), 'https://servicenow.invalid');
  } catch {
    return null;
  }
  const m = /^\/([a-z0-9_]+)\.do$/i.exec(inner.pathname);
  if (!m || m[1]!.toLowerCase() === 'nav_to') return null;
  const table = m[1]!.toLowerCase();
  const sysId = inner.searchParams.get('sys_id');
  if (sysId !== null && SYS_ID.test(sysId)) return { rawId: sysId, object: table };
  if (sysId !== null && sysId !== '-1' && sysId !== '') return { rawId: sysId, object: table }; // reported as invalid
  const number = /^number=([A-Za-z]{2,10}\d{4,})$/.exec(inner.searchParams.get('sysparm_query') ?? '');
  return number ? { rawId: number[1]!, object: table } : null;
}

function readUrl(url: URL): RecordLink | null {
  const seg = pathSegments(url);
  if (seg[0] === 'nav_to.do') {
    const uri = url.searchParams.get('uri');
    return uri === null ? null : readDoUri(uri);
  }
  if (seg[0] === 'now') {
    // Classic UI inside the Next Experience shell: the target is one encoded segment.
    const t = seg.indexOf('target');
    if (seg[1] === 'nav' && t > 0 && seg[t + 1] !== undefined) return readDoUri(seg.slice(t + 1).join('/'));
    // Workspaces: /now/{workspace...}/record/{table}/{sys_id}
    const r = seg.indexOf('record');
    const table = r > 0 ? seg[r + 1] : undefined;
    const sysId = r > 0 ? seg[r + 2] : undefined;
    if (table !== undefined && sysId !== undefined && TABLE.test(table) && SYS_ID.test(sysId)) {
      return { rawId: sysId, object: table.toLowerCase() };
    }
    return null;
  }
  if (seg.length === 1 && /\.do$/i.test(seg[0]!)) return readDoUri(`${seg[0]}${url.search}`);
  return null;
}

function readId(raw: string): IdReading {
  const id = raw.trim();
  if (SYS_ID.test(id)) return { ok: true, id: id.toLowerCase(), object: null, notes: [] };
  const m = NUMBER.exec(id);
  if (m) return { ok: true, id: id.toUpperCase(), object: NUMBER_PREFIX_TABLES[m[1]!.toUpperCase()] ?? null, notes: [] };
  return { ok: false, fault: 'foreign', reason: `${quote(id)} is neither a ServiceNow sys_id (32 hex digits) nor a record number such as INC0010001` };
}

/** Bare ids: a sys_id, or a number with a known prefix and at least 7 digits. */
function claimsBareId(raw: string): boolean {
  const id = raw.trim();
  if (SYS_ID.test(id)) return true;
  const m = /^([A-Za-z]{2,6})(\d{7,})$/.exec(id);
  return m !== null && m[1]!.toUpperCase() in NUMBER_PREFIX_TABLES;
}

/**
 * A sys_id and a record number cannot be compared without asking the instance: they agree unless
 * the number's prefix names another table. The sys_id is kept (the Table API addresses by it).
 */
function reconcile(fromId: IdOk, fromUrl: IdOk): Reconciled {
  const idIsSys = SYS_ID.test(fromId.id);
  const urlIsSys = SYS_ID.test(fromUrl.id);
  if (idIsSys === urlIsSys) return fromId.id === fromUrl.id ? { same: true, use: fromId, notes: [] } : { same: false };
  const number = idIsSys ? fromUrl : fromId;
  const sys = idIsSys ? fromId : fromUrl;
  if (number.object !== null && sys.object !== null && number.object !== sys.object) return { same: false };
  return {
    same: true,
    use: { ...sys, object: sys.object ?? number.object },
    notes: [`ServiceNow number ${number.id} and sys_id ${sys.id} cannot be compared offline; using the sys_id`],
  };
}

export const servicenow: CrmRecogniser = {
  system: 'servicenow',
  label: 'ServiceNow',
  noun: 'record',
  isVendorHost,
  readUrl,
  readId,
  claimsBareId,
  reconcile,
};
