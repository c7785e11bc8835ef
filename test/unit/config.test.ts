import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { tempDir } from '../helpers/env.ts';

describe('configuration', () => {
  it('works with no configuration at all', () => {
    const c = loadConfig({});
    assert.equal(c.CRM, 'local');
    assert.equal(c.redisUrl, undefined);
    assert.deepEqual(c.allowedHosts, []);
    assert.match(c.dataDir, /data$/);
  });

  it('lists every problem at once', () => {
    assert.throws(
      () => loadConfig({ CRM: 'hubspot', LOG_LEVEL: 'loud', REDIS_URL: 'http://x', WORKER_CONCURRENCY: '0' }),
      (err: Error) => {
        for (const name of ['CRM', 'LOG_LEVEL', 'REDIS_URL', 'WORKER_CONCURRENCY']) assert.match(err.message, new RegExp(`${name}:`));
        return true;
      },
    );
  });

  it('never shows a secret in an error', () => {
    assert.throws(
      () => loadConfig({ HTTP_TOKEN: 'short-secret' }),
      (err: Error) => /HTTP_TOKEN/.test(err.message) && !err.message.includes('short-secret'),
    );
  });

  it('reads secrets from *_FILE and settings from CONFIG_FILE, the environment winning', () => {
    const tmp = tempDir();
    try {
      writeFileSync(join(tmp.path, 'token'), 'a-long-enough-secret-token\n');
      writeFileSync(join(tmp.path, 'config.json'), JSON.stringify({ CRM_ALLOWED_HOSTS: 'a.example.com', LOG_LEVEL: 'debug' }));
      const c = loadConfig({ HTTP_TOKEN_FILE: join(tmp.path, 'token'), CONFIG_FILE: join(tmp.path, 'config.json'), LOG_LEVEL: 'warn' });
      assert.equal(c.HTTP_TOKEN, 'a-long-enough-secret-token');
      assert.deepEqual(c.allowedHosts, ['a.example.com']);
      assert.equal(c.LOG_LEVEL, 'warn');
    } finally {
      tmp.cleanup();
    }
  });

  it('command-line overrides win over the environment', () => {
    assert.equal(loadConfig({ CRM: 'local' }, { CRM: 'email' }).CRM, 'email');
  });

  it('parses IMAP_URL (also from IMAP_URL_FILE) and never echoes it in an error', () => {
    const tmp = tempDir();
    try {
      writeFileSync(join(tmp.path, 'imap'), 'imaps://ccai:hunter22@mail.example.com/INBOX,Bounces\n');
      const c = loadConfig({ IMAP_URL_FILE: join(tmp.path, 'imap') });
      assert.deepEqual(c.imap?.folders, ['INBOX', 'Bounces']);
      assert.equal(c.imap?.pass, 'hunter22');
      assert.equal(loadConfig({}).imap, null);
    } finally {
      tmp.cleanup();
    }
    assert.throws(
      () => loadConfig({ IMAP_URL: 'imap://mail.example.com:143/hunter22' }),
      (err: Error) => /IMAP_URL: needs the mailbox user and password/.test(err.message) && !err.message.includes('hunter22'),
    );
    assert.throws(() => loadConfig({ IMAP_URL: 'imap://u%ZZ:hunter22@h' }), (err: Error) => /IMAP_URL: has a user or password that is not properly URI-encoded/.test(err.message) && !err.message.includes('hunter22'));
    assert.throws(() => loadConfig({ IMAP_POLL_MS: '60000', IMAP_WATCHDOG_MS: '30000' }), /IMAP_WATCHDOG_MS must be longer than IMAP_POLL_MS/);
    assert.throws(() => loadConfig({ IMAP_URL: 'pop3://u:hunter22@h' }), (err: Error) => /IMAP_URL: must look like imaps:/.test(err.message) && !err.message.includes('hunter22'));
  });

  it('bounds how long an HTTP client may take (request, headers, idle keep-alive)', () => {
    const c = loadConfig({});
    assert.deepEqual([c.HTTP_REQUEST_TIMEOUT_MS, c.HTTP_HEADERS_TIMEOUT_MS, c.HTTP_KEEP_ALIVE_TIMEOUT_MS], [30_000, 10_000, 5_000]);
    const set = loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '60000', HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000' });
    assert.deepEqual([set.HTTP_REQUEST_TIMEOUT_MS, set.HTTP_HEADERS_TIMEOUT_MS, set.HTTP_KEEP_ALIVE_TIMEOUT_MS], [60_000, 20_000, 1_000]);
    // 0 would mean "no limit" to Node: exactly what these settings are there to prevent
    assert.throws(() => loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '0', HTTP_KEEP_ALIVE_TIMEOUT_MS: '0' }), /HTTP_REQUEST_TIMEOUT_MS:[^]*HTTP_KEEP_ALIVE_TIMEOUT_MS:/);
    assert.throws(() => loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '5000', HTTP_HEADERS_TIMEOUT_MS: '10000' }), /HTTP_HEADERS_TIMEOUT_MS must not be longer than HTTP_REQUEST_TIMEOUT_MS/);
  });
});
