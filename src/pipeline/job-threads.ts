// Job threads (JOB_THREADS): the CPU part of each job (prepare.ts: read the document again,
// decide, render the note) on threads beside the worker's main thread, which keeps the queue,
// the status writes and the CRM's requests. Each thread compiles the three templates the main
// thread read and checked at start-up, not the files again (an edit half made while the worker
// runs cannot reach a thread; partials they include are read as on the main thread). A
// document goes in as text and only the ticket update and the
// note come back, so nothing parsed is copied between threads.
//
// A thread works through its requests in order. Should one die (an exit from a library, a
// crash; running out of memory ends the whole process in Node, thread or not), the request it
// was on fails as retryable, and the ones queued behind it go to a new thread in its place.
import { Worker } from 'node:worker_threads';
import type { EnrichOptions } from '../domain/enrich/options.ts';
import type { IntakeOptions } from '../domain/intake.ts';
import { isErrorCode, SyncError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { NoteSettings, NoteTemplates, TemplateSources } from '../render/templates.ts';
import type { Prepared } from './prepare.ts';

export interface JobThreadsOptions {
  size: number;
  templates: NoteTemplates;
  intake: IntakeOptions;
  enrich: EnrichOptions;
  log: Logger;
  /**
   * A thread with work that has answered nothing for this long is stuck (a loop no limit
   * caught): it is replaced like one that died. Default 60 s; rendering alone stops at 5 s.
   */
  stuckAfterMs?: number;
}

/** What a job thread is started with (workerData). */
export interface JobThreadData {
  templatesDir: string;
  templates: TemplateSources;
  noteSettings: NoteSettings;
  intake: IntakeOptions;
  enrich: EnrichOptions;
}

/** A request to a thread. */
export interface JobThreadRequest {
  id: number;
  document: string;
  html: boolean;
  /** the session's files its source listed beside it (SessionJobData.files) */
  files?: readonly string[];
}

/** A thread's answer to one request. */
export type JobThreadReply =
  | { id: number; prepared: Prepared }
  | { id: number; error: { code: string; message: string; field?: string } }
  | { ready: true }
  /** the thread could not compile the templates */
  | { failed: { code: string; message: string } };

interface Pending {
  request: JobThreadRequest;
  resolve: (p: Prepared) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  /** requests sent to this thread, oldest first (it answers them in order) */
  pending: Map<number, Pending>;
  /** when it last answered, or was given work while idle */
  progressAt: number;
  /** why it is being replaced, when the pool stopped it */
  stoppedBecause?: string;
}

const THREAD_URL = new URL('./job-thread.ts', import.meta.url);

export class JobThreads {
  private readonly slots: Slot[] = [];
  /** slots whose thread died with nothing waiting: restarted by the next request */
  private readonly dead = new Set<number>();
  private readonly o: JobThreadsOptions;
  private next = 0;
  private closing = false;
  private readonly watchdog: NodeJS.Timeout;
  /** threads started in place of one that died, for the log and the tests */
  restarts = 0;

  private constructor(o: JobThreadsOptions) {
    this.o = o;
    const stuckAfter = o.stuckAfterMs ?? 60_000;
    this.watchdog = setInterval(() => {
      for (const slot of this.slots) {
        if (slot.pending.size > 0 && !slot.stoppedBecause && Date.now() - slot.progressAt > stuckAfter) {
          slot.stoppedBecause = `it did not answer for ${stuckAfter} ms`;
          this.o.log.error({ waiting: slot.pending.size }, `job thread stuck: ${slot.stoppedBecause}; replacing it`);
          void slot.worker.terminate();
          // a thread that does not even stop (blocked in native code) is given up on all the same
          setTimeout(() => {
            const i = this.slots.indexOf(slot);
            if (i >= 0 && !this.closing && !this.dead.has(i)) this.lost(i, slot, slot.stoppedBecause!);
          }, 5_000).unref();
        }
      }
    }, Math.min(1_000, Math.max(50, stuckAfter / 4)));
    this.watchdog.unref();
  }

  /** Starts `size` threads; rejects (CONFIG_INVALID for templates that do not compile) if one cannot start. */
  static async start(o: JobThreadsOptions): Promise<JobThreads> {
    const pool = new JobThreads(o);
    try {
      for (let i = 0; i < o.size; i++) await pool.spawn(i, new Map());
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  /**
   * Starts the thread of slot `i` and puts it in place at once, with `pending` (requests
   * carried over from a thread that died) sent to it first; a request sent before the thread
   * is ready waits in its port. Resolves when the thread has compiled the templates.
   */
  private spawn(i: number, pending: Map<number, Pending>): Promise<void> {
    const data: JobThreadData = { templatesDir: this.o.templates.dir, templates: this.o.templates.sources, noteSettings: this.o.templates.settings, intake: this.o.intake, enrich: this.o.enrich };
    const worker = new Worker(THREAD_URL, { workerData: data });
    const slot: Slot = { worker, pending, progressAt: Date.now() };
    this.slots[i] = slot;
    for (const p of pending.values()) worker.postMessage(p.request);
    this.holdOpen(slot);
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      let failure: SyncError | undefined;
      let stopped = false;
      const stop = (why: string, err?: Error) => {
        if (stopped) return; // 'error' comes before 'exit'
        stopped = true;
        if (!ready) reject(failure ?? new SyncError('INTERNAL', `a job thread could not start: ${why}`, { cause: err }));
        if (this.closing) return;
        if (!ready && slot.pending.size === 0) this.dead.add(i); // start() reports it
        else this.lost(i, slot, slot.stoppedBecause ?? (failure ? failure.message : why));
      };
      worker.on('message', (m: JobThreadReply) => {
        if ('ready' in m) {
          ready = true;
          resolve();
        } else if ('failed' in m) {
          failure = new SyncError(codeOf(m.failed.code), m.failed.message);
        } else {
          const p = slot.pending.get(m.id);
          if (!p) return;
          slot.pending.delete(m.id);
          slot.progressAt = Date.now();
          this.holdOpen(slot);
          if ('prepared' in m) p.resolve(m.prepared);
          else p.reject(new SyncError(codeOf(m.error.code), m.error.message, m.error.field ? { field: m.error.field } : {}));
        }
      });
      // an answer that cannot be read back: its request would never settle, so the thread is
      // replaced like one that died (the request it was on fails, the rest are sent again)
      worker.on('messageerror', (err) => {
        slot.stoppedBecause = `an answer could not be read (${err.message})`;
        this.o.log.error({ err: err.message }, 'unreadable answer from a job thread; replacing it');
        void worker.terminate();
      });
      worker.on('error', (err) => stop(err.message, err));
      worker.on('exit', (code) => stop(`exit code ${code}`));
    });
  }

  /**
   * The thread of slot `i` stopped: the request it was working on fails as retryable (it may
   * be what killed the thread, so it is not sent again at once: the job's retry will, later),
   * the others go to a new thread. With none waiting, the slot is filled on the next request.
   */
  private lost(i: number, slot: Slot, why: string): void {
    if (this.slots[i] !== slot) return;
    const [first, ...rest] = [...slot.pending.values()];
    first?.reject(new SyncError('INTERNAL', `the job thread preparing this job stopped (${why}); the job is retried`));
    this.o.log.error({ thread: i, why, waiting: rest.length }, 'job thread stopped');
    slot.pending.clear();
    if (rest.length === 0) {
      this.dead.add(i);
      return;
    }
    this.restart(i, new Map(rest.map((p) => [p.request.id, p])));
  }

  private restart(i: number, pending: Map<number, Pending>): void {
    this.dead.delete(i);
    this.restarts++;
    // a thread that cannot start fails what it was given (its `stop` rejects them in turn)
    this.spawn(i, pending).catch(() => undefined);
  }

  /** A thread keeps the process alive only while it has work (an idle pool never holds it open). */
  private holdOpen(slot: Slot): void {
    if (slot.pending.size > 0) slot.worker.ref();
    else slot.worker.unref();
  }

  /** Reads, decides and renders one job's document on the next thread. */
  prepare(document: string, html: boolean, files?: readonly string[]): Promise<Prepared> {
    if (this.closing) return Promise.reject(new SyncError('INTERNAL', 'the worker is shutting down'));
    const request: JobThreadRequest = files === undefined ? { id: this.next++, document, html } : { id: this.next++, document, html, files };
    const i = request.id % this.slots.length;
    return new Promise<Prepared>((resolve, reject) => {
      const p: Pending = { request, resolve, reject };
      if (this.dead.has(i)) {
        this.restart(i, new Map([[request.id, p]]));
        return;
      }
      const slot = this.slots[i]!;
      if (slot.pending.size === 0) slot.progressAt = Date.now();
      slot.pending.set(request.id, p);
      this.holdOpen(slot);
      slot.worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.watchdog);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    for (const s of this.slots) {
      for (const p of s.pending.values()) p.reject(new SyncError('INTERNAL', 'the worker is shutting down'));
      s.pending.clear();
    }
  }
}

/** A code that came back from a thread as text: one of ours, else INTERNAL (never a cast). */
function codeOf(code: string): ErrorCode {
  return isErrorCode(code) ? code : 'INTERNAL';
}
