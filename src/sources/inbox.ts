// A watched inbox folder (an SFTP drop, a synced bucket). Each new file is read once it has
// stopped changing, submitted, and only then moved: to processed/ when its job is safely in
// the queue (or it needs no job), to rejected/ with a `.reason.json` sidecar when it cannot
// be processed. Recordings and other media are left where they are. A crash between queueing
// and moving is harmless: the file is submitted again, recognised as a duplicate, and moved.
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { mkdir, readdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.ts';
import type { SubmitResult } from '../pipeline/submit.ts';
import { readDocument } from './files.ts';
import { freeName, moveRejected, reasonFor } from './rejected.ts';

export interface InboxDeps {
  dir: string;
  pollMs: number;
  /** a file is taken once two looks at least this far apart saw the same size and mtime */
  settleMs: number;
  maxBytes: number;
  submit(bytes: Uint8Array, source: string, opts: { discovered: boolean }): Promise<SubmitResult>;
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
  const seen = new Map<string, { sig: string; at: number }>();
  let unsettled = false;
  const ignored = new Map<string, string>();
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
    const source = path;
    const read = await readDocument(path, deps.maxBytes);
    if (!read.ok) {
      if (read.problem.code === 'INPUT_UNREADABLE') {
        log.warn({ file: name, reason: read.problem.message }, 'inbox file unreadable; will retry');
        return false;
      }
      const kept = await moveRejected(path, rejectedDir, reasonFor(source, read.problem, null));
      deps.onDocument?.('rejected');
      log.warn({ file: name, code: read.problem.code, kept }, 'inbox file rejected');
      seen.delete(name);
      return true;
    }
    const r = await deps.submit(read.bytes, source, { discovered: true });
    deps.onDocument?.(r.status);
    seen.delete(name);
    if (r.status === 'ignored') {
      ignored.set(name, sig);
      log.info({ file: name, reason: r.reason }, 'inbox file is not a metadata document; left in place');
      return true;
    }
    if (r.status === 'rejected' && r.intake.status === 'rejected') {
      const kept = await moveRejected(path, rejectedDir, reasonFor(source, r.intake.problem, r.session));
      log.warn({ file: name, code: r.code, session: r.session, kept }, 'inbox file rejected');
      return true;
    }
    // queued, duplicate (already queued earlier), or skipped (no ticket): safely accounted for.
    await mkdir(processedDir, { recursive: true });
    await rename(path, await freeName(processedDir, name));
    log.info({ file: name, session: r.session, status: r.status, job: r.jobId }, 'inbox file accepted');
    return true;
  }

  async function pass(): Promise<number> {
    let handled = 0;
    unsettled = false;
    const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      log.error({ dir, code: err.code }, 'cannot read inbox folder');
      return [];
    });
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (closed) break;
      if (!e.isFile() || e.name.startsWith('.')) continue;
      try {
        if (await handle(e.name)) handled++;
      } catch (err) {
        // Redis down, disk full...: leave the file where it is and try again next pass.
        log.error({ file: e.name, err: (err as Error).message }, 'inbox file not handled; will retry');
      }
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
