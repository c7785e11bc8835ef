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
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from '../logger.ts';
import type { SubmitOptions, SubmitResult } from '../pipeline/submit.ts';
import { kindOf, readDocument } from './files.ts';
import { freeName, moveRejected, reasonFor } from './rejected.ts';

/** Default for InboxDeps.incompleteGraceMs (INBOX_INCOMPLETE_GRACE_MS). */
export const DEFAULT_INCOMPLETE_GRACE_MS = 60_000;

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
  const seen = new Map<string, { sig: string; at: number }>();
  let unsettled = false;
  const ignored = new Map<string, string>();
  /** files left in place as empty or cut short, by the signature they had then */
  const incomplete = new Map<string, string>();
  /** files that could not be read, by the signature they had: warned about once */
  const unreadable = new Map<string, string>();
  /** entries that are not regular files (links, FIFOs): noted once */
  const leftAlone = new Set<string>();
  /** rejected/ copies of incomplete files, watched for more bytes */
  const recheck = new Map<string, { name: string; sig: string; until: number }>();
  let timer: NodeJS.Timeout | null = null;
  let watcher: FSWatcher | null = null;
  let running: Promise<number> | null = null;
  let closed = false;
  let last: string | null = null;

  async function handle(name: string): Promise<boolean> {
    const path = join(dir, name);
    const st = await stat(path).catch(() => null);
    if (!st || !st.isFile()) return false;
    const sig = `${st.size}:${st.mtimeMs}`;
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
    const source = path;
    const read = await readDocument(path, deps.maxBytes);
    if (!read.ok) {
      if (read.problem.code === 'INPUT_UNREADABLE') {
        // tried again on every pass (permissions get fixed), said once per version of the file
        if (unreadable.get(name) === sig) log.debug({ file: name, reason: read.problem.message }, 'inbox file still unreadable');
        else log.warn({ file: name, reason: read.problem.message }, 'inbox file unreadable; left in place and tried again on each pass');
        unreadable.set(name, sig);
        return false;
      }
      unreadable.delete(name);
      const kept = await moveRejected(path, rejectedDir, reasonFor(source, read.problem, null));
      deps.onDocument?.('rejected');
      log.warn({ file: name, code: read.problem.code, kept }, 'inbox file rejected');
      seen.delete(name);
      return true;
    }
    unreadable.delete(name);
    const r = await deps.submit(read.bytes, source, { discovered: true, quiet: true });
    if (r.status === 'rejected' && r.intake.status === 'rejected' && INCOMPLETE.has(r.intake.problem.code) && now - prev.at < graceMs) {
      // an upload that paused longer than the settle time: left in place, read again when it changes
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
      ignored.set(name, sig);
      log.info({ file: name, reason: r.reason }, 'inbox file is not a metadata document; left in place');
      return true;
    }
    if (r.status === 'rejected' && r.intake.status === 'rejected') {
      const kept = await moveRejected(path, rejectedDir, reasonFor(source, r.intake.problem, r.session));
      log.warn({ file: name, code: r.code, field: r.field, session: r.session, kept }, 'inbox file rejected');
      if (INCOMPLETE.has(r.intake.problem.code)) recheck.set(kept, { name, sig, until: now + RECHECK_MS });
      return true;
    }
    // queued, duplicate (already queued earlier), or skipped (no ticket): safely accounted for.
    await mkdir(processedDir, { recursive: true });
    await rename(path, await freeName(processedDir, name));
    log.info({ file: name, session: r.session, status: r.status, job: r.jobId }, 'inbox file accepted');
    return true;
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
      const back = await freeName(dir, r.name);
      await rename(kept, back);
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
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (closed) break;
      // dot-files are uploads in progress (`.name.part`) or system files; folders are
      // processed/, rejected/ or the admin's own: neither is read, nor noted
      if (e.name.startsWith('.') || e.isDirectory()) continue;
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
      // what is known about a name is forgotten once it is gone: a new file under it starts afresh
      const names = new Set(entries.map((e) => e.name));
      for (const known of [seen, ignored, incomplete, unreadable, leftAlone]) for (const name of known.keys()) if (!names.has(name)) known.delete(name);
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
