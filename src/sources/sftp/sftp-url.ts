// SFTP_URL: `sftp://user@host:port/path`, the folder CCAI Platform writes its files into. Pure:
// it comes back as settings or as the sentence that says what is wrong (the configuration lists
// every problem at once, as it does for IMAP_URL).
//
// The path, as the sftp URI draft and curl read it:
//   - absolute as written: `sftp://ccai@sftp.example.com/srv/ccai/out` is /srv/ccai/out (for a
//     chrooted account, `/` is its chroot: `sftp://ccai@host/upload`);
//   - `/~/…` is relative to the account's home (the folder a login starts in):
//     `sftp://ccai@host/~/ccai` is `ccai` in the home, `sftp://ccai@host/~` is the home itself.
// Each segment is URI-decoded (`Call%20Data` is "Call Data"). A path is required: `/` is
// written, never guessed.
//
// No password in the URL: the URL is logged, shown by `status` and `/healthz`, and sits in the
// process's environment; the password goes in SFTP_PASSWORD_FILE (or SFTP_PASSWORD), as every
// secret here. The host key is not taken from the URL either (the draft's `;fingerprint=`):
// SFTP_HOST_KEY is required (host-key.ts), so it is one setting, always there.

export interface ParsedSftpUrl {
  /** the host to connect to (an IPv6 address without its brackets) */
  host: string;
  port: number;
  user: string;
  /**
   * the folder as sent to the server: absolute (`/srv/ccai`, `/`) or relative to the account's
   * home (`ccai`, or `.` for the home itself); never a trailing slash
   */
  path: string;
  /** `sftp://user@host:22/srv/ccai/`: names the source in logs, status and reports (no secret) */
  label: string;
}

const EXAMPLE = 'sftp://user@host:22/path';

/** SFTP_URL as settings, or what is wrong with it (a sentence to follow `SFTP_URL: `). */
export function parseSftpUrl(url: string): ParsedSftpUrl | string {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    return `is not a URL (${EXAMPLE})`;
  }
  if (u.protocol !== 'sftp:') return `must start with sftp:// (${EXAMPLE})`;
  if (u.password !== '') {
    // never repeat the value: it is a password
    return 'must not hold a password (the URL is logged and shown): put the password in SFTP_PASSWORD_FILE (or SFTP_PASSWORD), or use a key, SFTP_PRIVATE_KEY_FILE';
  }
  if (u.hostname === '') return `needs a host (${EXAMPLE})`;
  if (u.username === '') return `needs the account CCAI Platform writes with, before an @ (${EXAMPLE})`;
  if (u.search !== '' || u.hash !== '') return 'must not have a query (?…) or a fragment (#…): write ? as %3F and # as %23 in a folder name';
  if (u.port === '0') return 'has port 0';
  let user: string;
  try {
    user = decodeURIComponent(u.username);
  } catch {
    return 'has a user that is not properly URI-encoded (write @ as %40)';
  }
  if (user.includes(';')) return 'has parameters after the user (;…), which are not read: the host key goes in SFTP_HOST_KEY';
  if (u.pathname === '') return `needs the folder: ${EXAMPLE} (absolute), or sftp://user@host/~/path (in the account's home)`;

  let segments: string[];
  try {
    segments = u.pathname
      .split('/')
      .slice(1)
      .map((s) => decodeURIComponent(s));
  } catch {
    return 'has a folder that is not properly URI-encoded';
  }
  if (segments.some((s) => s.includes('/') || s.includes('\0'))) return 'has a folder name with an encoded / (%2F) or NUL in it';
  const home = segments[0] === '~';
  if (home) segments = segments.slice(1);
  // `a//b` and a trailing slash name the same folder as `a/b`
  segments = segments.filter((s) => s !== '');
  if (segments.some((s) => s === '.' || s === '..')) return 'has a . or .. segment: write the folder as it is';

  const path = home ? (segments.length === 0 ? '.' : segments.join('/')) : `/${segments.join('/')}`;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || 22);
  const shown = [...(home ? ['~'] : []), ...segments.map(encodeURIComponent)].join('/');
  const label = `sftp://${encodeURIComponent(user)}@${u.hostname}:${port}/${shown}${shown === '' ? '' : '/'}`;
  return { host, port, user, path, label };
}
