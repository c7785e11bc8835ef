// The SFTP translator's table: ssh2's errors, shaped as ssh2 1.17 (under ssh2-sftp-client 12)
// raises them against OpenSSH 9.2 (the shapes below were read off real ones: a refused key, a
// refused host key, a closed port, an unknown host, "No such file", "Permission denied", a
// rename onto a taken name), in our codes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SFTP_STATUS, fromSftpError, isConnectionLoss, isNoSuchFile, sftpErrorCode } from '../../src/sources/sftp/sftp-errors.ts';
import { SyncError } from '../../src/errors.ts';

/** An error as ssh2 makes them: a message, and a code and/or a level. */
function ssh2Error(message: string, extra: { code?: number | string; level?: string } = {}): Error {
  return Object.assign(new Error(message), extra);
}

describe('SFTP errors', () => {
  it('a refused login is a setting to fix (CONFIG_INVALID), saying which settings', () => {
    const original = ssh2Error('All configured authentication methods failed', { level: 'client-authentication' });
    const err = fromSftpError(original, 'connecting to h:22 as ccai');
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, /^SFTP: connecting to h:22 as ccai: All configured authentication methods failed \(the server refused the account of SFTP_URL with SFTP_PRIVATE_KEY_FILE \/ SFTP_PASSWORD/);
    assert.equal(err.cause, original);
    // a key ssh2 cannot read is refused before any connection: no code, no level
    assert.equal(fromSftpError(ssh2Error('Cannot parse privateKey: Unsupported key format')).code, 'CONFIG_INVALID');
    assert.equal(sftpErrorCode({ message: 'Encrypted private OpenSSH key detected, but no passphrase given' }), 'CONFIG_INVALID');
  });

  it('a failed handshake (the host key refused, no algorithm in common) is CONFIG_INVALID', () => {
    assert.equal(sftpErrorCode(ssh2Error('Host denied (verification failed)', { level: 'handshake' })), 'CONFIG_INVALID');
    assert.equal(sftpErrorCode(ssh2Error('Handshake failed: no matching key exchange algorithm', { level: 'handshake' })), 'CONFIG_INVALID');
  });

  it('statuses: the folder missing or not ours is a setting; a failure passes; a bad message is ours', () => {
    const missing = fromSftpError(ssh2Error('No such file', { code: SFTP_STATUS.NO_SUCH_FILE }), 'listing /srv/ccai');
    assert.equal(missing.code, 'CONFIG_INVALID');
    assert.equal(missing.message, 'SFTP: listing /srv/ccai: No such file (check the folder of SFTP_URL)');
    const denied = fromSftpError(ssh2Error('Permission denied', { code: SFTP_STATUS.PERMISSION_DENIED }), 'claiming metadata-1.json');
    assert.equal(denied.code, 'CONFIG_INVALID');
    assert.match(denied.message, /Permission denied \(the account may not do this: .*SFTP_AFTER=move or delete\)/);
    assert.equal(sftpErrorCode(ssh2Error('Operation unsupported', { code: SFTP_STATUS.OP_UNSUPPORTED })), 'CONFIG_INVALID');
    assert.match(fromSftpError(ssh2Error('Operation unsupported', { code: SFTP_STATUS.OP_UNSUPPORTED })).message, /SFTP_AFTER=leave/);
    // OpenSSH's word for anything else (a rename onto a taken name, a full disk)
    assert.equal(sftpErrorCode(ssh2Error('Failure', { code: SFTP_STATUS.FAILURE })), 'SOURCE_UNAVAILABLE');
    assert.equal(sftpErrorCode(ssh2Error('Bad message', { code: SFTP_STATUS.BAD_MESSAGE })), 'INTERNAL');
    for (const code of [SFTP_STATUS.NO_CONNECTION, SFTP_STATUS.CONNECTION_LOST]) assert.equal(sftpErrorCode({ code }), 'SOURCE_UNAVAILABLE');
  });

  it('no connection (refused, reset, timed out, unknown host, cut off under a request) is SOURCE_UNAVAILABLE', () => {
    const refused = ssh2Error('connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED', level: 'client-socket' });
    assert.equal(fromSftpError(refused).code, 'SOURCE_UNAVAILABLE');
    assert.equal(fromSftpError(refused).message, 'SFTP: connect ECONNREFUSED 127.0.0.1:1');
    for (const code of ['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ERR_NOT_CONNECTED']) assert.equal(sftpErrorCode({ code }), 'SOURCE_UNAVAILABLE', code);
    assert.equal(sftpErrorCode(ssh2Error('Timed out while waiting for handshake', { level: 'client-timeout' })), 'SOURCE_UNAVAILABLE');
    assert.equal(sftpErrorCode(ssh2Error('Keepalive timeout', { level: 'client-timeout' })), 'SOURCE_UNAVAILABLE');
    // ssh2 fails every request still waiting when the connection closes, with no code
    assert.equal(sftpErrorCode(ssh2Error('No response from server')), 'SOURCE_UNAVAILABLE');
  });

  it('tells a connection lost under a request (send it again) from a refusal (do not)', () => {
    assert.equal(isConnectionLoss(ssh2Error('No response from server')), true);
    assert.equal(isConnectionLoss(ssh2Error('read ECONNRESET', { code: 'ECONNRESET' })), true);
    assert.equal(isConnectionLoss(ssh2Error('Keepalive timeout', { level: 'client-timeout' })), true);
    assert.equal(isConnectionLoss({ code: SFTP_STATUS.CONNECTION_LOST }), true);
    assert.equal(isConnectionLoss(ssh2Error('No such file', { code: SFTP_STATUS.NO_SUCH_FILE })), false);
    assert.equal(isConnectionLoss(ssh2Error('Failure', { code: SFTP_STATUS.FAILURE })), false);
    assert.equal(isConnectionLoss(ssh2Error('All configured authentication methods failed', { level: 'client-authentication' })), false);
    assert.equal(isConnectionLoss(undefined), false);
    assert.equal(isNoSuchFile(ssh2Error('No such file', { code: 2 })), true);
    assert.equal(isNoSuchFile(ssh2Error('Permission denied', { code: 3 })), false);
    assert.equal(isNoSuchFile(null), false);
  });

  it('what it does not know is the default, SOURCE_UNAVAILABLE; a SyncError passes through', () => {
    assert.equal(sftpErrorCode({ message: 'something new' }), 'SOURCE_UNAVAILABLE');
    assert.equal(sftpErrorCode({ code: 'constructor' }), 'SOURCE_UNAVAILABLE', 'only the table’s own keys');
    assert.equal(sftpErrorCode({ code: 99 }), 'SOURCE_UNAVAILABLE');
    assert.equal(sftpErrorCode({ level: 'toString' }), 'SOURCE_UNAVAILABLE');
    assert.equal(fromSftpError('a bare string').message, 'SFTP: a bare string');
    const ours = new SyncError('CONFIG_INVALID', 'SFTP: host key refused');
    assert.equal(fromSftpError(ours, 'connecting'), ours);
  });
});
