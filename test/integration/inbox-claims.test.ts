// Several workers on one inbox folder (issue #14, point 5): a file is claimed by an atomic
// rename before it is read, so exactly one worker reads, submits and moves it, and the others
// pass it by without a word. First the claim itself, with the inbox in this process and a
// submit that only counts (no Redis): two inboxes sharing a folder, a claim left by a worker
// that died, a file written again while it is claimed. Then `worker` as real processes on the
// real Redis and the local CRM: two of them on one folder, and one killed mid-way.
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/logger.ts';
import type { SubmitResult } from '../../src/pipeline/submit.ts';
import type { IntakeResult } from '../../src/domain/intake.ts';
import { startInbox } from '../../src/sources/inbox.ts';
import type { InboxSource } from '../../src/sources/inbox.ts';
import { LocalCrm } from '../../src/targets/local/local-crm.ts';
import { FIXTURES, TEST_REDIS_URL, dropPrefix, startWorkerProcess, tempDir, uniquePrefix, waitFor } from '../helpers/env.ts';
import type { WorkerProcess } from '../helpers/env.ts';

const TICKET = '500ak000024vx4uAAA';
const doc = JSON.parse(readFileSync(join(FIXTURES, 'sessions/metadata_call-1418.json'), 'utf8')) as Record<string, unknown>;
const session = (id: number) => JSON.stringify({ ...doc, id });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface LogLine {
  level: number;
  msg: string;
  component?: string;
  file?: string;
  status?: string;
  [key: string]: unknown;
}

/** A log's JSON lines (pino), each with its raw text. */
function parseLog(text: string): Array<LogLine & { raw: string }> {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((raw) => ({ ...(JSON.parse(raw) as LogLine), raw }));
}

/** What no admin should read in a log of workers sharing a folder: a warning or an error from the inbox, or about a rename that found no file. */
function alarming(lines: Array<LogLine & { raw: string }>): string[] {
  return lines.filter((l) => l.level >= 40 && (l.component === 'inbox' || /ENOENT|rename/i.test(l.raw))).map((l) => l.raw);
}

/** Entries of the inbox folder that are still there to take, or claimed (dot-files named …ccai-claimed…). */
function leftIn(dir: string): string[] {
  return readdirSync(dir).filter((n) => n !== 'processed' && n !== 'rejected');
}

