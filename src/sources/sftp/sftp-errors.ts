// SFTP errors (ssh2's, through ssh2-sftp-client) in our closed set of codes: a setting to fix
// (the account, its key or password, the folder, its rights: CONFIG_INVALID), a server that is
// down, unreachable or dropped us (SOURCE_UNAVAILABLE, read again on the next poll), or a
// protocol error that is ours (INTERNAL). The message keeps the server's words (OpenSSH says
// "No such file", "Permission denied", "Failure") and what we were doing; the original stays as
// `cause`. Pure: tables and a lookup.
//
// A missing file is not translated: the storage answers `gone` for it (sftp-storage.ts). What
// reaches these tables is a failure of the connection, of the folder itself, or of a rename.
import { allAs, codeIn, SOCKET_ERRORS, SyncError } from '../../errors.ts';
import type { ErrorCode } from '../../errors.ts';

/** The SFTP status codes (draft-ietf-secsh-filexfer-02, the version OpenSSH speaks), as ssh2 puts them in `code`. */
export const SFTP_STATUS = {
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

/** A status the server answered a request with. */
const BY_STATUS: Record<string, ErrorCode> = {
  // the folder of SFTP_URL, or processed/ or rejected/ beside it, is not there (a file that is
  // not there is `gone`, never an error)
  [SFTP_STATUS.NO_SUCH_FILE]: 'CONFIG_INVALID',
  // the account may not read the folder, or (SFTP_AFTER=move or delete) not change it
  [SFTP_STATUS.PERMISSION_DENIED]: 'CONFIG_INVALID',
  // OpenSSH's answer to anything else: a full disk, a name taken, a quota; it may pass
  [SFTP_STATUS.FAILURE]: 'SOURCE_UNAVAILABLE',
  [SFTP_STATUS.NO_CONNECTION]: 'SOURCE_UNAVAILABLE',
  [SFTP_STATUS.CONNECTION_LOST]: 'SOURCE_UNAVAILABLE',
  // the server does not do what SFTP_AFTER asks (a read-only service refusing rename): set leave
  [SFTP_STATUS.OP_UNSUPPORTED]: 'CONFIG_INVALID',
  // we sent something the server could not parse, or read past the end: ours to fix
  [SFTP_STATUS.BAD_MESSAGE]: 'INTERNAL',
  [SFTP_STATUS.EOF]: 'INTERNAL',
};

/** ssh2's `level` on the errors of its connection: where in the connection it failed. */
const BY_LEVEL: Record<string, ErrorCode> = {
  // every method (key, password, keyboard-interactive) was refused: the account, the key or
  // the password of the settings
  'client-authentication': 'CONFIG_INVALID',
  // no algorithm in common, or the host key refused (that one gets its own message first)
  handshake: 'CONFIG_INVALID',
  // no answer in time, the keepalive went unanswered, the socket failed, DNS failed: the
  // server or the network, for now
  'client-timeout': 'SOURCE_UNAVAILABLE',
  'client-socket': 'SOURCE_UNAVAILABLE',
  'client-dns': 'SOURCE_UNAVAILABLE',
  protocol: 'SOURCE_UNAVAILABLE',
  'sftp-protocol': 'SOURCE_UNAVAILABLE',
};

/** Node's socket codes, which ssh2 passes on: no usable connection. */
const BY_CODE: Record<string, ErrorCode> = {
  ...allAs(SOCKET_ERRORS, 'SOURCE_UNAVAILABLE'),
  ECONNABORTED: 'SOURCE_UNAVAILABLE',
  // ssh2-sftp-client's own codes: its connection ended or was never there
  ERR_NOT_CONNECTED: 'SOURCE_UNAVAILABLE',
  ERR_GENERIC_CLIENT: 'SOURCE_UNAVAILABLE',
  ERR_BAD_AUTH: 'CONFIG_INVALID',
};

/**
 * Errors that carry no code nor level, known by their words: ssh2 refusing the private key
 * before it connects (not a key, an encrypted key with no passphrase), and a request cut off by
 * the connection closing under it.
 */
const BY_MESSAGE: Array<[RegExp, ErrorCode]> = [
  [/private ?key|privateKey|passphrase/i, 'CONFIG_INVALID'],
  [/No response from server|Unexpected (end|close) event|Not connected|connection (lost|closed)/i, 'SOURCE_UNAVAILABLE'],
];

/** Whatever else: retried (the poller reads the folder again), in the server's words. */
const DEFAULT_CODE: ErrorCode = 'SOURCE_UNAVAILABLE';

/** The parts of an ssh2 error the tables read. */
export interface SftpErrorLike {
  message?: string;
  /** a number for an SFTP status, a string for a socket error or ssh2-sftp-client's own */
  code?: number | string;
  /** ssh2's stage of the connection that failed */
  level?: string;
}

/** The code for an SFTP error: its status or socket code, ssh2's level, its words, else the default. */
export function sftpErrorCode(e: SftpErrorLike): ErrorCode {
  const byCode = typeof e.code === 'number' ? codeIn(BY_STATUS, String(e.code)) : codeIn(BY_CODE, e.code);
  if (byCode) return byCode;
  const byLevel = codeIn(BY_LEVEL, e.level);
  if (byLevel) return byLevel;
  for (const [re, code] of BY_MESSAGE) if (re.test(e.message ?? '')) return code;
  return DEFAULT_CODE;
}

/**
 * True when the error says the connection went away under the request (rather than the server
 * refusing it): the request may be sent again on a new connection.
 */
export function isConnectionLoss(err: unknown): boolean {
  const e = (err ?? {}) as SftpErrorLike;
  if (typeof e.code === 'number') return e.code === SFTP_STATUS.NO_CONNECTION || e.code === SFTP_STATUS.CONNECTION_LOST;
  if (e.code !== undefined && codeIn(BY_CODE, e.code) === 'SOURCE_UNAVAILABLE') return true;
  if (e.level !== undefined && e.level !== 'client-authentication' && e.level !== 'handshake') return true;
  return /No response from server|Unexpected (end|close) event|Not connected/i.test(e.message ?? '');
}

/** True for the server's "no such file" (a file or folder that is not there). */
export function isNoSuchFile(err: unknown): boolean {
  return (err as SftpErrorLike | null)?.code === SFTP_STATUS.NO_SUCH_FILE;
}

/**
 * An error of ssh2 or ssh2-sftp-client as a SyncError: `doing` says what we were doing
 * (`listing /srv/ccai`, `moving a.json to processed/`), the message keeps the server's words.
 */
export function fromSftpError(err: unknown, doing?: string): SyncError {
  if (err instanceof SyncError) return err;
  const e = (err ?? {}) as SftpErrorLike;
  const words = typeof err === 'string' ? err : (e.message ?? String(err));
  const code = sftpErrorCode(typeof err === 'string' ? { message: err } : e);
  return new SyncError(code, `SFTP: ${doing ? `${doing}: ` : ''}${words}${hint(code, e)}`, { cause: err });
}

/** What to do about a setting, in the words of the settings. */
function hint(code: ErrorCode, e: SftpErrorLike): string {
  if (code !== 'CONFIG_INVALID') return '';
  if (e.level === 'client-authentication' || e.code === 'ERR_BAD_AUTH') {
    return ' (the server refused the account of SFTP_URL with SFTP_PRIVATE_KEY_FILE / SFTP_PASSWORD: check the user, that the key\'s public half is in its authorized_keys, or the password)';
  }
  if (e.code === SFTP_STATUS.PERMISSION_DENIED) return ' (the account may not do this: it needs to read the folder, and to rename and delete in it with SFTP_AFTER=move or delete)';
  if (e.code === SFTP_STATUS.NO_SUCH_FILE) return ' (check the folder of SFTP_URL)';
  if (e.code === SFTP_STATUS.OP_UNSUPPORTED) return ' (the server does not allow it: set SFTP_AFTER=leave)';
  return '';
}
