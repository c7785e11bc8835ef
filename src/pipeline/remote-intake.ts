// What happens to each object of a remote source (a bucket, an SFTP folder), the same for both:
//   1. media and transcripts are skipped by name or content type, never downloaded;
//   2. the object is claimed when the storage needs that (SFTP with move), then read, this
//      version only (a version gone meanwhile is left to its successor);
//   3. its bytes are submitted like any document (intake decides; a duplicate is recognised
//      by the queue's job id), and only then the object is put away (leave, move, delete) and
//      remembered in the ledger: a worker killed in between takes it again, and the second
//      submission is a duplicate, so nothing reaches a ticket twice;
//   4. a rejected object's bytes are kept in DATA_DIR/rejected/ with the reason, as for files.
// A sweep lists the whole root page by page and takes what the ledger does not know yet (no
// name cursor: listings come in name order with no time filter); a file still being written
// (SFTP) is taken once its version stayed the same for the settle time.
import { posix } from 'node:path';
import { notMetadata, notMetadataByName } from '../domain/intake.ts';
import type { InputProblem } from '../domain/types.ts';
import type { Logger } from '../logger.ts';
import type { RemoteEntry, RemoteStorage } from '../sources/remote/storage.ts';
import { keepRejectedCopy, reasonFor } from '../sources/rejected.ts';
import { ledgerMember } from '../store/remote-state.ts';
import type { RemoteStateStore } from '../store/remote-state.ts';
import { namesByFolder } from './submit.ts';
import type { SubmitResult } from './submit.ts';

export interface RemoteIntakeDeps {
  storage: RemoteStorage;
  state: RemoteStateStore;
  submit(bytes: Uint8Array, source: string, opts: { discovered: boolean; siblings?: readonly string[] }): Promise<SubmitResult>;
  maxBytes: number;
  rejectedDir: string;
  log: Logger;
}

export type TakeStatus =
  /** submitted: its job is queued (or was already), or intake skipped or rejected it */
  | 'queued'
  | 'duplicate'
  | 'skipped'
  | 'rejected'
  /** not a metadata document (by name, type or content): left where it is */
  | 'ignored'
  /** this version is no longer there (rewritten or deleted): its successor is taken instead */
  | 'gone'
  /** another worker claimed it first */
  | 'elsewhere';

export interface Taken {
  status: TakeStatus;
  /** what `run` reports: the submission, when there was one */
  submit: SubmitResult | null;
  reason: string | null;
  code: string | null;
  keptAt: string | null;
}

/** The name a document from this object goes by (logs, status, the rejected copy): `gs://b/p/x.json#1774…`. */
export function remoteSource(storage: RemoteStorage, entry: RemoteEntry): string {
  return `${storage.label}${entry.name}#${entry.version}`;
}

/**
 * Takes one object: classify, claim, read, submit, put away, remember. `remember` and
 * `finish` are off for `run`, which only reads (the bucket and the ledger stay as they are).
 * Throws when the queue cannot take the document (Redis down): nothing is remembered then, and
 * the next sweep (or the notification's redelivery) takes it again.
 */
export async function takeEntry(
  deps: RemoteIntakeDeps,
  entry: RemoteEntry,
  opts: { remember: boolean; finish: boolean; siblings?: readonly string[] } = { remember: true, finish: true },
): Promise<Taken> {
  const { storage } = deps;
  const done = async (t: Taken, putAway: 'processed' | 'rejected' | null, as: RemoteEntry = entry): Promise<Taken> => {
    if (putAway && opts.finish) {
      try {
        await storage.finish(as, putAway);
      } catch (err) {
        // taken all the same (its job is queued): the object stays where it is, and the
        // ledger keeps it from being taken again
        deps.log.warn({ source: remoteSource(storage, entry), err: (err as Error).message }, 'object taken but not put away');
      }
    }
    if (opts.remember && t.status !== 'gone' && t.status !== 'elsewhere') await deps.state.remember(storage.label, [ledgerMember(entry.name, entry.version)]);
    return t;
  };
  const none = { submit: null, code: null, keptAt: null };

  const byName = notMetadataByName(entry.name, entry.contentType);
  if (byName) return done({ ...none, status: 'ignored', reason: byName }, null);

  const claimed = opts.finish && storage.claim ? await storage.claim(entry) : entry;
  if (claimed === null) return { ...none, status: 'elsewhere', reason: 'another worker took it first' };
  const source = remoteSource(storage, entry);
  const read = await storage.read(claimed, deps.maxBytes);
  if ('gone' in read) return { ...none, status: 'gone', reason: 'no longer there (rewritten or deleted since it was listed)' };
  if ('tooLarge' in read) {
    const other = notMetadata(read.head);
    if (other) return done({ ...none, status: 'ignored', reason: other }, 'processed', claimed);
    const problem: InputProblem = { code: 'INPUT_TOO_LARGE', message: `the object is ${entry.size} bytes, over the ${deps.maxBytes}-byte limit (MAX_FILE_BYTES)` };
    const keptAt = await keepRejectedCopy(deps.rejectedDir, reasonFor(source, problem, null), null);
    deps.log.warn({ source, code: problem.code }, 'object rejected');
    return done({ submit: null, status: 'rejected', reason: problem.message, code: problem.code, keptAt }, 'rejected', claimed);
  }
  const s = await deps.submit(read.bytes, source, opts.siblings === undefined ? { discovered: true } : { discovered: true, siblings: opts.siblings });
  switch (s.status) {
    case 'ignored':
      return done({ ...none, submit: s, status: 'ignored', reason: s.reason }, 'processed', claimed);
    case 'rejected': {
      const keptAt = s.intake.status === 'rejected' ? await keepRejectedCopy(deps.rejectedDir, reasonFor(source, s.intake.problem, s.session), read.bytes, '.json') : null;
      return done({ submit: s, status: 'rejected', reason: s.reason, code: s.code, keptAt }, 'rejected', claimed);
    }
    default:
      return done({ ...none, submit: s, status: s.status, reason: s.reason }, 'processed', claimed);
  }
}

