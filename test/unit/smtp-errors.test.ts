// The SMTP translator's table: nodemailer's errors, shaped as nodemailer makes them (its code,
// the server's reply code and words in the message), in our codes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { holdMs } from '../../src/errors.ts';
import { fromSmtpError, smtpErrorCode } from '../../src/targets/email/smtp-errors.ts';

/** An error as nodemailer's SMTP connection raises it (`_formatError`). */
function nodemailerError(message: string, code: string, responseCode?: number, command = 'API'): Error {
  return Object.assign(new Error(responseCode ? `${message}: ${responseCode} server words` : message), {
    code,
    command,
    ...(responseCode ? { responseCode, response: `${responseCode} server words` } : {}),
  });
}

describe('SMTP errors', () => {
  it('refused credentials (535 as EAUTH) are TARGET_AUTH and hold the queue for the registry’s 5 minutes', () => {
    const err = fromSmtpError(nodemailerError('Invalid login', 'EAUTH', 535, 'AUTH PLAIN'));
    assert.equal(err.code, 'TARGET_AUTH');
    assert.equal(err.retryAfterMs, undefined, 'no time of its own: the registry says how long');
    assert.equal(holdMs(err), 5 * 60_000);
  });

  it('a refused envelope (MAIL FROM, RCPT TO) is TARGET_CONFIG whatever the reply, a 4xx included', () => {
    for (const rc of [550, 553, 530, 451, 452]) {
      assert.equal(smtpErrorCode({ code: 'EENVELOPE', responseCode: rc }), 'TARGET_CONFIG', String(rc));
    }
    assert.equal(smtpErrorCode({ code: 'ECONFIG' }), 'TARGET_CONFIG');
  });

  it('another 5xx is TARGET_REJECTED, at once; a 4xx retries (TARGET_UNAVAILABLE) and holds nothing', () => {
    for (const rc of [550, 552, 553, 554]) assert.equal(smtpErrorCode({ code: 'EMESSAGE', responseCode: rc }), 'TARGET_REJECTED', String(rc));
    for (const rc of [421, 450, 451, 452]) {
      const err = fromSmtpError(nodemailerError('Message failed', 'EMESSAGE', rc, 'DATA'));
      assert.equal(err.code, 'TARGET_UNAVAILABLE', String(rc));
      assert.equal(holdMs(err), undefined, String(rc));
    }
    // nodemailer gives 535 only with EAUTH; alone, it is a 5xx like any other
    assert.equal(smtpErrorCode({ responseCode: 535 }), 'TARGET_REJECTED');
  });

  it('no answer at all (connection, time-out, socket, TLS) and what it does not know retry: the default', () => {
    for (const code of ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'ECONNREFUSED', 'ESOMETHINGNEW']) {
      assert.equal(smtpErrorCode({ code }), 'TARGET_UNAVAILABLE', code);
    }
    assert.equal(smtpErrorCode({}), 'TARGET_UNAVAILABLE');
    assert.equal(fromSmtpError('a bare string').message, 'SMTP: a bare string');
  });

  it('keeps the server’s words in the message and the original as cause', () => {
    const original = nodemailerError("Can't send mail - all recipients were rejected", 'EENVELOPE', 550, 'RCPT TO');
    const err = fromSmtpError(original);
    assert.equal(err.message, "SMTP: Can't send mail - all recipients were rejected: 550 server words");
    assert.equal(err.cause, original);
  });
});
