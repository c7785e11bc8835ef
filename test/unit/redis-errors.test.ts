// The Redis translator's table: ioredis's errors (a server's reply comes as the message) in our
// codes, and the mailbox's rule built on it (what waits for the next read instead of counting
// as a try of the message).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SyncError } from '../../src/errors.ts';
import { isTransient } from '../../src/sources/imap/mailbox.ts';
import { redisErrorCode } from '../../src/store/redis-errors.ts';

/** A reply error as ioredis raises it: the server's line as the message. */
const reply = (line: string) => Object.assign(new Error(line), { name: 'ReplyError' });
/** A socket error as Node raises it, passed on by ioredis. */
const socket = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:6379`), { code, errno: -111, syscall: 'connect' });

describe('Redis errors', () => {
  it('a missing or wrong password is a setting to fix: CONFIG_INVALID', () => {
    assert.equal(redisErrorCode(reply('NOAUTH Authentication required.')), 'CONFIG_INVALID');
    assert.equal(redisErrorCode(reply('WRONGPASS invalid username-password pair or user is disabled.')), 'CONFIG_INVALID');
    assert.equal(redisErrorCode(reply('ERR invalid password')), 'CONFIG_INVALID', 'Redis before 6');
  });

  it('a connection that is refused, reset or gone, and ioredis giving up, pass by themselves: QUEUE_UNAVAILABLE', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']) assert.equal(redisErrorCode(socket(code)), 'QUEUE_UNAVAILABLE', code);
    assert.equal(redisErrorCode(new Error('Connection is closed.')), 'QUEUE_UNAVAILABLE');
    const maxRetries = Object.assign(new Error('Reached the max retries per request limit (which is 1). Refer to "maxRetriesPerRequest" option for details.'), { name: 'MaxRetriesPerRequestError' });
    assert.equal(redisErrorCode(maxRetries), 'QUEUE_UNAVAILABLE');
    assert.equal(redisErrorCode(new Error("Stream isn't writeable and enableOfflineQueue options is false")), 'QUEUE_UNAVAILABLE');
  });

  it('a server that cannot write now (replica, loading, master down) passes too, its reply wrapped or not', () => {
    assert.equal(redisErrorCode(reply("READONLY You can't write against a read only replica.")), 'QUEUE_UNAVAILABLE');
    assert.equal(redisErrorCode(reply('LOADING Redis is loading the dataset in memory')), 'QUEUE_UNAVAILABLE');
    assert.equal(redisErrorCode(reply("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")), 'QUEUE_UNAVAILABLE');
    assert.equal(redisErrorCode(reply("ERR Error running script (call to f_1a2b): @user_script:12: -READONLY You can't write against a read only replica.")), 'QUEUE_UNAVAILABLE');
  });

  it('a Redis Cluster between two states, and ioredis\'s Cluster not ready or not reaching it, pass too', () => {
    assert.equal(redisErrorCode(reply('CLUSTERDOWN The cluster is down')), 'QUEUE_UNAVAILABLE');
    assert.equal(redisErrorCode(reply('CLUSTERDOWN Hash slot not served')), 'QUEUE_UNAVAILABLE');
    assert.equal(redisErrorCode(reply('TRYAGAIN Multiple keys request during rehashing of slot')), 'QUEUE_UNAVAILABLE');
    assert.equal(redisErrorCode(new Error('Too many Cluster redirections. Last error: Error: Connection is closed.')), 'QUEUE_UNAVAILABLE');
    assert.equal(redisErrorCode(new Error("Cluster isn't ready and enableOfflineQueue options is false")), 'QUEUE_UNAVAILABLE');
    assert.equal(redisErrorCode(new Error('None of startup nodes is available')), 'QUEUE_UNAVAILABLE');
    assert.equal(redisErrorCode(new Error('Failed to refresh slots cache.')), 'QUEUE_UNAVAILABLE');
    assert.equal(redisErrorCode(new Error('Cluster is ended.')), 'QUEUE_UNAVAILABLE');
    // keys of one command in several slots: a bug to see, not an outage to wait out
    assert.equal(redisErrorCode(reply("CROSSSLOT Keys in request don't hash to the same slot")), 'INTERNAL');
  });

  it('what it does not know is the default, INTERNAL: memory full, a command time-out, a bug', () => {
    assert.equal(redisErrorCode(reply("OOM command not allowed when used memory > 'maxmemory'.")), 'INTERNAL');
    assert.equal(redisErrorCode(new Error('Command timed out')), 'INTERNAL');
    assert.equal(redisErrorCode(reply("ERR unknown command 'FOO'")), 'INTERNAL');
    assert.equal(redisErrorCode('a string'), 'INTERNAL');
    assert.equal(redisErrorCode(null), 'INTERNAL');
  });

  it('the mailbox waits (not a try) for Redis that passes, a full disk and retryable errors; counts the rest', () => {
    assert.equal(isTransient(socket('ECONNREFUSED')), true);
    assert.equal(isTransient(reply('LOADING Redis is loading the dataset in memory')), true);
    assert.equal(isTransient(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })), true);
    assert.equal(isTransient(new SyncError('STORAGE_BUSY', 'database is locked')), true);
    assert.equal(isTransient(reply('WRONGPASS invalid username-password pair or user is disabled.')), false);
    assert.equal(isTransient(reply("OOM command not allowed when used memory > 'maxmemory'.")), false);
    assert.equal(isTransient(new SyncError('INPUT_NOT_JSON', 'the document is not JSON')), false);
  });
});
