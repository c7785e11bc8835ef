// Job threads (JOB_THREADS): a job prepared on a thread is the job prepared on the main thread,
// errors keep their code and field across the thread boundary, and a thread that dies is
// replaced without losing track of the jobs it had.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { loadConfig } from '../../src/config.ts';
import { enrichOptionsOf, intakeOptionsOf, jobThreadsFor } from '../../src/app/app.ts';
import { createLogger } from '../../src/logger.ts';
import { JobThreads } from '../../src/pipeline/job-threads.ts';
import { prepareJob } from '../../src/pipeline/prepare.ts';
import { loadTemplates } from '../../src/render/templates.ts';
import type { NoteTemplates } from '../../src/render/templates.ts';
import type { IntakeOptions } from '../../src/domain/intake.ts';
import { isSyncError } from '../../src/errors.ts';
import { FIXTURES } from '../helpers/env.ts';

const fixture = (name: string) => readFileSync(join(FIXTURES, 'sessions', name), 'utf8');
const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', DATA_DIR: '/tmp/ccai-job-threads' });
const log = createLogger('silent');
const pools: JobThreads[] = [];
after(async () => {
  for (const p of pools) await p.close();
});

async function startPool(extra: { size?: number; templates?: NoteTemplates; intake?: Partial<IntakeOptions>; stuckAfterMs?: number } = {}) {
  const pool = await JobThreads.start({
    size: extra.size ?? 2,
    templates: extra.templates ?? (await loadTemplates()),
    intake: { ...intakeOptionsOf(config), ...extra.intake },
    enrich: enrichOptionsOf(config),
    log,
    ...(extra.stuckAfterMs ? { stuckAfterMs: extra.stuckAfterMs } : {}),
  });
  pools.push(pool);
  return pool;
}

