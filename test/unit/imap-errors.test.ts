// The IMAP translator's table: imapflow's errors, shaped as imapflow 2 raises them against
// Dovecot (the parts below were read off real ones), in our codes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromImapError, imapErrorCode } from '../../src/sources/imap/imap-errors.ts';

/** A tagged NO or BAD, as imapflow rejects a command with it. */
function refusal(status: 'NO' | 'BAD', text: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error('Command failed'), { responseStatus: status, responseText: text, ...extra });
}

describe('IMAP errors', () => {
  it('a refused login is a setting to fix (CONFIG_INVALID), in the server’s words', () => {
    const original = refusal('NO', 'Authentication failed.', { authenticationFailed: true, serverResponseCode: 'AUTHENTICATIONFAILED' });
    const err = fromImapError(original);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.equal(err.message, 'IMAP: Command failed: [AUTHENTICATIONFAILED] Authentication failed.');
    assert.equal(err.cause, original);
    // imapflow marks it even when the server gives no response code
    assert.equal(imapErrorCode({ authenticationFailed: true, responseStatus: 'NO' }), 'CONFIG_INVALID');
  });

  it('response codes (RFC 5530): the account and folders are settings, the server’s state passes, our bugs are INTERNAL', () => {
    for (const rc of ['AUTHORIZATIONFAILED', 'EXPIRED', 'PRIVACYREQUIRED', 'NONEXISTENT', 'TRYCREATE', 'NOPERM']) {
      assert.equal(imapErrorCode({ responseStatus: 'NO', serverResponseCode: rc }), 'CONFIG_INVALID', rc);
    }
    for (const rc of ['UNAVAILABLE', 'INUSE', 'LIMIT', 'OVERQUOTA', 'SERVERBUG']) {
      assert.equal(imapErrorCode({ responseStatus: 'NO', serverResponseCode: rc }), 'SOURCE_UNAVAILABLE', rc);
    }
    assert.equal(imapErrorCode({ responseStatus: 'NO', serverResponseCode: 'CLIENTBUG' }), 'INTERNAL');
  });

  it('a NO without a response code passes (Dovecot’s SELECT of a missing folder says none); a BAD is ours: INTERNAL', () => {
    assert.equal(fromImapError(refusal('NO', "Mailbox doesn't exist: Nope (0.001 + 0.000 secs).")).code, 'SOURCE_UNAVAILABLE');
    assert.equal(fromImapError(refusal('NO', "Mailbox doesn't exist: Nope (0.001 + 0.000 secs).")).message, "IMAP: Command failed: Mailbox doesn't exist: Nope (0.001 + 0.000 secs).");
    assert.equal(imapErrorCode({ responseStatus: 'BAD', responseText: 'Error in IMAP command UID: Invalid arguments.' }), 'INTERNAL');
  });

  it('no connection (refused, closed, timed out, throttled) is SOURCE_UNAVAILABLE', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    assert.equal(fromImapError(refused).code, 'SOURCE_UNAVAILABLE');
    assert.equal(fromImapError(refused).message, 'IMAP: connect ECONNREFUSED 127.0.0.1:1');
    for (const code of ['NoConnection', 'EConnectionClosed', 'CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'ETIMEOUT', 'ETHROTTLE', 'ENOTFOUND']) {
      assert.equal(imapErrorCode({ code }), 'SOURCE_UNAVAILABLE', code);
    }
  });

  it('what it does not know is the default, SOURCE_UNAVAILABLE (the reader retries it)', () => {
    assert.equal(imapErrorCode({ code: 'ParserError11' }), 'SOURCE_UNAVAILABLE');
    assert.equal(imapErrorCode({ code: 'constructor' }), 'SOURCE_UNAVAILABLE', 'only the table’s own keys');
    assert.equal(imapErrorCode({}), 'SOURCE_UNAVAILABLE');
    assert.equal(fromImapError('a bare string').message, 'IMAP: a bare string');
  });
});
