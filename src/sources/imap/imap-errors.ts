// IMAP errors (imapflow's) in our closed set of codes: a setting to fix (the user, the
// password, a folder: CONFIG_INVALID), a mailbox server that is down or busy and comes back
// (SOURCE_UNAVAILABLE), or a command the server did not understand (INTERNAL, ours to fix).
// The message keeps the server's words: imapflow says only "Command failed" and puts them in
// responseText. Pure: tables and a lookup.
import { allAs, codeIn, SOCKET_ERRORS, SyncError } from '../../errors.ts';
import type { ErrorCode } from '../../errors.ts';

/** The server's response code on a NO or BAD (RFC 5530): the most precise thing it says. */
const BY_RESPONSE_CODE: Record<string, ErrorCode> = {
  // the user, the password or the account of IMAP_URL
  AUTHENTICATIONFAILED: 'CONFIG_INVALID',
  AUTHORIZATIONFAILED: 'CONFIG_INVALID',
  EXPIRED: 'CONFIG_INVALID',
  CONTACTADMIN: 'CONFIG_INVALID',
  // the server wants TLS first: imaps://, or STARTTLS
  PRIVACYREQUIRED: 'CONFIG_INVALID',
  // a folder of IMAP_FOLDERS, IMAP_PROCESSED_FOLDER or IMAP_REJECTED_FOLDER is missing or not ours
  NONEXISTENT: 'CONFIG_INVALID',
  TRYCREATE: 'CONFIG_INVALID',
  NOPERM: 'CONFIG_INVALID',
  // the server, for now
  UNAVAILABLE: 'SOURCE_UNAVAILABLE',
  INUSE: 'SOURCE_UNAVAILABLE',
  LIMIT: 'SOURCE_UNAVAILABLE',
  OVERQUOTA: 'SOURCE_UNAVAILABLE',
  SERVERBUG: 'SOURCE_UNAVAILABLE',
  // we asked for something the server does not do
  CLIENTBUG: 'INTERNAL',
  CANNOT: 'INTERNAL',
};

/** imapflow's own codes (ImapFlowErrorCode) and Node's socket codes it passes on: no usable connection. */
const BY_CODE: Record<string, ErrorCode> = {
  NoConnection: 'SOURCE_UNAVAILABLE',
  EConnectionClosed: 'SOURCE_UNAVAILABLE',
  ClosedAfterConnectText: 'SOURCE_UNAVAILABLE',
  ClosedAfterConnectTLS: 'SOURCE_UNAVAILABLE',
  CONNECT_TIMEOUT: 'SOURCE_UNAVAILABLE',
  GREETING_TIMEOUT: 'SOURCE_UNAVAILABLE',
  UPGRADE_TIMEOUT: 'SOURCE_UNAVAILABLE',
  ETIMEOUT: 'SOURCE_UNAVAILABLE',
  // the server throttles us (Microsoft 365)
  ETHROTTLE: 'SOURCE_UNAVAILABLE',
  ...allAs(SOCKET_ERRORS, 'SOURCE_UNAVAILABLE'),
};

/** Otherwise the answer's status: NO the server refused (as far as we know, for now), BAD it did not understand us. */
const BY_STATUS: Record<string, ErrorCode> = {
  NO: 'SOURCE_UNAVAILABLE',
  BAD: 'INTERNAL',
  BYE: 'SOURCE_UNAVAILABLE',
};

/** What the tables do not know: retried, as the mailbox reader retries every failure. */
const DEFAULT_CODE: ErrorCode = 'SOURCE_UNAVAILABLE';

/** The parts of an imapflow error (ImapFlowError) the tables read. */
export interface ImapErrorLike {
  message?: string;
  code?: string;
  authenticationFailed?: boolean;
  responseStatus?: string;
  responseText?: string;
  serverResponseCode?: string;
}

/** The code for an IMAP error: refused credentials, the response code, imapflow's code, the status, else the default. */
export function imapErrorCode(e: ImapErrorLike): ErrorCode {
  // imapflow marks a LOGIN or AUTHENTICATE the server refused, with or without a response code
  if (e.authenticationFailed === true) return 'CONFIG_INVALID';
  const lookups: Array<[Record<string, ErrorCode>, string | undefined]> = [
    [BY_RESPONSE_CODE, e.serverResponseCode?.toUpperCase()],
    [BY_CODE, e.code],
    [BY_STATUS, e.responseStatus?.toUpperCase()],
  ];
  for (const [table, key] of lookups) {
    const code = codeIn(table, key);
    if (code) return code;
  }
  return DEFAULT_CODE;
}

/** An error of imapflow as a SyncError, with the server's words and the original as cause. */
export function fromImapError(err: unknown): SyncError {
  const e = (err ?? {}) as ImapErrorLike;
  const said = e.responseText ? `: ${e.serverResponseCode ? `[${e.serverResponseCode}] ` : ''}${e.responseText}` : '';
  return new SyncError(imapErrorCode(e), `IMAP: ${e.message ?? String(err)}${said}`, { cause: err });
}
