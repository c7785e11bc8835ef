// A watched inbox folder (an SFTP drop, a synced bucket). Each new file is read once it has
// stopped changing, submitted, and only then moved: to processed/ when its job is safely in
// the queue (or it needs no job), to rejected/ with a `.reason.json` sidecar when it cannot
// be processed. Recordings and other media are left where they are. A crash between queueing
// and moving is harmless: the file is submitted again, recognised as a duplicate, and moved.
//
// An upload may pause for longer than the settle time. A file that reads as empty or cut
// short is therefore left where it is and read again when it changes; only once it has not
// changed for incompleteGraceMs is it rejected. Even then, a rejected/ copy that changes
// afterwards (the uploader still had it open) is moved back and read again.
//
// Several workers may share one inbox folder (inbox-claims.ts). Before reading a settled file,
// a worker claims it: an atomic rename, in the folder, to `.<name>.ccai-claimed-<time>-<owner>`,
// a dot-file no inbox reads. The rename fails with ENOENT when another worker claimed the file
// first: that worker has it, and this one passes it by without a word. The claimed file is
// read, submitted, and renamed into processed/ or rejected/ under its own name; its claim is
// given back (renamed to its own name, never over a file that took the name meanwhile) when it
// changed since it settled (its uploader still had it open: it is read again as its new
// version), when it reads as an upload in progress, when it is not a metadata document (left
// in place, as before), or when it could not be handled (Redis down: tried again next pass).
// A claim is held only for the moments of one file's read and submit. One older than
// claimStaleMs (INBOX_CLAIM_STALE_MS, 10 minutes) was left by a worker that died (or hangs):
// any worker takes it over (a rename, so only one does) and gives it back, to be read again;
// its submission, if it had got that far, is then a duplicate by the queue's job id, so
// nothing is written twice. Age is the only test: a process id cannot be checked for a worker
// on another machine (an NFS folder) nor in another container (its own pid namespace). The
// age is read from the claim's name, the claiming worker's clock: hosts keep theirs in step.
import { constants, watch } from 'node:fs';
import type { FSWatcher, Stats } from 'node:fs';
import { access, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from '../logger.ts';
import type { SubmitOptions, SubmitResult } from '../pipeline/submit.ts';
import { kindOf, readDocument } from './files.ts';
import { NAME_TOO_LONG, claimFile, claimName, newOwner, parseClaim, placeNoReplace } from './inbox-claims.ts';
import { freeName, moveRejected, reasonFor } from './rejected.ts';

/** Default for InboxDeps.incompleteGraceMs (INBOX_INCOMPLETE_GRACE_MS). */
export const DEFAULT_INCOMPLETE_GRACE_MS = 60_000;

/** Default for InboxDeps.claimStaleMs (INBOX_CLAIM_STALE_MS). */
export const DEFAULT_CLAIM_STALE_MS = 10 * 60_000;

/** How long a copy rejected as incomplete is watched for more bytes. */
const RECHECK_MS = 24 * 3_600_000;

/** What an upload caught in progress reads as. */
const INCOMPLETE = new Set(['INPUT_EMPTY', 'INPUT_TRUNCATED']);

export interface InboxDeps {
  dir: string;
  pollMs: number;
  /** a file is taken once two looks at least this far apart saw the same size and mtime */
  settleMs: number;
  /** an empty or cut-short file is rejected only once it has not changed for this long (default 60 s) */
  incompleteGraceMs?: number;
  /** a claim older than this was left by a worker that died: given back to be read again (default 10 minutes) */
  claimStaleMs?: number;
  maxBytes: number;
  submit(bytes: Uint8Array, source: string, opts: SubmitOptions): Promise<SubmitResult>;
  onDocument?: (outcome: string) => void;
  log: Logger;
}

export interface InboxSource {
  /** one pass over the folder; resolves when every stable file in it has been handled */
  scan(): Promise<number>;
  lastScanAt(): string | null;
  close(): Promise<void>;
}

export function startInbox(deps: InboxDeps): InboxSource {
  const { dir, log } = deps;
  const processedDir = join(dir, 'processed');
  const rejectedDir = join(dir, 'rejected');
  const graceMs = deps.incompleteGraceMs ?? DEFAULT_INCOMPLETE_GRACE_MS;
  const staleMs = deps.claimStaleMs ?? DEFAULT_CLAIM_STALE_MS;
  /** what this inbox's claims carry */
  const owner = newOwner();
  const seen = new Map<string, { sig: string; at: number }>();
  let unsettled = false;
  const ignored = new Map<string, string>();
  /** files left in place as empty or cut short, by the signature they had then */
  const incomplete = new Map<string, string>();
  /** files that could not be read, by the signature they had: warned about once */
  const unreadable = new Map<string, string>();
  /** entries that are not regular files (links, FIFOs): noted once */
  const leftAlone = new Set<string>();
  /** names too long to carry a claim: noted once */
  const unclaimable = new Set<string>();
  /** rejected/ copies of incomplete files, watched for more bytes */
  const recheck = new Map<string, { name: string; sig: string; until: number }>();
  let timer: NodeJS.Timeout | null = null;
  let watcher: FSWatcher | null = null;
  let running: Promise<number> | null = null;
  let closed = false;
  let last: string | null = null;
  /** the names the current pass listed (regular files), for the documents it submits */
  let listed: string[] = [];

  const sigOf = (st: Stats) => `${st.size}:${st.mtimeMs}`;

  function noteUnreadable(name: string, sig: string, reason: string): void {
    // tried again on every pass (permissions get fixed), said once per version of the file
    if (unreadable.get(name) === sig) log.debug({ file: name, reason }, 'inbox file still unreadable');
    else log.warn({ file: name, reason }, 'inbox file unreadable; left in place and tried again on each pass');
    unreadable.set(name, sig);
  }

  /** A claimed file back under its own name (`name.1` ... when a newer file took it): the name it is under, null when it was gone. */
  async function giveBack(claimed: string, name: string): Promise<string | null> {
    const back = await placeNoReplace(join(dir, claimed), dir, name);
    unsettled = true; // to be looked at again soon
    return back === null ? null : basename(back);
  }

  async function handle(name: string): Promise<boolean> {
    const path = join(dir, name);
    const st = await stat(path).catch(() => null);
    if (!st || !st.isFile()) return false;
    const sig = sigOf(st);
    if (ignored.get(name) === sig) return false;
    // An upload in progress (SFTP, a bucket sync) may pause: only a file that looked the same
    // on two looks at least settleMs apart is taken.
    const prev = seen.get(name);
    const now = Date.now();
    if (!prev || prev.sig !== sig) {
      seen.set(name, { sig, at: now });
      unsettled = true;
      return false;
    }
    if (now - prev.at < deps.settleMs) {
      unsettled = true;
      return false;
    }
    // unchanged since it read as incomplete: nothing new to read until the grace is over
    if (incomplete.get(name) === sig && now - prev.at < graceMs) return false;
    // a file this process cannot read is not claimed (claimed and given back on every pass, it
    // would keep leaving the folder for a moment)
    const denied = await access(path, constants.R_OK).then(
      () => null,
      (err: NodeJS.ErrnoException) => err,
    );
    if (denied?.code === 'ENOENT') return false; // claimed by another worker since the look above
    if (denied) {
      noteUnreadable(name, sig, `cannot read the file (${denied.code ?? 'error'}: ${denied.message})`);
      return false;
    }
    const claim = await claimFile(dir, name, owner);
    if (claim === null) {
      log.debug({ file: name }, 'inbox file claimed by another worker');
      seen.delete(name);
      return false;
    }
    if (claim === NAME_TOO_LONG) {
      if (!unclaimable.has(name)) {
        unclaimable.add(name);
        log.info({ file: name }, 'inbox file name too long to carry a claim: read without one (with several workers on this folder, more than one may read it; the queue takes it once)');
      }
      return take(name, path, null, sig, now, prev.at);
    }
    try {
      return await take(name, join(dir, claim), claim, sig, now, prev.at);
    } catch (err) {
      // Redis down, disk full...: back under its name, to be tried again on the next pass (by any worker)
      await giveBack(claim, name).catch((e: Error) =>
        log.error({ file: name, claim, err: e.message }, 'inbox: a claimed file cannot be given back; it will be once its claim is older than INBOX_CLAIM_STALE_MS'),
      );
      throw err;
    }
  }

  /**
   * A settled file, claimed (`claim` its claimed name; null when its name is too long to carry
   * one, and `work` is the file itself): read, submitted, then put away or given back.
   */
  async function take(name: string, work: string, claim: string | null, sig: string, now: number, firstSeenAt: number): Promise<boolean> {
    // what results, statuses and sidecars name: the file's own name, not its claim
    const source = join(dir, name);
    /** still the version that settled; else given back (changed), or left to whoever has it now (gone) */
    const unchanged = async (): Promise<boolean> => {
      const st = await stat(work).catch(() => null);
      if (st && sigOf(st) === sig) return true;
      seen.delete(name);
      if (!st) {
        // a claim taken over as stale by another worker (this one took too long), or an unclaimed file moved by another
        log.debug({ file: name }, 'inbox file taken over by another worker');
      } else if (claim) {
        const back = await giveBack(claim, name);
        log.info({ file: name, back }, 'inbox file changed while claimed (its upload still going?): given back under its name, to be read again as its new version');
      }
      return false;
    };
    if (!(await unchanged())) return false; // between the last look and the claim
    const read = await readDocument(work, deps.maxBytes);
    if (!(await unchanged())) return false; // while it was read
    if (!read.ok) {
      if (read.problem.code === 'INPUT_UNREADABLE') {
        if (claim) await giveBack(claim, name);
        noteUnreadable(name, sig, read.problem.message);
        return false;
      }
      unreadable.delete(name);
      const kept = await moveRejected(work, rejectedDir, reasonFor(source, read.problem, null), name);
      deps.onDocument?.('rejected');
      log.warn({ file: name, code: read.problem.code, kept }, 'inbox file rejected');
      seen.delete(name);
      return true;
    }
    unreadable.delete(name);
    const r = await deps.submit(read.bytes, source, { discovered: true, quiet: true, siblings: listed });
    // written again since it was read: what was submitted is not what the file holds now
    if (!(await unchanged())) return false;
    if (r.status === 'rejected' && r.intake.status === 'rejected' && INCOMPLETE.has(r.intake.problem.code) && now - firstSeenAt < graceMs) {
      // an upload that paused longer than the settle time: left in place, read again when it changes
      if (claim) await giveBack(claim, name);
      if (incomplete.get(name) !== sig) {
        log.warn(
          { file: name, code: r.code, reason: r.reason, graceSeconds: graceMs / 1000 },
          'inbox file is empty or cut short (an upload in progress?); left in place: read again when it changes, rejected if it stays so',
        );
      }
      incomplete.set(name, sig);
      return false;
    }
    incomplete.delete(name);
    deps.onDocument?.(r.status);
    seen.delete(name);
    if (r.status === 'ignored') {
      if (claim) await giveBack(claim, name);
      ignored.set(name, sig);
      log.info({ file: name, reason: r.reason }, 'inbox file is not a metadata document; left in place');
      return true;
    }
    if (r.status === 'rejected' && r.intake.status === 'rejected') {
      const kept = await moveRejected(work, rejectedDir, reasonFor(source, r.intake.problem, r.session), name);
      log.warn({ file: name, code: r.code, field: r.field, session: r.session, kept }, 'inbox file rejected');
      if (INCOMPLETE.has(r.intake.problem.code)) recheck.set(kept, { name, sig, until: now + RECHECK_MS });
      return true;
    }
    // queued, duplicate (already queued earlier), or skipped (no ticket): safely accounted for.
    await mkdir(processedDir, { recursive: true });
    try {
      await rename(work, await freeName(processedDir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      log.debug({ file: name }, 'inbox file taken over by another worker before it was put away');
      return true;
    }
    log.info({ file: name, session: r.session, status: r.status, job: r.jobId }, 'inbox file accepted');
    return true;
  }

  /**
   * A claim left by a worker that died (older than claimStaleMs): taken over by a rename (of
   * two workers that find it stale, one does it), then given back to its name, to be read again.
   */
  async function giveBackIfStale(claimed: string, claimedAtMs: number, original: string): Promise<void> {
    if (Date.now() - claimedAtMs < staleMs) return;
    const mine = claimName(original, Date.now(), owner);
    try {
      await rename(join(dir, claimed), join(dir, mine));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // another worker has it
      throw err;
    }
    const back = await giveBack(mine, original);
    log.info(
      { file: original, claim: claimed, claimedAt: new Date(claimedAtMs).toISOString(), back },
      'inbox: a claim left by a worker that did not finish (older than INBOX_CLAIM_STALE_MS) given back, to be read again',
    );
  }

  /** rejected/ copies of incomplete files that changed since: moved back into the inbox to be read again */
  async function recheckRejected(): Promise<void> {
    const now = Date.now();
    for (const [kept, r] of recheck) {
      const st = await stat(kept).catch(() => null);
      if (!st || now > r.until) {
        recheck.delete(kept); // moved away by the admin, or long enough
        continue;
      }
      if (`${st.size}:${st.mtimeMs}` === r.sig) continue;
      recheck.delete(kept);
      const back = await placeNoReplace(kept, dir, r.name);
      if (back === null) continue; // moved away meanwhile
      await rm(`${kept}.reason.json`, { force: true });
      log.warn({ file: basename(back), was: kept }, 'a file rejected as empty or cut short changed afterwards; moved back into the inbox to be read again');
    }
  }

  async function pass(): Promise<number> {
    let handled = 0;
    unsettled = false;
    await recheckRejected().catch((err: Error) => log.error({ err: err.message }, 'cannot look at rejected files again; will retry'));
    const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      log.error({ dir, code: err.code }, 'cannot read inbox folder');
      return [];
    });
    // what this pass saw: a document's session's recording and transcript are named on its note
    listed = entries.filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name);
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (closed) break;
      // dot-files are claims (given back once stale), uploads in progress (`.name.part`) or
      // system files; folders are processed/, rejected/ or the admin's own: neither is read, nor noted
      if (e.name.startsWith('.')) {
        const claim = e.isFile() ? parseClaim(e.name) : null;
        if (claim) {
          await giveBackIfStale(e.name, claim.claimedAtMs, claim.original).catch((err: Error) =>
            log.error({ claim: e.name, err: err.message }, 'inbox: cannot give back a stale claim; will retry'),
          );
        }
        continue;
      }
      if (e.isDirectory()) continue;
      if (!e.isFile()) {
        if (!leftAlone.has(e.name)) {
          leftAlone.add(e.name);
          log.warn({ file: e.name, kind: kindOf(e) }, 'inbox entry is not a regular file; left alone (links are not followed, nothing else is opened)');
        }
        continue;
      }
      try {
        if (await handle(e.name)) handled++;
      } catch (err) {
        // Redis down, disk full...: leave the file where it is and try again next pass.
        log.error({ file: e.name, err: (err as Error).message }, 'inbox file not handled; will retry');
      }
    }
    if (!closed) {
      // what is known about a name is forgotten once it is gone: a new file under it starts
      // afresh. A file claimed by another worker is not gone: it may be given back as it was.
      const names = new Set(entries.map((e) => parseClaim(e.name)?.original ?? e.name));
      for (const known of [seen, ignored, incomplete, unreadable, leftAlone, unclaimable]) for (const name of known.keys()) if (!names.has(name)) known.delete(name);
    }
    last = new Date().toISOString();
    return handled;
  }

  function scan(): Promise<number> {
    if (!running) {
      running = pass().finally(() => {
        running = null;
      });
    }
    return running;
  }

  function schedule(delay = deps.pollMs) {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(async () => {
      timer = null;
      await scan();
      // files waiting to settle are looked at again as soon as they can be taken
      schedule(unsettled ? Math.min(deps.pollMs, deps.settleMs) : deps.pollMs);
    }, delay);
  }

  void mkdir(dir, { recursive: true }).then(() => {
    if (closed) return;
    try {
      // A change notice brings the next pass sooner; polling alone is the guarantee
      // (watch events are unreliable on network file systems).
      watcher = watch(dir, () => {
        if (timer) schedule(Math.min(deps.pollMs, 100));
      });
      watcher.on('error', () => {});
    } catch {
      /* polling only */
    }
    schedule(0);
  });

  return {
    scan,
    lastScanAt: () => last,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher?.close();
      await running;
    },
  };
}
