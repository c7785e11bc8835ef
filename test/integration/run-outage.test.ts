// `run`, the one-shot path admins use for backfills, under faults: Redis restarted mid-run (a
// private redis-server with AOF), Redis gone for longer than --wait, and one session that keeps
// failing while the others go through. Real processes; timings only as generous bounds.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { localNotes } from '../helpers/local-notes.ts';
import { startSalesforceDouble } from '../salesforce/double.ts';
import type { SalesforceDouble } from '../salesforce/double.ts';
import { Redis } from 'ioredis';
import { FIXTURES, TEST_REDIS_URL, dropPrefix, runCli, tempDir, uniquePrefix, waitFor } from '../helpers/env.ts';
import { startRedisServer } from '../helpers/redis-server.ts';
import type { RedisServer } from '../helpers/redis-server.ts';

interface Result {
  source: string;
  session: string | null;
  status: string;
  code: string | null;
  reason: string | null;
}

const doc = JSON.parse(readFileSync(join(FIXTURES, 'sessions/metadata_call-1418.json'), 'utf8')) as Record<string, unknown>;
const TICKET = '500ak000024vx4uAAA';

function folderOf(path: string, n: number, first = 1, ticket = TICKET): string {
  mkdirSync(path, { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(path, `metadata-${first + i}.json`), JSON.stringify({ ...doc, id: first + i, out_ticket_id: ticket, out_ticket_url: null }));
  return path;
}

/** Jobs of a queue prefix in that Redis (their hashes), to act once a run is under way. */
async function jobsIn(url: string, prefix: string): Promise<number> {
  const r = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await r.connect();
    const [, keys] = await r.scan('0', 'MATCH', `${prefix}:sessions-*:call-*`, 'COUNT', 10_000);
    return keys.length;
  } catch {
    return 0;
  } finally {
    r.disconnect();
  }
}

const parse = (stdout: string) => (JSON.parse(stdout) as { results: Result[] }).results;

describe('run under faults', () => {
  const tmp = tempDir('ccai-run-faults');
  let redis: RedisServer;

  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis.stop();
    tmp.cleanup();
  });

  it('rides out a Redis restart: a full report, every session exactly once, no stack trace', async () => {
    const dataDir = join(tmp.path, 'restart-data');
    const files = folderOf(join(tmp.path, 'restart'), 400, 20_000);
    const run = runCli(['run', '--json', files], { REDIS_URL: redis.url, QUEUE_PREFIX: 'restart', DATA_DIR: dataDir, LOCAL_CRM_LATENCY_MS: '40' }, { timeoutMs: 180_000 });
    await waitFor('a part of the way in', async () => (await jobsIn(redis.url, 'restart')) >= 100, 60_000, 100);
    await redis.restart(1_500);
    const r = await run;
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const results = parse(r.stdout);
    assert.equal(results.length, 400);
    assert.deepEqual([...new Set(results.map((x) => x.status))], ['delivered'], JSON.stringify(results.filter((x) => x.status !== 'delivered').slice(0, 3)));
    assert.doesNotMatch(r.stderr, /unexpected error|\n\s+at /, 'no stack trace');
    const notes = localNotes(dataDir, TICKET);
    assert.equal(notes.length, 400, 'one note per session');
    assert.equal(new Set(notes.map((n) => n.sessionKey)).size, 400, 'none twice');
  });

  it('Redis gone for longer than --wait: ends on time with what is unfinished, never hangs, no stack trace', async () => {
    const gone = await startRedisServer();
    try {
      const files = folderOf(join(tmp.path, 'gone'), 300, 30_000);
      const t0 = Date.now();
      const run = runCli(['run', '--json', '--wait', '4', files], { REDIS_URL: gone.url, QUEUE_PREFIX: 'gone', DATA_DIR: join(tmp.path, 'gone-data'), LOCAL_CRM_LATENCY_MS: '40' }, { timeoutMs: 120_000 });
      // once the run is under way (jobs in Redis), not while it starts: a Redis absent at the
      // start is a plain `cannot reach Redis` (exit 3), tested elsewhere
      await waitFor('jobs submitted', async () => (await jobsIn(gone.url, 'gone')) >= 20, 60_000, 100);
      await gone.stop();
      const r = await run;
      assert.ok(Date.now() - t0 < 90_000, `ended in ${Date.now() - t0} ms`);
      assert.equal(r.code, 1);
      const results = parse(r.stdout);
      assert.equal(results.length, 300, 'a line for every input');
      const unfinished = results.filter((x) => x.status !== 'delivered');
      assert.ok(unfinished.length > 0);
      for (const u of unfinished) {
        assert.equal(u.status, 'failed');
        assert.equal(u.code, 'QUEUE_UNAVAILABLE', JSON.stringify(u));
        assert.match(u.reason ?? '', /Redis did not answer/);
      }
      assert.doesNotMatch(r.stderr, /unexpected error|\n\s+at /, 'no stack trace');
    } finally {
      await gone.stop();
    }
  });
});

describe('run: one session that keeps failing holds up nothing', () => {
  let sf: SalesforceDouble;
  const tmp = tempDir('ccai-run-slow');
  const prefix = uniquePrefix('slow');
  before(async () => {
    sf = await startSalesforceDouble();
  });
  after(async () => {
    await sf.close();
    await dropPrefix(prefix);
    tmp.cleanup();
  });

  it('the others are delivered; its line gives the last error in Salesforce words, not TIMEOUT', async () => {
    const caseId = sf.insert('Case', { Subject: 'Where is my order?' });
    const files = folderOf(join(tmp.path, 'in'), 60, 40_000, caseId);
    // the Task of call-40007 is locked, whatever the attempt
    sf.failRecords((sobject, record) =>
      sobject === 'Task' && String(record.CallObject ?? '').startsWith('call-40007@') ? { statusCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record' } : null,
    );
    const t0 = Date.now();
    const r = await runCli(
      ['run', '--json', '--wait', '8', files],
      { CRM: 'salesforce', SF_INSTANCE_URL: sf.url, SF_ACCESS_TOKEN: sf.accessToken(), REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: tmp.path, JOB_BACKOFF_MS: '500', SF_BATCH_WAIT_MS: '50' },
      { timeoutMs: 120_000 },
    );
    const results = parse(r.stdout);
    assert.equal(r.code, 1);
    assert.ok(Date.now() - t0 < 60_000, `ended in ${Date.now() - t0} ms`);
    const slow = results.find((x) => x.session === 'call-40007')!;
    assert.equal(slow.status, 'failed');
    assert.equal(slow.code, 'TARGET_BUSY', JSON.stringify(slow));
    assert.match(slow.reason ?? '', /UNABLE_TO_LOCK_ROW: unable to obtain exclusive access/);
    assert.match(slow.reason ?? '', /stays queued \(.*attempt \d+ of 10\)/);
    assert.deepEqual(results.filter((x) => x.session !== 'call-40007').map((x) => x.status), Array(59).fill('delivered'));
  });
});
