// When a document is submitted and its job taken by the same process (the usual single-process
// worker: inbox or HTTP plus workers), the job need not parse it again: the submit step leaves
// its intake result here, keyed by job id. Only the last 256 are kept: enough when the worker
// keeps up. Under a backlog the jobs run further behind their submission than 256 documents,
// so entries would only be pushed out untaken, and each one (the whole parsed document) would
// have lived long enough to cost the garbage collector an old-generation object. So when a
// cache's worth of entries has been pushed out without one being used, the cache empties and
// rests for a while (16 x 256 documents), then tries again. A job taken by another process, or
// while the cache rests, parses the document itself.
import type { IntakeResult } from '../domain/intake.ts';

export class IntakeCache {
  private readonly entries = new Map<string, { document: string; result: IntakeResult }>();
  private readonly max: number;
  /** entries pushed out untaken since the last one was used */
  private wasted = 0;
  /** documents still to let pass without keeping them */
  private resting = 0;

  constructor(max = 256) {
    this.max = max;
  }

  put(jobId: string, document: string, result: IntakeResult): void {
    if (this.resting > 0) {
      this.resting--;
      return;
    }
    this.entries.delete(jobId);
    this.entries.set(jobId, { document, result });
    if (this.entries.size > this.max) {
      this.entries.delete(this.entries.keys().next().value!);
      if (++this.wasted >= this.max) {
        this.entries.clear();
        this.wasted = 0;
        this.resting = this.max * 16;
      }
    }
  }

  /** The cached result for this job, only if it was made from this very document. */
  take(jobId: string, document: string): IntakeResult | null {
    const e = this.entries.get(jobId);
    if (!e) return null;
    this.entries.delete(jobId);
    if (e.document !== document) return null;
    this.wasted = 0;
    return e.result;
  }
}
