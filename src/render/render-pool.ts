// Rendering notes on other threads. LiquidJS rendering is most of a job's CPU time; with
// RENDER_THREADS > 0 it runs beside the worker's main thread instead of on it.
import { Worker } from 'node:worker_threads';
import type { Enrichment, RenderedNote } from '../domain/types.ts';
import { SyncError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';

type Pending = { resolve: (n: RenderedNote) => void; reject: (e: Error) => void };

export class RenderPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private next = 0;

  private constructor() {}

  static async start(dir: string, size: number): Promise<RenderPool> {
    const pool = new RenderPool();
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./render-worker.ts', import.meta.url), { workerData: { dir } });
      await new Promise<void>((resolve, reject) => {
        w.once('error', reject);
        w.once('message', () => resolve());
      });
      w.on('message', (m: { id: number; note?: RenderedNote; error?: { code: string; message: string } }) => {
        const p = pool.pending.get(m.id);
        if (!p) return;
        pool.pending.delete(m.id);
        if (m.note) p.resolve(m.note);
        else p.reject(new SyncError((m.error?.code ?? 'INTERNAL') as ErrorCode, m.error?.message ?? 'render failed'));
      });
      w.on('error', (err) => {
        for (const [, p] of pool.pending) p.reject(new SyncError('INTERNAL', `render thread failed: ${err.message}`));
        pool.pending.clear();
      });
      w.unref();
      pool.workers.push(w);
    }
    return pool;
  }

  render(e: Enrichment, opts: { html: boolean }): Promise<RenderedNote> {
    const id = this.next++;
    const w = this.workers[id % this.workers.length]!;
    return new Promise<RenderedNote>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, e, html: opts.html });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