describe('inbox claims, in this process', () => {
  let tmp: { path: string; cleanup(): void };
  const open: InboxSource[] = [];
  before(() => {
    tmp = tempDir('ccai-inbox-claims');
  });
  after(async () => {
    for (const i of open) await i.close();
    tmp.cleanup();
  });

  /** A submit that records what it was given and answers "queued" for any bytes. */
  function recorder(onSubmit?: (source: string, n: number) => void) {
    const calls: Array<{ source: string; text: string }> = [];
    const submit = async (bytes: Uint8Array, source: string): Promise<SubmitResult> => {
      calls.push({ source, text: Buffer.from(bytes).toString('utf8') });
      onSubmit?.(source, calls.length);
      const id = calls.length;
      return {
        source,
        status: 'queued',
        session: `call-${id}`,
        version: '2026-01-01T00:00:00.000Z',
        ticket: TICKET,
        reason: null,
        code: null,
        field: null,
        jobId: `job-${id}`,
        jobState: 'waiting',
        previous: null,
        warnings: [],
        intake: { status: 'accepted' } as unknown as IntakeResult,
      };
    };
    return { calls, submit };
  }

  function logTo(lines: LogLine[]) {
    return createLogger('debug', { write: (l: string) => void lines.push(JSON.parse(l) as LogLine) });
  }

  function inbox(dir: string, submit: ReturnType<typeof recorder>['submit'], log: ReturnType<typeof logTo>, claimStaleMs?: number): InboxSource {
    const i = startInbox({ dir, pollMs: 3_600_000, settleMs: 0, maxBytes: 100_000, submit, log, ...(claimStaleMs !== undefined ? { claimStaleMs } : {}) });
    open.push(i);
    return i;
  }

  it('two inboxes on one folder: each file is submitted once, by one of them, and neither warns', async (t) => {
    const dir = join(tmp.path, 'shared');
    mkdirSync(dir);
    const N = 200;
    for (let i = 0; i < N; i++) writeFileSync(join(dir, `metadata_call-${String(i).padStart(3, '0')}.json`), session(i));
    const a = recorder();
    const b = recorder();
    const lines: LogLine[] = [];
    const one = inbox(dir, a.submit, logTo(lines));
    const two = inbox(dir, b.submit, logTo(lines));
    // both look at the same folder at the same moments: the first look notes each file, the second takes it
    for (let pass = 0; pass < 4; pass++) await Promise.all([one.scan(), two.scan()]);
    const sources = [...a.calls, ...b.calls].map((c) => c.source).sort();
    t.diagnostic(`files taken: ${a.calls.length} by one inbox, ${b.calls.length} by the other`);
    assert.equal(sources.length, N, `${a.calls.length} + ${b.calls.length} submissions for ${N} files`);
    assert.equal(new Set(sources).size, N, 'no file submitted twice');
    assert.ok(sources.every((s) => /\/shared\/metadata_call-\d{3}\.json$/.test(s)), 'submitted under its own name, not its claim');
    assert.equal(readdirSync(join(dir, 'processed')).length, N);
    assert.deepEqual(leftIn(dir), []);
    assert.deepEqual(
      lines.filter((l) => l.level >= 40),
      [],
      'no warning nor error',
    );
  });

  it('a claim left by a worker that died is given back to its name once stale, and read again; a recent one is left alone', async () => {
    const dir = join(tmp.path, 'stale');
    mkdirSync(dir);
    const hourAgo = (Date.now() - 3_600_000).toString(36);
    const now = Date.now().toString(36);
    writeFileSync(join(dir, `.metadata_call-1.json.ccai-claimed-${hourAgo}-dead0001`), session(1));
    writeFileSync(join(dir, `.metadata_call-2.json.ccai-claimed-${now}-a11fe002`), session(2));
    const r = recorder();
    const lines: LogLine[] = [];
    const i = inbox(dir, r.submit, logTo(lines), 60_000);
    await i.scan(); // gives the stale claim back
    assert.ok(existsSync(join(dir, 'metadata_call-1.json')), 'back under its name');
    await i.scan();
    await i.scan();
    assert.deepEqual(r.calls.map((c) => c.source), [join(dir, 'metadata_call-1.json')]);
    assert.equal(r.calls[0]!.text, session(1));
    assert.deepEqual(readdirSync(join(dir, 'processed')), ['metadata_call-1.json']);
    assert.deepEqual(leftIn(dir), [`.metadata_call-2.json.ccai-claimed-${now}-a11fe002`], 'a claim younger than the stale time stays claimed');
    assert.ok(lines.some((l) => l.level === 30 && l.file === 'metadata_call-1.json' && /given back/.test(l.msg)), 'the give-back is logged');
  });

  it('a stale claim whose name was taken again (a newer file) comes back beside it, as name.1: nothing overwritten', async () => {
    const dir = join(tmp.path, 'stale-taken');
    mkdirSync(dir);
    const hourAgo = (Date.now() - 3_600_000).toString(36);
    writeFileSync(join(dir, `.metadata_call-3.json.ccai-claimed-${hourAgo}-dead0003`), session(3));
    writeFileSync(join(dir, 'metadata_call-3.json'), session(33));
    const r = recorder();
    const i = inbox(dir, r.submit, logTo([]), 60_000);
    for (let pass = 0; pass < 3; pass++) await i.scan();
    assert.deepEqual(r.calls.map((c) => c.text).sort(), [session(3), session(33)].sort());
    assert.deepEqual(readdirSync(join(dir, 'processed')).sort(), ['metadata_call-3.json', 'metadata_call-3.json.1']);
    assert.deepEqual(leftIn(dir), []);
  });

  it('a file written again while claimed (its uploader still had it open) goes back to its name and is read again as its new version', async () => {
    const dir = join(tmp.path, 'changed');
    mkdirSync(dir);
    const path = join(dir, 'metadata_call-4.json');
    const fd = openSync(path, 'w'); // the uploader keeps the file open
    try {
      writeSync(fd, session(4));
      // while the inbox holds the file, the uploader writes more into it
      const r = recorder((_source, n) => {
        if (n === 1) writeSync(fd, '\n\n');
      });
      const lines: LogLine[] = [];
      const i = inbox(dir, r.submit, logTo(lines));
      await i.scan(); // first look
      await i.scan(); // taken: submitted, but it changed before it was put away
      assert.equal(r.calls.length, 1);
      assert.ok(existsSync(path), 'given back under its name');
      assert.ok(!existsSync(join(dir, 'processed/metadata_call-4.json')), 'not put away as read');
      assert.deepEqual(leftIn(dir), ['metadata_call-4.json'], 'no claim left');
      assert.ok(lines.some((l) => l.file === 'metadata_call-4.json' && /changed/.test(l.msg)), 'the give-back is logged');
      for (let pass = 0; pass < 3; pass++) await i.scan();
      assert.equal(r.calls.length, 2, 'read again');
      assert.equal(r.calls[1]!.text, `${session(4)}\n\n`, 'as its new version');
      assert.deepEqual(readdirSync(join(dir, 'processed')), ['metadata_call-4.json']);
    } finally {
      closeSync(fd);
    }
  });

  it('a name too long to carry a claim is read all the same, unclaimed', async () => {
    const dir = join(tmp.path, 'long');
    mkdirSync(dir);
    const name = `metadata_call-5-${'x'.repeat(230)}.json`; // 251 bytes: the claim's name would pass 255
    writeFileSync(join(dir, name), session(5));
    const r = recorder();
    const i = inbox(dir, r.submit, logTo([]));
    for (let pass = 0; pass < 3; pass++) await i.scan();
    assert.equal(r.calls.length, 1);
    assert.deepEqual(readdirSync(join(dir, 'processed')), [name]);
  });
});

