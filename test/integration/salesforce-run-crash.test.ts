// `run` with CRM=salesforce killed (SIGKILL) while batches are in flight, with 30% of Task
// writes refused as UNABLE_TO_LOCK_ROW (the error a busy org gives), then run again as an admin
// would after a crash: real processes, the real Redis (a prefix of its own) and the Salesforce
// double, which answers slowly so that requests are under way at the kill. The rerun takes the
// killed run's jobs over once their lock lapses (JOB_LOCK_MS) and ends well: one Task per
// session version, whatever was written before the kill, and every session accounted for.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TEST_REDIS_URL, dropPrefix, runCli, spawnCli, stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.ts';
import { callOnTicket } from '../helpers/documents.ts';
import { startSalesforceDouble } from '../salesforce/double.ts';
import type { SalesforceDouble } from '../salesforce/double.ts';
import type { RunResult } from '../../src/cli/run.ts';

const N = 300;

/** a line of `run --json` */
type Result = Pick<RunResult, 'source' | 'session' | 'status' | 'reason'>;

describe('run with CRM=salesforce killed mid-way under lock errors, then run again', () => {
  const prefix = uniquePrefix('sfcrash');
  const tmp = tempDir('ccai-sfcrash');
  const folder = join(tmp.path, 'sessions');
  const children: ChildProcess[] = [];
  let sf: SalesforceDouble;

  before(async () => {
    sf = await startSalesforceDouble({ latencyMs: 150 });
  });
  after(async () => {
    await Promise.all(children.map((c) => stopChild(c, 'SIGKILL')));
    await sf.close();
    await dropPrefix(prefix);
    tmp.cleanup();
  });

  it('every session ends with exactly one Task, the rerun finishes what the kill left, exit 0', async () => {
    mkdirSync(folder, { recursive: true });
    const cases = Array.from({ length: 30 }, (_, i) => sf.insert('Case', { Subject: `Case ${i}` }));
    const sessions = Array.from({ length: N }, (_, i) => `call-${50_000 + i}`);
    for (let i = 0; i < N; i++) writeFileSync(join(folder, `metadata_call-${50_000 + i}.json`), callOnTicket(50_000 + i, cases[i % cases.length]!));
    // 30% of Task writes are refused as a lock error, whatever the attempt's number
    sf.failRecords((sobject) => (sobject === 'Task' && Math.random() < 0.3 ? { statusCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record or 1 records' } : null));
    const env = {
      CRM: 'salesforce',
      SF_INSTANCE_URL: sf.url,
      SF_ACCESS_TOKEN: sf.accessToken(),
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      DATA_DIR: join(tmp.path, 'data'),
      // the killed run's jobs come back to the rerun soon; lock errors are retried soon
      JOB_LOCK_MS: '5000',
      JOB_BACKOFF_MS: '300',
      SF_BATCH_WAIT_MS: '100',
      LOG_LEVEL: 'warn',
    };
    const tasks = () => sf.records('Task');

    // 1. the first run, killed once a third of the Tasks are written
    const { child: first, stderr: firstErr } = spawnCli(['run', '--json', folder], env);
    children.push(first);
    await waitFor('a third of the Tasks', async () => tasks().length >= N / 3, 120_000, 20).catch((err: Error) => assert.fail(`${err.message}\n${firstErr()}`));
    await stopChild(first, 'SIGKILL');
    const atKill = tasks().length;
    assert.ok(atKill < N, `killed mid-way (${atKill} of ${N} Tasks)`);

    // 2. the rerun
    const started = Date.now();
    const r = await runCli(['run', '--json', '--wait', '150', folder], env, { timeoutMs: 240_000 });
    const seconds = (Date.now() - started) / 1000;
    const results = (JSON.parse(r.stdout) as { results: Result[] }).results;
    assert.equal(r.code, 0, `exit 0 (${seconds} s); not done: ${JSON.stringify(results.filter((x) => x.status === 'failed').slice(0, 5))}\n${r.stderr.slice(-3000)}`);
    assert.equal(results.length, N);
    assert.doesNotMatch(r.stderr, /unexpected error|\n\s+at /, 'no stack trace');
    // each line says what happened to its session: delivered by this run, or already by the killed one
    for (const x of results) assert.ok(['delivered', 'skipped'].includes(x.status), JSON.stringify(x));

    // 3. Salesforce: exactly one Task per session version, on its Case
    const bySession = new Map<string, number>();
    for (const t of tasks()) {
      const s = /^((?:call|chat)-\d+)@/.exec(String(t.CallObject))?.[1] ?? String(t.CallObject);
      bySession.set(s, (bySession.get(s) ?? 0) + 1);
    }
    const twice = [...bySession].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], 'no session has two Tasks');
    assert.deepEqual(sessions.filter((s) => !bySession.has(s)), [], 'every session has its Task');
    assert.equal(bySession.size, N, 'nothing else was written');
    process.stderr.write(`# salesforce rerun: ${seconds.toFixed(1)} s; Tasks before the rerun: ${atKill} of ${N}\n`);
  });
});
