// SMTP errors (nodemailer's) in our closed set of codes: what is permanent, what retries, and
// what holds the queue. The message keeps the server's words (nodemailer puts its reply in the
// error's message, e.g. `Can't send mail - all recipients were rejected: 550 no such mailbox`)
// and the original stays as `cause`. Pure: a table and a lookup.
import { SyncError, codeIn } from '../../errors.ts';
import type { ErrorCode } from '../../errors.ts';

/**
 * nodemailer's own codes that decide alone, whatever the server's reply code. Refused
 * credentials (535, 534) come as EAUTH: TARGET_AUTH, which holds the queue (ERROR_CODES).
 * EENVELOPE is the server refusing MAIL FROM or RCPT TO (a 550 for MAIL_TO, a 530 without
 * AUTH) or DATA itself: a setting to fix, MAIL_FROM or MAIL_TO. It is so for a 4xx reply too
 * (a greylisting 451, a 452), which then fails at once rather than retrying: kept as it was.
 */
const BY_NODEMAILER_CODE: Record<string, ErrorCode> = {
  EAUTH: 'TARGET_AUTH',
  EENVELOPE: 'TARGET_CONFIG',
  ECONFIG: 'TARGET_CONFIG',
};

/**
 * Otherwise the class of the server's reply: 5xx the server said no for good (550 refused,
 * 552 too large, 553 bad address, 554 refused by policy: TARGET_REJECTED, at once); 4xx it will
 * pass (421 going away, 450 busy, 451 local error, 452 out of room: TARGET_UNAVAILABLE, retried
 * with backoff; a 421 does not hold the queue).
 */
const BY_REPLY_CLASS: Record<string, ErrorCode> = {
  '5': 'TARGET_REJECTED',
  '4': 'TARGET_UNAVAILABLE',
};

/**
 * No reply at all (ECONNECTION, ETIMEDOUT, ESOCKET, EDNS, ETLS, a refused connection) or one we
 * do not know: retried, then in the failed list in the server's words.
 */
const DEFAULT_CODE: ErrorCode = 'TARGET_UNAVAILABLE';

export interface SmtpErrorLike {
  /** nodemailer's code: EAUTH, EENVELOPE, EMESSAGE, ECONNECTION, ... */
  code?: string;
  /** the server's reply code, when it answered */
  responseCode?: number;
  message?: string;
}

/** The code for an SMTP error: nodemailer's code if it decides, else the reply's class, else the default. */
export function smtpErrorCode(e: SmtpErrorLike): ErrorCode {
  // SMTP has no 6xx: anything from 500 up is a refusal
  const replyClass = typeof e.responseCode === 'number' ? String(Math.min(5, Math.floor(e.responseCode / 100))) : undefined;
  return codeIn(BY_NODEMAILER_CODE, e.code) ?? codeIn(BY_REPLY_CLASS, replyClass) ?? DEFAULT_CODE;
}

/** An error thrown by nodemailer's sendMail as a SyncError, in the server's words. */
export function fromSmtpError(err: unknown): SyncError {
  const e = (err ?? {}) as SmtpErrorLike;
  return new SyncError(smtpErrorCode(e), `SMTP: ${e.message ?? String(err)}`, { cause: err });
}
