// IMAP_URL: `imaps://user:password@host:993/INBOX` (or imap:// with STARTTLS). The path names
// the folder to read; several are separated by commas (`/INBOX,Bounces`); each `/`-separated
// segment of a folder is URI-decoded, so `Support%20Mail/CCAI` is "Support Mail/CCAI".
export interface ImapSettings {
  host: string;
  port: number;
  secure: boolean;
  user: string;
  pass: string;
  folders: string[];
  /** host:port/user, for state keys and logs (no password) */
  account: string;
}

export function parseImapUrl(url: string): ImapSettings | string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a URL (imaps://user:password@host/INBOX)';
  }
  if (u.protocol !== 'imap:' && u.protocol !== 'imaps:') return 'must start with imap:// or imaps://';
  if (!u.username) return 'needs the mailbox user and password (imaps://user:password@host/INBOX)';
  const secure = u.protocol === 'imaps:';
  const port = Number(u.port || (secure ? 993 : 143));
  let folders: string[];
  try {
    folders = u.pathname
      .replace(/^\//, '')
      .split(',')
      .map((f) => f.split('/').map(decodeURIComponent).join('/').trim())
      .filter(Boolean);
  } catch {
    return 'has a folder that is not properly URI-encoded';
  }
  if (folders.length === 0) folders = ['INBOX'];
  const host = u.hostname.replace(/^\[|\]$/g, '');
  let user: string;
  let pass: string;
  try {
    user = decodeURIComponent(u.username);
    pass = decodeURIComponent(u.password);
  } catch {
    return 'has a user or password that is not properly URI-encoded (write @ as %40, : as %3A)';
  }
  return { host, port, secure, user, pass, folders, account: `${host}:${port}/${user}` };
}
