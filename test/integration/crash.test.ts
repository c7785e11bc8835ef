// A worker killed mid-job (SIGKILL, after it wrote on the ticket but before it acknowledged
// the job) loses nothing and duplicates nothing: another worker takes the stalled job over,
// finds the version already on the ticket, and completes it. Real processes, real Redis.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.ts';
import { queueNameFor } from '../../src/app/app.ts';
import { LocalCrm } from '../../src/targets/local/local-crm.ts';
import { CLI, FIXTURES, TEST_REDIS_URL, dropPrefix, stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.ts';

const TICKET = '500ak000024vx4uAAA';

function startWorker(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [CLI, 'worker'], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d) => process.env.TEST_DEBUG && process.stderr.write(d));
  return child;
}

describe('a worker killed mid-job', () => {
  const prefix = uniquePrefix('crash');
  const tmp = tempDir('ccai-crash');
  const inbox = join(tmp.path, 'inbox');
  const dataDir = join(tmp.path, 'data');
  const children: ChildProcess[] = [];
  const env = {
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    DATA_DIR: dataDir,
    INBOX_DIR: inbox,
    INBOX_POLL_MS: '200',
    INBOX_SETTLE_MS: '200',
    HTTP_PORT: '0',
    JOB_LOCK_MS: '1500',
  };

  after(async () => {
    await Promise.all(children.map((c) => stopChild(c, 'SIGKILL')));
    await dropPrefix(prefix);
    tmp.cleanup();
  });

  it('is taken over by another worker: one note, job completed, file processed', async () => {
    mkdirSync(inbox, { recursive: true });
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(queueNameFor(loadConfig(env)), { connection, prefix });
    try {
      // Worker A writes, then "waits for the CRM's answer" for 10 s: killed in that window.
      const a = startWorker({ ...env, LOCAL_CRM_LATENCY_MS: '10000' });
      children.push(a);
      copyFileSync(join(FIXTURES, 'sessions/metadata_call-1418.json'), join(inbox, 'metadata_call-1418.json'));
      const crm = await waitFor('local CRM file', async () => existsSync(join(dataDir, 'local-crm.sqlite')) && new LocalCrm(dataDir));
      await waitFor('note written by worker A', async () => crm.get(TICKET)?.notes.length === 1);
      // the inbox moved the file once the job was queued (A is still inside the job: 10 s)
      await waitFor('file moved to processed/', async () => existsSync(join(inbox, 'processed', 'metadata_call-1418.json')));
      const [job] = await queue.getJobs(['active']);
      assert.ok(job, 'the job is active in worker A');
      await stopChild(a, 'SIGKILL');

      assert.ok(!existsSync(join(inbox, 'metadata_call-1418.json')), 'nothing left in the inbox');
      assert.equal(await queue.getJobState(job.id!), 'active', 'the job is orphaned, not lost');

      const b = startWorker({ ...env, LOCAL_CRM_LATENCY_MS: '0' });
      children.push(b);
      await waitFor('job completed by worker B', async () => (await queue.getJobState(job.id!)) === 'completed', 30_000, 200);
      const done = await queue.getJob(job.id!);
      assert.equal(done?.returnvalue.status, 'delivered');
      assert.match(done?.returnvalue.reason ?? '', /already on the ticket/);
      assert.equal(crm.get(TICKET)?.notes.length, 1, 'no duplicate note');
      await crm.close();

      const { code } = await stopChild(b, 'SIGTERM');
      assert.equal(code, 0, 'SIGTERM stops the worker cleanly');
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });
});
