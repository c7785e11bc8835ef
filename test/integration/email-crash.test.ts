// `run` with CRM=email killed (SIGKILL) while e-mails are in flight, then run again, as an
// admin would after a crash: real processes, the real Redis (a prefix of its own) and a real
// SMTP server (the sink) that holds each message's DATA a while, so that sends are under way
// at the kill. The versions claimed at that moment are taken over by the rerun once their
// claim's lease lapses (MAIL_CLAIM_LEASE_MS, default 30 s), not after 15 minutes, and resent
// under the same Message-ID: every session reaches the helpdesk, exactly once except those in
// flight at the kill (at most twice, the same Message-ID: the window the README documents), no
// TARGET_BUSY, and no job past its second attempt (the one killed, the rerun's).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.ts';
import { queueNameFor } from '../../src/app/app.ts';
import { TEST_REDIS_URL, dropPrefix, runCli, spawnCli, stopChild, tempDir, uniquePrefix } from '../helpers/env.ts';
import { callOnTicket } from '../helpers/documents.ts';
import { emailSettings, startSmtpSink } from '../helpers/smtp-sink.ts';
import type { SmtpSink } from '../helpers/smtp-sink.ts';
import { makeId } from '../salesforce/ids.ts';
import type { RunResult } from '../../src/cli/run.ts';

const N = 50;
/** what the rerun says of a version it took over (issue 14) */
const INTERRUPTED = 'an earlier attempt of this version was interrupted; it is resent under the same Message-ID';

/** a line of `run --json` */
type Result = Pick<RunResult, 'source' | 'session' | 'status' | 'reason'>;

describe('run with CRM=email killed mid-way, then run again', () => {
  const prefix = uniquePrefix('mailcrash');
  const tmp = tempDir('ccai-mailcrash');
  const folder = join(tmp.path, 'sessions');
  const dataDir = join(tmp.path, 'data');
  const children: ChildProcess[] = [];
  let sink: SmtpSink | undefined;

  after(async () => {
    await Promise.all(children.map((c) => stopChild(c, 'SIGKILL')));
    await sink?.stop();
    await dropPrefix(prefix);
    tmp.cleanup();
  });

  it('the rerun takes over the versions in flight at the kill within the lease: each session once (in flight: at most twice, one Message-ID), exit 0', async () => {
    mkdirSync(folder, { recursive: true });
    const sessions = Array.from({ length: N }, (_, i) => `call-${7000 + i}`);
    for (let i = 0; i < N; i++) writeFileSync(join(folder, `metadata_call-${7000 + i}.json`), callOnTicket(7000 + i, makeId('500', 9000 + i)));
    // each message's DATA is held a while: at any moment some are on the wire, unanswered
    sink = await startSmtpSink({ acceptDelayMs: 300 });
    const env = {
      ...emailSettings(sink.url, prefix, dataDir, TEST_REDIS_URL),
      // the killed run's jobs come back to the rerun soon (the claims' lease stays the default, 30 s)
      JOB_LOCK_MS: '5000',
      LOG_LEVEL: 'warn',
    };

    // 1. the first run, killed once a third of the e-mails are through
    const { child: first, stderr: firstErr } = spawnCli(['run', '--json', folder], env);
    children.push(first);
    await sink.waitFor(N / 3, 120_000).catch((err: Error) => assert.fail(`${err.message}\n${firstErr()}`));
    await stopChild(first, 'SIGKILL');
    // what was claimed at the kill: the versions being sent, one per job then running
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    const inFlight = new Set<string>();
    try {
      for (const key of await redis.keys(`${prefix}:email:sent:*`)) {
        if ((await redis.get(key))?.startsWith('sending')) inFlight.add(/<ccai\.((?:call|chat)-\d+)\./.exec(key)![1]!);
      }
    } finally {
      redis.disconnect();
    }
    const atKill = sink.messages.length;
    assert.ok(atKill < N, `killed mid-way (${atKill} of ${N} sent)`);
    assert.ok(inFlight.size > 0 && inFlight.size <= 8, `some versions in flight at the kill, at most one per concurrent job: ${[...inFlight].join(', ')}`);

    // 2. the rerun: it waits for no 15-minute claim, and ends well
    const started = Date.now();
    const r = await runCli(['run', '--json', '--wait', '150', folder], env, { timeoutMs: 240_000 });
    const seconds = (Date.now() - started) / 1000;
    const results = (JSON.parse(r.stdout) as { results: Result[] }).results;
    assert.equal(r.code, 0, `exit 0 (${seconds} s); not done: ${JSON.stringify(results.filter((x) => x.status === 'failed'))}\n${r.stderr}`);
    assert.doesNotMatch(r.stdout + r.stderr, /TARGET_BUSY/);
    assert.equal(results.length, N);
    // within about a minute of the claims' lease (30 s): no 15-minute wait (a generous bound)
    assert.ok(seconds < 120, `the rerun took ${seconds} s`);
    // the versions in flight at the kill were taken over as interrupted, and said so
    for (const session of inFlight) {
      const line = results.find((x) => x.session === session);
      assert.ok(line?.reason?.includes(INTERRUPTED), `${session}: ${line?.reason}`);
    }

    // 3. the helpdesk: every session, once; those in flight at the kill at most twice, one Message-ID
    const bySession = new Map<string, string[]>();
    for (const m of sink.messages) {
      const s = String(m.parsed.headers.get('x-ccai-session'));
      bySession.set(s, [...(bySession.get(s) ?? []), m.parsed.messageId ?? '']);
    }
    for (const s of sessions) {
      const ids = bySession.get(s) ?? [];
      assert.ok(ids.length >= 1, `${s} reached the helpdesk`);
      if (ids.length > 1) {
        assert.ok(inFlight.has(s), `${s} sent ${ids.length} times, though it was not in flight at the kill`);
        assert.equal(ids.length, 2, `${s}: at most twice`);
        assert.equal(new Set(ids).size, 1, `${s}: the same Message-ID both times`);
      }
    }
    assert.equal(bySession.size, N, 'nothing else was sent');
    const twice = [...bySession.values()].filter((ids) => ids.length > 1).length;
    process.stderr.write(`# rerun: ${seconds.toFixed(1)} s; in flight at the kill: ${inFlight.size}; accepted before the rerun: ${atKill}; sent twice: ${twice}\n`);

    // 4. no job used more than two attempts (the one killed, the rerun's), none failed
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(queueNameFor(loadConfig(env)), { connection, prefix });
    try {
      const jobs = await queue.getJobs(['completed', 'failed', 'active', 'wait', 'delayed']);
      assert.equal(jobs.length, N);
      for (const job of jobs) {
        assert.equal(await job.getState(), 'completed', `${job.id}`);
        assert.ok(job.attemptsStarted <= 2 && job.attemptsMade <= 1, `${job.id}: started ${job.attemptsStarted}, made ${job.attemptsMade}`);
      }
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });
});
