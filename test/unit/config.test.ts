import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { hashTagOf, parseClusterSeeds } from '../../src/store/cluster-url.ts';
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
  it('REDIS_CLUSTER: seeds in REDIS_URL, required; QUEUE_PREFIX {ccai} by default and a hash tag required', () => {
    const seeds = 'redis://10.0.0.1:7000,redis://10.0.0.2:7000';
    const c = loadConfig({ REDIS_CLUSTER: 'true', REDIS_URL: seeds });
    assert.deepEqual([c.REDIS_CLUSTER, c.redisUrl, c.QUEUE_PREFIX], [true, seeds, '{ccai}']);
    // a single Redis keeps the prefix existing installs have their keys under
    assert.deepEqual([loadConfig({}).REDIS_CLUSTER, loadConfig({}).QUEUE_PREFIX], [false, 'ccai']);
    // a tag works on a single Redis too, and any tag does on a cluster
    assert.equal(loadConfig({ QUEUE_PREFIX: '{ccai}' }).QUEUE_PREFIX, '{ccai}');
    assert.equal(loadConfig({ REDIS_CLUSTER: 'yes', REDIS_URL: seeds, QUEUE_PREFIX: 'acme-{sync}' }).QUEUE_PREFIX, 'acme-{sync}');
    assert.throws(
      () => loadConfig({ REDIS_CLUSTER: 'true', REDIS_URL: seeds, QUEUE_PREFIX: 'acme' }),
      (err: Error & { code?: string }) =>
        err.code === 'CONFIG_INVALID' && /QUEUE_PREFIX: with REDIS_CLUSTER=true it must hold a hash tag, a name in braces such as \{ccai\}.*got "acme": set QUEUE_PREFIX=\{acme\}/.test(err.message),
    );
    // `{}` is no tag: Redis then hashes the whole key
    assert.throws(() => loadConfig({ REDIS_CLUSTER: 'true', REDIS_URL: seeds, QUEUE_PREFIX: '{}ccai' }), /QUEUE_PREFIX: with REDIS_CLUSTER=true it must hold a hash tag/);
    assert.throws(() => loadConfig({ REDIS_CLUSTER: 'true' }), (err: Error & { code?: string }) => err.code === 'CONFIG_INVALID' && /REDIS_CLUSTER=true needs REDIS_URL/.test(err.message));
    assert.throws(() => loadConfig({ REDIS_CLUSTER: 'maybe' }), /REDIS_CLUSTER: expected true or false/);
    assert.throws(() => loadConfig({ QUEUE_PREFIX: 'a b' }), /QUEUE_PREFIX: letters, digits, _ \. - \{ \} only/);
    // several servers without REDIS_CLUSTER: said what they look like
    assert.throws(() => loadConfig({ REDIS_URL: seeds }), /REDIS_URL lists several servers.*set REDIS_CLUSTER=true/);
  });

  it('REDIS_CLUSTER: the seeds share one login and one scheme, database 0; a password is never echoed', () => {
    assert.deepEqual(parseClusterSeeds('redis://:hunter22@a:7000, redis://:hunter22@b:7001'), {
      nodes: [{ host: 'a', port: 7000 }, { host: 'b', port: 7001 }],
      password: 'hunter22',
      tls: false,
    });
    assert.deepEqual(parseClusterSeeds('rediss://ccai:p%40ss@a,rediss://b:7000'), { nodes: [{ host: 'a', port: 6379 }, { host: 'b', port: 7000 }], username: 'ccai', password: 'p@ss', tls: true });
    const refused = (url: string, why: RegExp) =>
      assert.throws(
        () => loadConfig({ REDIS_CLUSTER: 'true', REDIS_URL: url }),
        (err: Error) => why.test(err.message) && !err.message.includes('hunter22'),
        url,
      );
    refused('redis://:hunter22@a:7000,redis://:other@b:7000', /REDIS_URL: the seeds give different users or passwords/);
    refused('redis://:hunter22@a:7000,rediss://b:7000', /REDIS_URL: the seeds mix redis:\/\/ and rediss:\/\//);
    refused('redis://:hunter22@a:7000/2', /REDIS_URL: the seed names a database \(\/2\): a Redis Cluster has only database 0/);
    refused('redis://:hunter22@a:7000,http://b', /REDIS_URL: seed 2 must start with redis:\/\/ or rediss:\/\//);
  });

  it('the hash tag is what Redis Cluster hashes a key by: the first {…} that is not empty', () => {
    assert.equal(hashTagOf('{ccai}'), 'ccai');
    assert.equal(hashTagOf('{ccai}:status:call-1418'), 'ccai');
    assert.equal(hashTagOf('acme-{sync}-x{y}'), 'sync');
    assert.equal(hashTagOf('ccai'), null);
    assert.equal(hashTagOf('{}ccai{x}'), null, 'the first { decides, and {} is no tag');
    assert.equal(hashTagOf('ccai{'), null);
  });
});
