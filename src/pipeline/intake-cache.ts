// When a document is submitted and its job taken by the same process (the usual single-process
// worker: inbox or HTTP plus workers), the job need not parse it again: the submit step leaves
// its intake result here, keyed by job id. Only the last 256 are kept: enough when the worker
// keeps up; under a backlog entries age out and jobs parse for themselves, so memory stays
// flat. A job taken by another process parses the document itself.
import type { IntakeResult } from '../domain/intake.ts';

export class IntakeCache {
  private readonly entries = new Map<string, { document: string; result: IntakeResult }>();
  private readonly max: number;

  constructor(max = 256) {
    this.max = max;
  }

  put(jobId: string, document: string, result: IntakeResult): void {
    this.entries.delete(jobId);
    this.entries.set(jobId, { document, result });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  /** The cached result for this job, only if it was made from this very document. */
  take(jobId: string, document: string): IntakeResult | null {
    const e = this.entries.get(jobId);
    if (!e) return null;
    this.entries.delete(jobId);
    return e.document === document ? e.result : null;
  }
}
