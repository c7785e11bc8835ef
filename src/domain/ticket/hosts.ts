// CRM_ALLOWED_HOSTS: which hosts a ticket URL may point to. Pure.
// Entries are `host` (exact), `*.domain` (any subdomain, not the domain itself) or `.domain`
// (the domain and any subdomain); `*` alone allows any host. An EMPTY list means the admin has
// not configured one: no restriction.

/** Parses the comma-separated setting: trimmed, lower-cased, empty entries dropped, de-duplicated. */
export function parseAllowedHosts(csv: string | undefined): string[] {
  if (csv === undefined) return [];
  const out: string[] = [];
  for (const raw of csv.split(',')) {
    const entry = normaliseEntry(raw);
    if (entry !== null && !out.includes(entry)) out.push(entry);
  }
  return out;
}

/** True when `host` (a URL's hostname) is allowed; an empty list allows every host. */
export function isHostAllowed(host: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  const h = canonicalHost(host.trim().toLowerCase().replace(/\.$/, ''));
  if (h === '') return false;
  for (const entry of allowed) {
    const e = entry.trim().toLowerCase();
    if (e === '*') return true;
    if (e.startsWith('*.')) {
      const domain = e.slice(2);
      if (domain !== '' && h.endsWith(`.${domain}`)) return true;
    } else if (e.startsWith('.')) {
      const domain = e.slice(1);
      if (domain !== '' && (h === domain || h.endsWith(`.${domain}`))) return true;
    } else if (h === e) {
      return true;
    }
  }
  return false;
}

/** One entry to `host`, `*.domain` or `.domain`; a scheme, credentials, port and path are dropped. */
function normaliseEntry(raw: string): string | null {
  let s = raw.trim().toLowerCase();
  s = s.replace(/^[a-z][a-z0-9+.-]*:\/\//, ''); // https://
  s = s.split(/[/?#]/, 1)[0] ?? ''; // path, query, fragment
  s = s.slice(s.lastIndexOf('@') + 1); // user:pass@
  if (!s.startsWith('[')) s = s.replace(/:\d*$/, ''); // port (not inside an IPv6 literal)
  s = s.replace(/\.$/, ''); // trailing dot of a fully-qualified name
  if (s === '' || s === '*') return s === '*' ? '*' : null;
  let wildcard = '';
  if (s.startsWith('*.')) wildcard = '*.';
  else if (s.startsWith('.')) wildcard = '.';
  const domain = canonicalHost(s.slice(wildcard.length));
  return domain === '' ? null : wildcard + domain;
}

/** The host as `new URL()` writes it (punycode for international names), else as given. */
function canonicalHost(host: string): string {
  if (host === '') return '';
  try {
    return new URL(`http://${host}/`).hostname;
  } catch {
    return host;
  }
}
