// Coalesces the work of concurrent jobs into one flush: up to `maxSize` items, or whatever
// arrived within `maxWaitMs` of the first. One flush at a time per process, so the records of
// one Case are never written by two flushes racing each other.

export interface BatcherOptions {
  maxSize: number;
  maxWaitMs: number;
}

type Settler<R> = { resolve: (r: R) => void; reject: (e: unknown) => void };

export class Batcher<I, R> {
  private readonly flushFn: (items: I[]) => Promise<Array<R | Error>>;
  private readonly opts: BatcherOptions;
  private pending: Array<{ item: I; settle: Settler<R> }> = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;

  /** `flushFn` returns one result or Error per item, in order. */
  constructor(flushFn: (items: I[]) => Promise<Array<R | Error>>, opts: BatcherOptions) {
    this.flushFn = flushFn;
    this.opts = opts;
  }

  add(item: I): Promise<R> {
    if (this.closed) return Promise.reject(new Error('batcher closed'));
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, settle: { resolve, reject } });
      if (this.pending.length >= this.opts.maxSize) this.kick();
      else if (!this.timer) this.timer = setTimeout(() => this.kick(), this.opts.maxWaitMs);
    });
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.running) return; // the running flush takes the next batch when it ends
    this.running = this.drain().finally(() => {
      this.running = null;
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.opts.maxSize);
      let results: Array<R | Error>;
      try {
        results = await this.flushFn(batch.map((b) => b.item));
      } catch (err) {
        for (const b of batch) b.settle.reject(err);
        continue;
      }
      batch.forEach((b, i) => {
        const r = results[i];
        if (r instanceof Error) b.settle.reject(r);
        else if (r === undefined) b.settle.reject(new Error('no result for this item'));
        else b.settle.resolve(r);
      });
      // a batch that is not full yet waits for its time, unless it is already due
      if (this.pending.length > 0 && this.pending.length < this.opts.maxSize && !this.closed) {
        if (!this.timer) this.timer = setTimeout(() => this.kick(), this.opts.maxWaitMs);
        return;
      }
    }
  }

  /** Flushes what is pending and waits for it. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.pending.length > 0 || this.running) {
      this.kick();
      await this.running;
    }
  }
}