async function rejection(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

describe('job threads', () => {
  it('prepare the same update and note as the main thread, for every fixture', async () => {
    const pool = await startPool();
    const local = { intake: intakeOptionsOf(config), enrich: enrichOptionsOf(config), templates: await loadTemplates() };
    const names = ['metadata_call-1418.json', 'metadata_chat-135.json', 'hostile-notes-call.json', 'several-transfers-call.json', 'zendesk-call.json', 'abandoned-call.json'];
    for (const name of names) {
      for (const html of [true, false]) {
        const doc = fixture(name);
        assert.deepEqual(await pool.prepare(doc, html), prepareJob(local, doc, html), `${name}, html ${html}`);
      }
    }
    const one = await pool.prepare(fixture('metadata_call-1418.json'), true);
    assert.ok(one.skip === null && /<strong>Disposition: /.test(one.note.html) && !('view' in one.update), 'a written note, and no template data in the update');
  });

  it('write the note in NOTE_LANGUAGE and NOTE_TIME_ZONE, as the main thread does', async () => {
    const templates = await loadTemplates(undefined, { language: 'de', timeZone: 'Europe/Berlin' });
    const pool = await startPool({ templates });
    const local = { intake: intakeOptionsOf(config), enrich: enrichOptionsOf(config), templates };
    const doc = fixture('metadata_call-1418.json');
    const prepared = await pool.prepare(doc, true);
    assert.deepEqual(prepared, prepareJob(local, doc, true));
    assert.ok(prepared.skip === null);
    assert.match(prepared.note.subject, /^Anruf 1418 /);
    assert.match(prepared.note.text, /Details · Zeitzone Europe\/Berlin\n  Beginn: 23\.03\.2026, 21:12:51\n/);
  });

  it('fail a job with the same code and field as the main thread would', async () => {
    const pool = await startPool({ intake: { allowedHosts: ['crm.example.org'] } });
    const err = await rejection(pool.prepare(fixture('metadata_call-1418.json'), false));
    assert.ok(isSyncError(err));
    assert.equal(err.code, 'TICKET_HOST_NOT_ALLOWED');
    assert.equal(err.field, 'out_ticket_url');
    assert.equal(err.retryable, false);
    const notJson = await rejection(pool.prepare('{"call_type": "voice_call", ', false));
    assert.ok(isSyncError(notJson) && notJson.code === 'INPUT_TRUNCATED', String(notJson));
  });

  it('a thread that dies fails at most the job it was on (retryable); the jobs queued behind it go to a new thread', async () => {
    const pool = await startPool({ size: 1 });
    const doc = fixture('metadata_call-1418.json');
    assert.equal((await pool.prepare(doc, false)).skip, null);
    // Killed from outside, as a crash would. (A thread out of memory takes the whole process
    // down in Node, whatever its resource limits, so no input kills only a thread.)
    const queued = Array.from({ length: 20 }, () => pool.prepare(doc, false));
    const thread = (pool as unknown as { slots: Array<{ worker: Worker }> }).slots[0]!.worker;
    await thread.terminate();
    const settled = await Promise.allSettled(queued);
    const failed = settled.filter((r) => r.status === 'rejected');
    assert.ok(failed.length <= 1, `${failed.length} jobs failed`);
    for (const f of failed) {
      const err = (f as PromiseRejectedResult).reason as unknown;
      assert.ok(isSyncError(err) && err.code === 'INTERNAL' && err.retryable, String(err));
      assert.match(err.message, /job thread .* stopped/);
    }
    for (const r of settled) if (r.status === 'fulfilled') assert.equal(r.value.skip, null);
    assert.ok(settled.filter((r) => r.status === 'fulfilled').length >= 19);
    assert.equal(pool.restarts, 1, 'one new thread, started for the jobs that were waiting');
    assert.equal((await pool.prepare(doc, true)).skip, null, 'the pool still works');
    assert.notEqual((pool as unknown as { slots: Array<{ worker: Worker }> }).slots[0]!.worker, thread, 'a new thread');
  });

  it('a thread that stops answering is replaced, and its job fails as retryable', async () => {
    const good = await loadTemplates();
    // a loop long enough to outlast the watchdog (LiquidJS itself would stop it after 5 s)
    const slow: NoteTemplates = { ...good, sources: { ...good.sources, subject: '{% for i in (1..5000) %}{% for j in (1..5000) %}{% endfor %}{% endfor %}x' } };
    const pool = await startPool({ size: 1, templates: slow, stuckAfterMs: 300 });
    const started = Date.now();
    const err = await rejection(pool.prepare(fixture('metadata_call-1418.json'), false));
    assert.ok(isSyncError(err) && err.code === 'INTERNAL' && err.retryable, String(err));
    assert.match(err.message, /did not answer for 300 ms/);
    assert.ok(Date.now() - started < 4_000, 'replaced by the watchdog, not stopped by the render limit');
  });

  it('a thread that cannot compile its templates does not start, and says why', async () => {
    const good = await loadTemplates();
    const broken: NoteTemplates = { ...good, sources: { ...good.sources, text: '{% if session.id %}never closed' } };
    const err = await rejection(startPool({ templates: broken }));
    assert.ok(isSyncError(err) && err.code === 'CONFIG_INVALID', String(err));
    assert.match(err.message, /note\.txt\.liquid/);
  });

  it('JOB_THREADS: auto is one for Salesforce on a machine with a core to spare, none for e-mail; RENDER_THREADS is the older name', () => {
    const sf = { REDIS_URL: 'redis://127.0.0.1:6379', CRM: 'salesforce', SF_INSTANCE_URL: 'https://x.my.salesforce.com', SF_ACCESS_TOKEN: 'token' };
    assert.equal(loadConfig(sf).JOB_THREADS, 'auto');
    assert.equal(jobThreadsFor(loadConfig({ ...sf, JOB_THREADS: '3' })), 3);
    assert.equal(jobThreadsFor(loadConfig({ ...sf, RENDER_THREADS: '2' })), 2);
    assert.equal(jobThreadsFor(loadConfig({ ...sf, RENDER_THREADS: '2', JOB_THREADS: '0' })), 0);
    assert.equal(jobThreadsFor(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', CRM: 'local' })), 0);
    assert.throws(() => loadConfig({ ...sf, JOB_THREADS: 'many' }), /JOB_THREADS/);
  });
});