export interface SweepCounts {
  taken: number;
  skipped: number;
  rejected: number;
}

export interface SweepResult extends SweepCounts {
  /** the listing went to its end (the ledger was trimmed to what it saw) */
  complete: boolean;
  /** objects left for a later sweep: still settling, or failed */
  pending: number;
  /** the oldest of those (its update time), for the lag */
  oldestPendingAt: string | null;
  /** the first error that left an object for later */
  error: string | null;
}

/** A file's first sight, for the settle time (SFTP): version and when it was first seen so. */
export type SettleMemory = Map<string, { version: string; since: number }>;

/**
 * One pass over the whole root: everything the ledger does not know is taken, one object at a
 * time (an SFTP connection takes one operation at a time; a bucket is paced by the queue). With
 * `settleMs`, an object is taken only once two sweeps at least that far apart saw the same
 * version (an upload in progress changes its size or time).
 */
export async function sweep(
  deps: RemoteIntakeDeps,
  opts: {
    settleMs: number;
    settle: SettleMemory;
    onTaken?: (t: Taken) => void;
    stopped?: () => boolean;
    /** before each page: false stops the sweep (the poller's lease was lost to another worker) */
    beforePage?: () => Promise<boolean>;
    /** objects taken at once (default 1: an SFTP connection does one thing at a time) */
    concurrency?: number;
    /** how one object is taken (default takeEntry; the poller's shares one download between a sweep and a notification) */
    take?: (entry: RemoteEntry, siblings: readonly string[]) => Promise<Taken>;
  },
): Promise<SweepResult> {
  const { storage, state } = deps;
  const sweepMs = Date.now();
  const result: SweepResult = { taken: 0, skipped: 0, rejected: 0, complete: false, pending: 0, oldestPendingAt: null, error: null };
  const seenNames = new Set<string>();
  const pend = (entry: RemoteEntry) => {
    result.pending++;
    if (result.oldestPendingAt === null || entry.updated < result.oldestPendingAt) result.oldestPendingAt = entry.updated;
  };
  for await (const page of storage.list()) {
    if (opts.stopped?.() || (opts.beforePage && !(await opts.beforePage()))) return result;
    const members = page.map((e) => ledgerMember(e.name, e.version));
    // the names beside each object in its folder: its session's recording and transcript are named on the note
    const folders = namesByFolder(page.map((e) => e.name));
    const known = await state.known(storage.label, members);
    await state.touch(storage.label, members.filter((m) => known.has(m)), sweepMs);
    const ready: RemoteEntry[] = [];
    const skippedByName: Taken[] = [];
    const skippedMembers: string[] = [];
    for (const entry of page) {
      if (known.has(ledgerMember(entry.name, entry.version))) continue;
      // media and transcripts: nothing to read, remembered for the whole page in one call
      const byName = notMetadataByName(entry.name, entry.contentType);
      if (byName) {
        skippedByName.push({ status: 'ignored', submit: null, reason: byName, code: null, keptAt: null });
        skippedMembers.push(ledgerMember(entry.name, entry.version));
        continue;
      }
      if (opts.settleMs > 0) {
        seenNames.add(entry.name);
        const first = opts.settle.get(entry.name);
        if (!first || first.version !== entry.version) {
          opts.settle.set(entry.name, { version: entry.version, since: Date.now() });
          pend(entry);
          continue;
        }
        if (Date.now() - first.since < opts.settleMs) {
          pend(entry);
          continue;
        }
      }
      ready.push(entry);
    }
    await state.remember(storage.label, skippedMembers);
    result.skipped += skippedByName.length;
    for (const t of skippedByName) opts.onTaken?.(t);
    // the page's objects, `concurrency` at a time (a bucket takes several; an SFTP connection one)
    let next = 0;
    const lane = async () => {
      while (next < ready.length && !opts.stopped?.()) {
        const entry = ready[next++]!;
        try {
          const siblings = folders.get(posix.dirname(entry.name)) ?? [];
          const t = await (opts.take ?? ((e: RemoteEntry, s: readonly string[]) => takeEntry(deps, e, { remember: true, finish: true, siblings: s })))(entry, siblings);
          opts.settle.delete(entry.name);
          opts.onTaken?.(t);
          if (t.status === 'rejected') result.rejected++;
          else if (t.status === 'ignored') result.skipped++;
          else if (t.status !== 'gone' && t.status !== 'elsewhere') result.taken++;
        } catch (err) {
          result.error ??= `${entry.name}: ${(err as Error).message}`;
          deps.log.warn({ source: remoteSource(storage, entry), err: (err as Error).message }, 'object not taken; the next sweep tries again');
          pend(entry);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 1) }, lane));
    if (opts.stopped?.()) return result;
  }
  result.complete = true;
  // what the listing no longer shows (deleted, moved, an older generation) leaves the ledger
  await state.forgetBefore(storage.label, sweepMs);
  // and files that vanished while settling leave the settle memory
  for (const name of opts.settle.keys()) if (!seenNames.has(name)) opts.settle.delete(name);
  return result;
}
