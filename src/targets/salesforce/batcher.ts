// Coalesces the work of concurrent jobs into flushes: up to `maxSize` items, sent as soon as
// that many are waiting, or when the oldest waiting item has waited `maxWaitMs`. Up to
// `maxConcurrent` flushes run at once, so a full batch never waits for the one before it; that
// two flushes may touch the same Case is the ledger's business (see ledger.ts), not the order
// of flushes.

export interface BatcherOptions {
  maxSize: number;
  maxWaitMs: number;
  /** flushes under way at once (default 1) */
  maxConcurrent?: number;
}

type Settler<R> = { resolve: (r: R) => void; reject: (e: unknown) => void };

export class Batcher<I, R> {
  private readonly flushFn: (items: I[]) => Promise<Array<R | Error>>;
  private readonly opts: Required<BatcherOptions>;
  private pending: Array<{ item: I; settle: Settler<R>; at: number }> = [];
  private timer: NodeJS.Timeout | null = null;
  private running = 0;
  private readonly idle: Array<() => void> = [];
  private closed = false;

  /** `flushFn` returns one result or Error per item, in order. */
  constructor(flushFn: (items: I[]) => Promise<Array<R | Error>>, opts: BatcherOptions) {
    this.flushFn = flushFn;
    this.opts = { maxConcurrent: 1, ...opts };
  }

  add(item: I): Promise<R> {
    if (this.closed) return Promise.reject(new Error('batcher closed'));
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, settle: { resolve, reject }, at: Date.now() });
      this.pump();
    });
  }

  /** Starts every flush that is due and has a free slot; arms the timer for the next one. */
  private pump(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.running < this.opts.maxConcurrent && this.pending.length > 0) {
      const due = this.closed || this.pending.length >= this.opts.maxSize || Date.now() - this.pending[0]!.at >= this.opts.maxWaitMs;
      if (!due) break;
      this.start(this.pending.splice(0, this.opts.maxSize));
    }
    if (this.pending.length > 0 && this.running < this.opts.maxConcurrent) {
      const wait = Math.max(0, this.pending[0]!.at + this.opts.maxWaitMs - Date.now());
      this.timer = setTimeout(() => this.pump(), wait);
    }
  }

  private start(batch: Array<{ item: I; settle: Settler<R> }>): void {
    this.running++;
    void this.flushFn(batch.map((b) => b.item))
      .then(
        (results) =>
          batch.forEach((b, i) => {
            const r = results[i];
            if (r instanceof Error) b.settle.reject(r);
            else if (r === undefined) b.settle.reject(new Error('no result for this item'));
            else b.settle.resolve(r);
          }),
        (err: unknown) => {
          for (const b of batch) b.settle.reject(err);
        },
      )
      .finally(() => {
        this.running--;
        this.pump();
        if (this.running === 0 && this.pending.length === 0) for (const f of this.idle.splice(0)) f();
      });
  }

  /** Flushes what is pending and waits for every flush to end. */
  async close(): Promise<void> {
    this.closed = true;
    this.pump();
    if (this.running === 0 && this.pending.length === 0) return;
    await new Promise<void>((r) => this.idle.push(r));
  }
}
