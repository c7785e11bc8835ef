// Three `ccai-crm-sync worker` processes on one queue and one org (the Salesforce double, slow
// enough that batches are in flight at any moment), with Case fields mapped: one worker killed
// with SIGKILL mid-way, and, in the second test, Redis (a private redis-server with AOF)
// restarted mid-way. Whatever happens: exactly one Task per session version, every Case ends
// with its newest version's fields, every session accounted for.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createApp } from '../../src/app/app.ts';
import type { App } from '../../src/app/app.ts';
import { startSalesforceDouble } from '../salesforce/double.ts';
import type { SalesforceDouble } from '../salesforce/double.ts';
import { fixture } from '../helpers/documents.ts';
import { TEST_REDIS_URL, dropPrefix, startWorkerProcess, tempDir, uniquePrefix, waitFor } from '../helpers/env.ts';
import type { WorkerProcess } from '../helpers/env.ts';
import { ledgerRunningSince } from '../helpers/salesforce-ledger.ts';
import { startRedisServer } from '../helpers/redis-server.ts';
import type { RedisServer } from '../helpers/redis-server.ts';

const N = 600;
const CASES = 40;
const CASE_FIELDS = [
  { name: 'CCAI_Session_Version__c', type: 'string', updateable: true, createable: true, length: 40 },
  { name: 'CCAI_CSAT__c', type: 'double', updateable: true, createable: true },
];

interface Fleet {
  sf: SalesforceDouble;
  workers: WorkerProcess[];
  submitter: App;
  /** per Case, the newest version submitted and its CSAT */
  newest: Map<string, { version: string; csat: number }>;
  versions: Set<string>;
  stop(): Promise<void>;
}

/** The double, three workers and a submitter on `redisUrl`; N sessions on CASES Cases, shuffled. */
async function fleet(redisUrl: string, prefix: string, tmp: string): Promise<Fleet> {
  const sf = await startSalesforceDouble({ latencyMs: 120 });
  sf.describeOverride('Case', CASE_FIELDS);
  const cases = Array.from({ length: CASES }, (_, i) => sf.insert('Case', { Subject: `case ${i}` }));
  writeFileSync(join(tmp, 'mapping.json'), JSON.stringify({ case: { fields: { CCAI_CSAT__c: 'csat_rating' } } }));
  await ledgerRunningSince(prefix, Date.now() - 86_400_000, redisUrl);
  const env = {
    CRM: 'salesforce',
    SF_INSTANCE_URL: sf.url,
    SF_ACCESS_TOKEN: sf.accessToken(),
    SF_MAPPING_FILE: join(tmp, 'mapping.json'),
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    DATA_DIR: tmp,
    // a killed worker's jobs and claims come back within seconds
    JOB_LOCK_MS: '5000',
    SF_CLAIM_LEASE_MS: '5000',
    JOB_BACKOFF_MS: '300',
    SF_BATCH_WAIT_MS: '200',
    LOG_LEVEL: 'warn',
  };
  const workers = await Promise.all([0, 1, 2].map(() => startWorkerProcess(env)));
  const submitter = await createApp(loadConfig(env), createLogger('silent'), { worker: false, allowPrivateRedis: false });
  const newest = new Map<string, { version: string; csat: number }>();
  const versions = new Set<string>();
  const base = Date.now() - 60 * 60_000;
  const order = Array.from({ length: N }, (_, i) => i).sort(() => Math.random() - 0.5);
  for (const i of order) {
    const doc = fixture('metadata_call-987.json');
    const caseId = cases[i % CASES]!;
    const version = new Date(base + i * 1_000).toISOString();
    const csat = (i % 5) + 1;
    Object.assign(doc, { id: 70_000 + i, updated_at: version, out_ticket_id: caseId, out_ticket_url: null, rating: csat });
    const r = await submitter.submit(Buffer.from(JSON.stringify(doc)), `f${i}`);
    assert.equal(r.status, 'queued', r.reason ?? '');
    versions.add(`call-${70_000 + i}@${version}`);
    if (!newest.has(caseId) || Date.parse(newest.get(caseId)!.version) < Date.parse(version)) newest.set(caseId, { version, csat });
  }
  return {
    sf,
    workers,
    submitter,
    newest,
    versions,
    async stop() {
      await Promise.all(workers.map((w) => w.stop('SIGKILL')));
      await submitter.close();
      await sf.close();
    },
  };
}

async function allDone(f: Fleet, timeoutMs: number): Promise<void> {
  await waitFor(
    'every job completed',
    async () => {
      const c = await f.submitter.queue.counts().catch(() => null);
      return c !== null && c.completed === N;
    },
    timeoutMs,
    250,
  ).catch(async (err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(await f.submitter.queue.counts().catch(() => null))}\n${f.workers.map((w) => w.stderr().slice(-1500)).join('\n---\n')}`);
  });
}

function assertExactlyOnce(f: Fleet): void {
  const tasks = f.sf.records('Task');
  const byVersion = new Map<string, number>();
  for (const t of tasks) byVersion.set(String(t.CallObject), (byVersion.get(String(t.CallObject)) ?? 0) + 1);
  assert.deepEqual([...byVersion].filter(([, n]) => n > 1), [], 'no version has two Tasks');
  assert.deepEqual([...f.versions].filter((v) => !byVersion.has(v)), [], 'every version has its Task');
  assert.equal(tasks.length, N);
  for (const c of f.sf.records('Case')) {
    const want = f.newest.get(String(c.Id))!;
    assert.equal(c.CCAI_Session_Version__c, want.version, `Case ${c.Id} holds its newest version`);
    assert.equal(c.CCAI_CSAT__c, want.csat, `Case ${c.Id} holds its newest version's CSAT`);
  }
}

describe('three Salesforce workers on one org', () => {
  const tmp = tempDir('ccai-sf-fleet');
  const prefixes: string[] = [];
  const fleets: Fleet[] = [];
  let redis: RedisServer | undefined;
  after(async () => {
    for (const f of fleets) await f.stop().catch(() => undefined);
    for (const p of prefixes) await dropPrefix(p).catch(() => undefined);
    await redis?.stop();
    tmp.cleanup();
  });

  it('one killed with SIGKILL while batches are in flight: one Task per version, newest Case fields, nothing lost', async () => {
    const prefix = uniquePrefix('fleet');
    prefixes.push(prefix);
    const f = await fleet(TEST_REDIS_URL, prefix, join(tmp.path));
    fleets.push(f);
    await waitFor('a third of the Tasks', async () => f.sf.records('Task').length >= N / 3, 120_000, 20);
    const killed = await f.workers[0]!.stop('SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    await allDone(f, 180_000);
    const jobs = await f.submitter.queue.queue.getJobs(['completed']);
    process.stderr.write(`# jobs taken over from the killed worker: ${jobs.filter((j) => j.attemptsStarted > 1).length}\n`);
    assertExactlyOnce(f);
  });

  it('Redis restarted (AOF) while batches are in flight: the same', async () => {
    redis = await startRedisServer();
    const prefix = uniquePrefix('fleetr');
    const f = await fleet(redis.url, prefix, join(tmp.path));
    fleets.push(f);
    await waitFor('a third of the Tasks', async () => f.sf.records('Task').length >= N / 3, 120_000, 20);
    await redis.restart(1_500);
    await allDone(f, 180_000);
    assertExactlyOnce(f);
  });
});
