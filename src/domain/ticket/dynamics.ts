// Dynamics 365 (Dataverse) record links and ids. Pure.
//   https://{org}.crm{N}.dynamics.com/main.aspx?appid=…&pagetype=entityrecord&etn=incident&id={guid}
//   The id may be wrapped in braces (`%7B…%7D`). Older links carry `etc={type code}` and the id
//   inside `extraqs=…id%3D%7B…%7D`. `main.aspx` with a record id is distinctive, so it is
//   recognised on any host (on-premises servers: https://crm.contoso.com/{org}/main.aspx); the
//   host allowlist still applies.
// Ids: a GUID, normalised lower-case without braces. The object is the entity (`etn`).
import type { CrmRecogniser, IdReading, RecordLink } from './recogniser.ts';
import { hostIn, pathSegments, quote } from './recogniser.ts';

const GUID = /^\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i;
const DASHED_GUID = /^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$/i;
const ENTITY = /^[a-z][a-z0-9_]*$/i;

/** Object type codes of old links (`etc=`) for the entities a ticket is usually on. */
const TYPE_CODES: Readonly<Record<string, string>> = {
  '1': 'account',
  '2': 'contact',
  '3': 'opportunity',
  '4': 'lead',
  '112': 'incident',
  '4212': 'task',
};

function isVendorHost(host: string): boolean {
  return hostIn(host, 'dynamics.com');
}

function readUrl(url: URL): RecordLink | null {
  const seg = pathSegments(url);
  if (seg.at(-1)?.toLowerCase() !== 'main.aspx') return null;
  let params = url.searchParams;
  const pagetype = params.get('pagetype');
  if (pagetype !== null && pagetype.toLowerCase() !== 'entityrecord') return null;
  let id = params.get('id');
  const extraqs = params.get('extraqs');
  if (id === null && extraqs !== null) {
    params = new URLSearchParams(extraqs.replace(/^\?/, ''));
    id = params.get('id');
  }
  if (id === null || id.trim() === '') return null;
  const etn = url.searchParams.get('etn') ?? params.get('etn');
  const etc = url.searchParams.get('etc') ?? params.get('etc');
  const object = etn !== null && ENTITY.test(etn) ? etn.toLowerCase() : etc !== null ? (TYPE_CODES[etc] ?? null) : null;
  return { rawId: id.trim(), object };
}

function readId(raw: string): IdReading {
  const id = raw.trim();
  const m = GUID.exec(id);
  if (!m) return { ok: false, fault: 'foreign', reason: `${quote(id)} is not a Dynamics 365 record id (a GUID)` };
  return { ok: true, id: m.slice(1, 6).join('-').toLowerCase(), object: null, notes: [] };
}

export const dynamics365: CrmRecogniser = {
  system: 'dynamics365',
  label: 'Dynamics 365',
  noun: 'record',
  isVendorHost,
  readUrl,
  readId,
  // Alone, only the dashed form: 32 bare hex digits are a ServiceNow sys_id.
  claimsBareId: (id) => DASHED_GUID.test(id.trim()),
};
