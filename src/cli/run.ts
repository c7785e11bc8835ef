// `run <file|folder>... [--dry-run] [--json]`: process inputs through the queue until they are
// drained and report one result per input.
import { dirname, relative, resolve } from 'node:path';
import type { Config } from '../config.ts';
import { intake, notMetadata, notMetadataByName } from '../domain/intake.ts';
import type { InputWarning, RenderedNote } from '../domain/types.ts';
import { isErrorCode, SyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { createApp, enrichOptionsOf, intakeOptionsOf, noteSettingsOf } from '../app/app.ts';
import type { App } from '../app/app.ts';
import { namesByFolder, sessionFiles } from '../pipeline/submit.ts';
import type { SubmitResult } from '../pipeline/submit.ts';
import { JobFailedError, formatFailure, jobIdFor, mergeWarnings } from '../queue/jobs.ts';
import type { JobFailure } from '../queue/jobs.ts';
import { prepareJob } from '../pipeline/prepare.ts';
import { loadTemplates } from '../render/templates.ts';
import { listInputs, readDocument } from '../sources/files.ts';
import type { RemoteEntry, RemoteStorage } from '../sources/remote/storage.ts';
import { remoteSource } from '../pipeline/remote-intake.ts';
import { openRemoteStorage } from '../app/remote.ts';
import type { ReadResult } from '../sources/files.ts';
import { keepRejectedCopy, reasonFor } from '../sources/rejected.ts';
import { EXIT, exitWhenFlushed, printJson, warningText } from './context.ts';
import { redisErrorCode } from '../store/redis-errors.ts';
import { ensureWritableDir } from './writable-dir.ts';

export type ResultStatus = 'delivered' | 'skipped' | 'rejected' | 'failed';

export interface RunResult {
  source: string;
  session: string | null;
  ticket: string | null;
  status: ResultStatus;
  reason: string | null;
  version: string | null;
  code: string | null;
  field: string | null;
  /** where the original of a rejected document was kept */
  keptAt: string | null;
  /** what the parser corrected or dropped in the document (empty when nothing) */
  warnings: InputWarning[];
  /** --dry-run: what would be written */
  wouldWrite?: { fields: Record<string, unknown>; note: RenderedNote };
}

export interface RunOptions {
  dryRun?: boolean;
  json?: boolean;
  wait?: string;
}

interface Input {
  source: string;
  /** reads the document, refusing (without reading it) one over the size limit */
  read(maxBytes: number): Promise<ReadResult>;
  /** a local file's path (a link's target, resolved when it was listed): a rejected one is copied from there */
  path: string | null;
  /** found inside a folder (or a bucket, an SFTP folder) given on the command line */
  discovered: boolean;
  /** the names beside it in that folder (its session's recording and transcript are named on the note) */
  siblings?: readonly string[];
}

/** Opens `gs://…` or `sftp://…` for reading (the composition root builds the adapter from the settings). */
export type RemoteOpener = (url: string) => Promise<RemoteStorage>;

const REMOTE_URL = /^(gs|sftp):\/\//i;

/**
 * One Input or ready result per entry: links, hidden and special files get their line too (see
 * listInputs); a bucket or an SFTP folder is listed page by page, its recordings and other media
 * skipped by name without download. Exported for tests.
 */
export async function expand(paths: string[], openRemote?: RemoteOpener, opened: RemoteStorage[] = []): Promise<Array<Input | RunResult>> {
  const out: Array<Input | RunResult> = [];
  for (const p of paths) {
    if (REMOTE_URL.test(p)) {
      if (!openRemote) throw new SyncError('CONFIG_INVALID', `${p}: reading a bucket or an SFTP folder needs the remote sources`);
      const storage = await openRemote(p);
      opened.push(storage);
      for await (const page of storage.list()) {
        const siblings = namesByFolder(page.map((entry) => entry.name));
        for (const entry of page) {
          const source = remoteSource(storage, entry);
          const byName = notMetadataByName(entry.name, entry.contentType);
          if (byName) out.push(blank(source, 'skipped', byName));
          else out.push({ source, path: null, discovered: true, siblings: siblings.get(dirname(entry.name)) ?? [], read: (max) => readRemote(storage, entry, max) });
        }
      }
      continue;
    }
    const listed = await listInputs(p);
    const siblings = namesByFolder(listed.map((e) => e.path));
    for (const e of listed) {
      if (e.kind === 'file') {
        const file = e.read;
        const input: Input = { source: displayPath(e.path), path: file, discovered: e.discovered, read: (max) => readDocument(file, max) };
        if (e.discovered) input.siblings = siblings.get(dirname(e.path)) ?? [];
        out.push(input);
      } else if (e.kind === 'skip') out.push(blank(displayPath(e.path), 'skipped', e.reason));
      else out.push(blank(displayPath(e.path), 'rejected', `INPUT_UNREADABLE: ${e.reason}`, 'INPUT_UNREADABLE'));
    }
  }
  return out;
}

/** A remote object read as a file is: its bytes, or why not (over the limit: its head). */
async function readRemote(storage: RemoteStorage, entry: RemoteEntry, maxBytes: number): Promise<ReadResult> {
  const r = await storage.read(entry, maxBytes);
  if ('bytes' in r) return { ok: true, bytes: r.bytes };
  if ('tooLarge' in r) return { ok: false, problem: { code: 'INPUT_TOO_LARGE', message: `the object is ${entry.size} bytes, over the ${maxBytes}-byte limit (MAX_FILE_BYTES)` }, head: r.head };
  return { ok: false, problem: { code: 'INPUT_UNREADABLE', message: 'the object is no longer there (rewritten or deleted since it was listed)' } };
}

function displayPath(p: string): string {
  const rel = relative(process.cwd(), resolve(p));
  return rel.startsWith('..') ? resolve(p) : rel;
}

function blank(source: string, status: ResultStatus, reason: string | null, code: string | null = null): RunResult {
  return { source, session: null, ticket: null, status, reason, version: null, code, field: null, keptAt: null, warnings: [] };
}

function problemText(p: { code: string; field?: string | null; message: string }): string {
  return `${p.code}${p.field ? ` (${p.field})` : ''}: ${p.message}`;
}

/** A document too large to read: a recording found in a folder is ignored, anything else rejected. */
function tooLarge(item: Input, read: Extract<ReadResult, { ok: false }>): RunResult | null {
  const other = item.discovered && read.head ? notMetadata(read.head) : null;
  return other ? blank(item.source, 'skipped', other) : null;
}

export async function runCommand(config: Config, log: Logger, inputs: string[], opts: RunOptions): Promise<{ code: number; results: RunResult[] }> {
  const waitSeconds = Number(opts.wait ?? 300);
  if (!Number.isFinite(waitSeconds) || waitSeconds <= 0) {
    throw new SyncError('CONFIG_INVALID', `--wait must be a number of seconds above 0, not "${opts.wait}"`);
  }
  const opened: RemoteStorage[] = [];
  let results: RunResult[];
  try {
    const items = await expand(inputs, (url) => openRemoteStorage(config, log, url), opened);
    results = opts.dryRun ? await dryRun(config, items) : await realRun(config, log, items, waitSeconds * 1000);
  } finally {
    for (const s of opened) await s.close().catch(() => undefined);
  }
  if (opts.json) printJson({ results });
  else printHuman(results, Boolean(opts.dryRun));
  const code = results.some((r) => r.status === 'rejected' || r.status === 'failed') ? EXIT.problems : EXIT.ok;
  return { code, results };
}

async function dryRun(config: Config, items: Array<Input | RunResult>): Promise<RunResult[]> {
  // the same preparation a worker's job makes (enrich, render, the size limits), without a target
  const prepare = { intake: intakeOptionsOf(config), enrich: enrichOptionsOf(config), templates: await loadTemplates(config.TEMPLATES_DIR, noteSettingsOf(config)) };
  const results: RunResult[] = [];
  // the first input of each session version, as the queue's job id tells them apart in a real
  // run: a link and its target, or two copies, say `duplicate` on the later line here too
  const firstSource = new Map<string, string>();
  for (const item of items) {
    if (!('read' in item)) {
      results.push(item);
      continue;
    }
    const read = await item.read(config.MAX_FILE_BYTES);
    if (!read.ok) {
      results.push(tooLarge(item, read) ?? { ...blank(item.source, 'rejected', problemText(read.problem), read.problem.code) });
      continue;
    }
    const r = intake(read.bytes, { ...intakeOptionsOf(config), discovered: item.discovered });
    if (r.status === 'accepted') {
      const first = firstSource.get(jobIdFor(r.session));
      if (first !== undefined) {
        results.push({ ...blank(item.source, 'skipped', `duplicate: the same session version as ${first}`), session: r.session.key, ticket: r.ticket.id, version: r.session.version, warnings: r.warnings });
        continue;
      }
      firstSource.set(jobIdFor(r.session), item.source);
      const p = prepareJob(prepare, '', true, r, sessionFiles(r.session.key, item.siblings));
      if (p.skip !== null) throw new Error('unreachable: an accepted document is never skipped by its preparation');
      results.push({
        source: item.source,
        session: r.session.key,
        ticket: r.ticket.id,
        status: 'delivered',
        reason: 'dry run: nothing was written',
        version: r.session.version,
        code: null,
        field: null,
        keptAt: null,
        warnings: p.warnings,
        wouldWrite: { fields: p.update.fields, note: p.note },
      });
    } else if (r.status === 'rejected') {
      results.push({ ...blank(item.source, 'rejected', problemText(r.problem), r.problem.code), session: r.session?.key ?? null, field: r.problem.field ?? null, warnings: r.warnings });
    } else if (r.status === 'skipped') {
      results.push({ ...blank(item.source, 'skipped', r.reason), session: r.session.key, version: r.session.version, warnings: r.warnings });
    } else {
      results.push(blank(item.source, 'skipped', r.reason));
    }
  }
  return results;
}

async function realRun(config: Config, log: Logger, items: Array<Input | RunResult>, waitMs: number): Promise<RunResult[]> {
  // rejected copies, the local CRM and a private Redis live there (a dry run writes nothing)
  ensureWritableDir('DATA_DIR', config.dataDir);
  // JOB_THREADS=auto is none here: `run` reads and submits on its main thread too, and a job
  // thread's own heap (about 40 MB) put a backfill above the worker's peak memory, for little
  // throughput (measured: npm run bench:run)
  // SF_BATCH_WAIT_MS unset is 3 s here: a backfill is not waited on by the second, and fuller
  // Salesforce flushes cost fewer API calls (measured: npm run bench:run)
  const app = await createApp(
    { ...config, JOB_THREADS: config.JOB_THREADS === 'auto' ? 0 : config.JOB_THREADS, SF_BATCH_WAIT_MS: config.SF_BATCH_WAIT_MS ?? RUN_BATCH_WAIT_MS },
    log,
    { worker: true, allowPrivateRedis: true },
  );
  // Ctrl-C or a TERM: stop taking inputs, let active jobs finish, stop a private Redis.
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('ccai-crm-sync: stopping; queued jobs stay in the queue for the next run or a worker\n');
    void closeWithin(app, CLOSE_MS).finally(() => exitWhenFlushed(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const results: RunResult[] = new Array(items.length);
    const jobOf: Array<{ jobId: string; added: boolean } | null> = new Array(items.length).fill(null);
    // Documents go on being submitted while earlier ones are processed, up to IN_FLIGHT at a
    // time, by SUBMITTERS at once (a submission waits on Redis more than it computes): the
    // queue stays fed, so Salesforce batches fill, and one session that keeps retrying holds up
    // nothing but its own line of the report.
    const inFlight = new Set<Promise<void>>();
    let redisGoneSince: number | null = null;
    let next = 0;
    const startedAt = Date.now();
    const submitter = async () => {
      for (let i = next++; i < items.length && !stopping; i = next++) {
        const item = items[i]!;
        while (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
        if (!('read' in item)) {
          results[i] = item;
          continue;
        }
        // Redis away (a restart): wait for it, up to --wait, then report what was not submitted
        if (redisGoneSince !== null && Date.now() - redisGoneSince > waitMs) {
          results[i] = notSubmitted(item, waitMs);
          continue;
        }
        let submitted: { result: RunResult; jobId: string | null };
        let retried = false;
        try {
          submitted = await whileRedisIsAway(() => submitOne(app, config, item), redisGoneSince === null ? Date.now() + waitMs : redisGoneSince + waitMs, (since) => {
            redisGoneSince ??= since;
            retried = true;
          });
          redisGoneSince = null;
          // a submission whose answer was lost with the connection did add its job: the retry
          // finds it, and it is this run's own (added since the run started, from this input)
          if (retried && submitted.jobId && submitted.result.reason !== null && (await addedByThisRun(app, submitted.jobId, item.source, startedAt))) {
            submitted.result.reason = null;
          }
        } catch (err) {
          if (redisErrorCode(err) !== 'QUEUE_UNAVAILABLE') throw err;
          redisGoneSince ??= Date.now() - waitMs;
          results[i] = notSubmitted(item, waitMs);
          continue;
        }
        const { result, jobId } = submitted;
        results[i] = result;
        if (jobId) {
          jobOf[i] = { jobId, added: result.reason === null };
          const p: Promise<void> = settle(app, result, jobId, waitMs).finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
      }
    };
    await Promise.all(Array.from({ length: SUBMITTERS }, submitter));
    await Promise.all(inFlight);
    return stopping ? results.filter((r) => r !== undefined) : inInputOrder(results, jobOf);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!stopping) await closeWithin(app, CLOSE_MS);
  }
}

/**
 * Documents submitted and not finished at once. The benchmark keeps up to 5,000 ahead of the
 * worker, which is what fills Salesforce batches of 200; each costs a few hundred bytes here.
 */
const IN_FLIGHT = 5_000;
/** SF_BATCH_WAIT_MS for `run` when it is not set */
const RUN_BATCH_WAIT_MS = 3_000;
/** Submissions under way at once (each mostly waits on Redis round trips). */
const SUBMITTERS = 16;

/**
 * Copies of one session version (a link and its target, a file given twice) were submitted
 * concurrently, so which copy made the job is chance: the report says it in input order, as a
 * sequential run would. The first copy carries the job's outcome; the others are duplicates of it.
 */
function inInputOrder(results: RunResult[], jobOf: Array<{ jobId: string; added: boolean } | null>): RunResult[] {
  const groups = new Map<string, number[]>();
  jobOf.forEach((j, i) => {
    if (j) groups.set(j.jobId, [...(groups.get(j.jobId) ?? []), i]);
  });
  for (const idx of groups.values()) {
    if (idx.length < 2) continue;
    const first = idx[0]!;
    const maker = idx.find((i) => jobOf[i]!.added) ?? first;
    if (maker !== first) {
      const a = results[first]!;
      const b = results[maker]!;
      results[first] = { ...b, source: a.source, keptAt: a.keptAt };
      results[maker] = { ...a, source: b.source, keptAt: b.keptAt };
    }
    for (const i of idx.slice(1)) {
      results[i] = { ...results[i]!, status: 'skipped', reason: `duplicate: the same session version as ${results[first]!.source}` };
    }
  }
  return results;
}

/** How long closing may take once the report is made (a Redis that stays away cannot hold the exit). */
const CLOSE_MS = 15_000;

async function closeWithin(app: App, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([app.close().catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** Runs `fn` again while Redis does not answer (QUEUE_UNAVAILABLE), with backoff, until `deadline`. */
async function whileRedisIsAway<T>(fn: () => Promise<T>, deadline: number, away: (since: number) => void): Promise<T> {
  for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      return await fn();
    } catch (err) {
      if (redisErrorCode(err) !== 'QUEUE_UNAVAILABLE' || Date.now() + delay > deadline) throw err;
      away(Date.now());
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

async function addedByThisRun(app: App, jobId: string, source: string, startedAt: number): Promise<boolean> {
  const job = await app.queue.getJob(jobId).catch(() => undefined);
  return job !== undefined && job.timestamp >= startedAt && job.data.source === source;
}

function notSubmitted(item: Input, waitMs: number): RunResult {
  return blank(item.source, 'failed', `QUEUE_UNAVAILABLE: Redis did not answer for ${waitMs / 1000} s (--wait); not submitted: run again once it is back`, 'QUEUE_UNAVAILABLE');
}

async function submitOne(app: App, config: Config, item: Input): Promise<{ result: RunResult; jobId: string | null }> {
  const rejectedDir = resolve(config.dataDir, 'rejected');
  const read = await item.read(config.MAX_FILE_BYTES);
  if (!read.ok) {
    const ignored = tooLarge(item, read);
    if (ignored) return { result: ignored, jobId: null };
    // a local file is copied whole; a remote object over the limit was not downloaded: its reason alone
    const keptAt = read.problem.code === 'INPUT_UNREADABLE' ? null : await keepRejectedCopy(rejectedDir, reasonFor(item.source, read.problem, null), item.path ? { path: item.path } : null);
    return { result: { ...blank(item.source, 'rejected', problemText(read.problem), read.problem.code), keptAt }, jobId: null };
  }
  const s = await app.submit(read.bytes, item.source, item.siblings === undefined ? { discovered: item.discovered } : { discovered: item.discovered, siblings: item.siblings });
  const result = fromSubmit(s);
  if (s.intake.status === 'rejected') {
    result.keptAt = await keepRejectedCopy(rejectedDir, reasonFor(item.source, s.intake.problem, s.session), read.bytes);
  }
  return { result, jobId: s.jobId };
}

function fromSubmit(s: SubmitResult): RunResult {
  return {
    source: s.source,
    session: s.session,
    ticket: s.ticket,
    status: s.status === 'rejected' ? 'rejected' : 'skipped',
    reason: s.code ? problemText({ code: s.code, field: s.field, message: s.reason ?? '' }) : s.reason,
    version: s.version,
    code: s.code,
    field: s.field,
    keptAt: null,
    warnings: s.warnings,
  };
}

/** Waits for a queued input's job and writes its outcome into the result. */
async function settle(app: App, r: RunResult, jobId: string, waitMs: number): Promise<void> {
  const wasDuplicate = r.reason !== null;
  const deadline = Date.now() + waitMs;
  try {
    // Redis away while waiting (a restart) is waited out, up to the same deadline
    const outcome = await whileRedisIsAway(() => withTimeout(app.queue.waitFor(jobId), Math.max(0, deadline - Date.now())), deadline, () => undefined);
    if (outcome === 'timeout') {
      await unfinished(app, r, jobId, waitMs);
      return;
    }
    r.ticket = outcome.ticketId;
    if (wasDuplicate) {
      r.status = 'skipped';
      r.reason = `already processed (job ${jobId}): ${outcome.status}, ${outcome.reason}`;
    } else {
      r.status = outcome.status;
      r.reason = outcome.reason;
    }
    // what the job cut or corrected besides intake's (a field or the note over its limit)
    if (outcome.warnings) r.warnings = mergeWarnings(r.warnings, outcome.warnings);
  } catch (err) {
    // the job's typed failure; Redis still away at the deadline: what is known of the job
    if (!(err instanceof JobFailedError) && redisErrorCode(err) === 'QUEUE_UNAVAILABLE') {
      r.status = 'failed';
      r.code = 'QUEUE_UNAVAILABLE';
      r.reason = `QUEUE_UNAVAILABLE: Redis did not answer before the --wait of ${waitMs / 1000} s ran out (job ${jobId} stays queued; a worker or the next run continues it)`;
      return;
    }
    const f: JobFailure = err instanceof JobFailedError ? err.failure : { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
    r.status = 'failed';
    r.code = f.code;
    r.reason = formatFailure(f);
  }
}

/**
 * A job still not done at the deadline: its last error in the target's words (the job's typed
 * failure of its last attempt, or the status store's), how far it got, and that it goes on.
 * TIMEOUT only when nothing else is known.
 */
async function unfinished(app: App, r: RunResult, jobId: string, waitMs: number): Promise<void> {
  let redisAway = false;
  const away = <T>(fallback: T) => (err: unknown): T => {
    if (redisErrorCode(err) === 'QUEUE_UNAVAILABLE') redisAway = true;
    return fallback;
  };
  const job = await app.queue.getJob(jobId).catch(away(undefined));
  const state = job ? await job.getState().catch(away('unknown')) : 'unknown';
  const latest = r.session ? (await app.status.get(r.session).catch(away(null)))?.latest : null;
  if (redisAway && !job) {
    r.status = 'failed';
    r.code = 'QUEUE_UNAVAILABLE';
    r.reason = `QUEUE_UNAVAILABLE: Redis did not answer before the --wait of ${waitMs / 1000} s ran out (job ${jobId} stays queued; a worker or the next run continues it)`;
    return;
  }
  const last = job?.data.failure ?? (latest?.code && latest.jobId === jobId ? { code: latest.code, message: latest.reason ?? '' } : null);
  const attempts = job ? `attempt ${job.attemptsMade} of ${job.opts.attempts ?? 1}` : null;
  const goesOn = `job ${jobId} stays queued (${[state, attempts].filter(Boolean).join(', ')}); a worker or the next run continues it`;
  r.status = 'failed';
  if (last && isErrorCode(last.code)) {
    r.code = last.code;
    r.reason = `${last.code}: ${last.message} (still not done after ${waitMs / 1000} s: ${goesOn})`;
  } else {
    r.code = 'TIMEOUT';
    r.reason = `still not done after ${waitMs / 1000} s (${goesOn})`;
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'timeout'>((res) => {
    timer = setTimeout(() => res('timeout'), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

function printHuman(results: RunResult[], dryRun: boolean): void {
  const w = process.stdout;
  for (const r of results) {
    w.write(`${r.status.padEnd(9)} ${(r.session ?? '-').padEnd(14)} ${(r.ticket ?? '-').padEnd(20)} ${r.source}\n`);
    if (r.reason) w.write(`          ${r.reason}\n`);
    if (r.keptAt) w.write(`          original kept at ${r.keptAt} (reason beside it)\n`);
    for (const x of r.warnings) w.write(`          warning: ${warningText(x)}\n`);
    if (dryRun && r.wouldWrite) {
      w.write(`          would write on ${r.ticket}:\n`);
      for (const [k, v] of Object.entries(r.wouldWrite.fields)) if (v !== null) w.write(`            ${k}: ${String(v).replace(/\n/g, '\n              ')}\n`);
      w.write(`          note "${r.wouldWrite.note.subject}":\n`);
      w.write(`${r.wouldWrite.note.text.replace(/^/gm, '            ')}\n`);
    }
  }
  const count = (s: ResultStatus) => results.filter((r) => r.status === s).length;
  w.write(`\n${results.length} input(s): ${count('delivered')} delivered, ${count('skipped')} skipped, ${count('rejected')} rejected, ${count('failed')} failed${dryRun ? ' (dry run: nothing written)' : ''}\n`);
}
