// Fault injection around a real target: fails the first N calls with a chosen error code,
// the way a flaky or strict CRM answers, then lets calls through to the real target.
import type { TicketUpdate, RenderedNote } from '../../src/domain/types.ts';
import { SyncError } from '../../src/errors.ts';
import type { ErrorCode } from '../../src/errors.ts';
import type { ApplyResult, Target } from '../../src/targets/target.ts';

export class FaultyTarget implements Target {
  readonly name: string;
  calls = 0;
  failures: number;
  private readonly inner: Target;
  private readonly code: ErrorCode;
  private readonly options: { retryAfterMs?: number; hold?: boolean };

  /** `options`: the injected error's own hold time, or `hold: false` (one record's error) */
  constructor(inner: Target, code: ErrorCode, failures: number, options: { retryAfterMs?: number; hold?: boolean } = {}) {
    this.inner = inner;
    this.name = inner.name;
    this.code = code;
    this.failures = failures;
    this.options = options;
  }

  async apply(e: TicketUpdate, note: RenderedNote): Promise<ApplyResult> {
    this.calls++;
    if (this.failures > 0) {
      this.failures--;
      throw new SyncError(this.code, `injected: the CRM answered ${this.code} for ${e.ticket.id}`, this.options);
    }
    return this.inner.apply(e, note);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