describe('worker processes sharing one inbox folder', () => {
  const prefix = uniquePrefix('inboxclaim');
  const tmp = tempDir('ccai-inboxclaim');
  const dataDir = join(tmp.path, 'data');
  const inboxDir = join(tmp.path, 'inbox');
  const workers: WorkerProcess[] = [];

  const env = (extra: Record<string, string> = {}) => ({
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    DATA_DIR: dataDir,
    INBOX_DIR: inboxDir,
    INBOX_POLL_MS: '500',
    INBOX_SETTLE_MS: '500',
    JOB_LOCK_MS: '5000',
    ...extra,
  });
  const start = async (extra: Record<string, string> = {}) => {
    const w = await startWorkerProcess(env(extra), { home: tmp.path });
    workers.push(w);
    return w;
  };

  /** Notes on the ticket, by session key. */
  const noteCounts = (): Map<string, number> => {
    const crm = new LocalCrm(dataDir);
    try {
      const counts = new Map<string, number>();
      for (const n of crm.get(TICKET)?.notes ?? []) counts.set(n.sessionKey, (counts.get(n.sessionKey) ?? 0) + 1);
      return counts;
    } finally {
      void crm.close();
    }
  };

  /** Drops N metadata files into the inbox at once; returns their names. */
  const drop = (from: number, n: number): string[] => {
    const names: string[] = [];
    for (let i = 0; i < n; i++) {
      const name = `metadata_call-${from + i}.json`;
      writeFileSync(join(inboxDir, name), session(from + i));
      names.push(name);
    }
    return names;
  };

  before(() => {
    mkdirSync(inboxDir, { recursive: true });
  });

  after(async () => {
    for (const w of workers) await w.stop('SIGKILL');
    await dropPrefix(prefix);
    tmp.cleanup();
  });

  it('two workers, 300 files dropped at once: every session once on its ticket, every file in processed/, each taken by one worker, nothing alarming in either log', async () => {
    const N = 300;
    const [w1, w2] = [await start(), await start()];
    const t0 = Date.now();
    const names = drop(20_000, N);
    const keys = names.map((n) => n.replace(/^metadata_(call-\d+)\.json$/, '$1'));
    await waitFor('every session on the ticket', async () => keys.every((k) => (noteCounts().get(k) ?? 0) >= 1), 180_000, 500);
    await waitFor('every file put away', async () => leftIn(inboxDir).length === 0 && readdirSync(join(inboxDir, 'processed')).length >= N, 60_000);
    process.stderr.write(`# two workers, ${N} files: all on the ticket in ${Date.now() - t0} ms\n`);
    await sleep(1_000); // anything written twice would show by now
    const counts = noteCounts();
    assert.deepEqual(
      keys.filter((k) => counts.get(k) !== 1),
      [],
      'every session exactly once',
    );
    assert.deepEqual(readdirSync(join(inboxDir, 'processed')).sort(), [...names].sort(), 'every file in processed/, under its own name, once');
    await w1.stop();
    await w2.stop();
    const logs = [parseLog(w1.stderr()), parseLog(w2.stderr())];
    assert.deepEqual(alarming(logs.flat()), [], 'no warning or error about a file in either log');
    // each file accepted by exactly one worker, as queued: a second worker submitting it would show as a duplicate
    const accepted = logs.flat().filter((l) => l.component === 'inbox' && l.msg === 'inbox file accepted');
    assert.deepEqual(accepted.map((l) => l.file).sort(), [...names].sort(), 'each file accepted once');
    assert.deepEqual([...new Set(accepted.map((l) => l.status))], ['queued']);
    const taken = logs.map((l) => l.filter((x) => x.msg === 'inbox file accepted').length);
    process.stderr.write(`# files taken by each worker: ${taken.join(' and ')}\n`);
    workers.length = 0;
  });

  it('two workers, one killed (SIGKILL) mid-way: the other takes the rest and gives back its claim; nothing lost, nothing twice', async () => {
    const N = 300;
    const stale = { INBOX_CLAIM_STALE_MS: '3000' }; // a dead worker's claim comes back in seconds
    const [victim, survivor] = [await start(stale), await start(stale)];
    const names = drop(30_000, N);
    const keys = names.map((n) => n.replace(/^metadata_(call-\d+)\.json$/, '$1'));
    await waitFor('the first files put away', async () => (existsSync(join(inboxDir, 'processed')) ? readdirSync(join(inboxDir, 'processed')).filter((n) => n.startsWith('metadata_call-3')).length >= 30 : false), 60_000, 20);
    await victim.stop('SIGKILL');
    // the victim's claims stay; the survivor's own last only while it reads a file
    const claims = () => leftIn(inboxDir).filter((n) => n.includes('ccai-claimed'));
    const first = claims();
    await sleep(300);
    const claimedAtKill = claims().filter((n) => first.includes(n));
    await waitFor('every session on the ticket', async () => keys.every((k) => (noteCounts().get(k) ?? 0) >= 1), 180_000, 500);
    await waitFor('every file put away, no claim left', async () => leftIn(inboxDir).length === 0 && names.every((n) => existsSync(join(inboxDir, 'processed', n))), 60_000);
    await sleep(6_000); // past the job lock: a job the victim had running is taken again by now
    const counts = noteCounts();
    assert.deepEqual(
      keys.filter((k) => counts.get(k) !== 1),
      [],
      'every session exactly once',
    );
    const processed = readdirSync(join(inboxDir, 'processed')).filter((n) => n.startsWith('metadata_call-3'));
    assert.deepEqual(processed.sort(), [...names].sort(), 'every file in processed/, once');
    await survivor.stop();
    const log = parseLog(survivor.stderr());
    assert.deepEqual(alarming(log), [], 'no warning or error about a file in the survivor log');
    const givenBack = log.filter((l) => /claim .*given back/.test(l.msg)).map((l) => l.file);
    process.stderr.write(`# claims left by the killed worker: ${JSON.stringify(claimedAtKill)}; given back by the other: ${JSON.stringify(givenBack)}\n`);
    for (const c of claimedAtKill) assert.ok(givenBack.includes(c.replace(/^\.(.+)\.ccai-claimed-.+$/, '$1')), `${c} given back`);
    workers.length = 0;
  });
});
