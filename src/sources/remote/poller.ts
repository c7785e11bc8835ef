// The worker's side of a remote source: a sweep of the whole root every `intervalMs`, by one
// worker of the fleet at a time (a lease in Redis; the others stand by and take over when it
// lapses), and the source's health for /healthz, `status` and /metrics. Notifications (Cloud
// Storage through Pub/Sub) take objects between sweeps through `take`.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../logger.ts';
import { remoteSource, sweep, takeEntry } from '../../pipeline/remote-intake.ts';
import type { RemoteIntakeDeps, SettleMemory, Taken } from '../../pipeline/remote-intake.ts';
import { ledgerMember } from '../../store/remote-state.ts';
import type { RemoteHealth } from '../../store/remote-state.ts';
import type { RemoteEntry } from './storage.ts';

export interface PollerOptions {
  intervalMs: number;
  /** an object is taken once it kept its version this long (SFTP uploads); 0: at once */
  settleMs: number;
  /** objects a sweep takes at once (a bucket: several; an SFTP connection: one) */
  concurrency?: number;
  log: Logger;
  /** each object accounted for (metrics) */
  onTaken?: (t: Taken) => void;
}

export interface RemotePoller {
  readonly label: string;
  /** one sweep now (the lease permitting); resolves when it is done */
  sweepNow(): Promise<void>;
  /** an object a notification named: taken unless the ledger knows it; 'ack' once accounted for */
  take(entry: RemoteEntry): Promise<'ack' | 'nack'>;
  health(): RemoteHealth;
  /** read recently, or standing by for another worker that does */
  healthy(): boolean;
  close(): Promise<void>;
}

export function startRemotePoller(deps: RemoteIntakeDeps, o: PollerOptions): RemotePoller {
  const { storage, state } = deps;
  const owner = `${process.pid}-${randomUUID()}`;
  const leaseMs = Math.max(3 * o.intervalMs, 60_000);
  const settle: SettleMemory = new Map();
  const h: RemoteHealth = {
    source: storage.label,
    state: 'starting',
    lastOkAt: null,
    lastError: null,
    taken: 0,
    skipped: 0,
    rejected: 0,
    oldestPendingAt: null,
    staleAfterMs: 3 * o.intervalMs + 60_000,
  };
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  // One object version taken once in this process at a time: a notification delivered twice,
  // or arriving while a sweep takes the same object, waits for that take instead of reading
  // the object again.
  const inFlight = new Map<string, Promise<Taken>>();
  /** The take of this version; one that joined another's answers `elsewhere` (counted once, by the first). */
  const takeOnce = async (entry: RemoteEntry, siblings?: readonly string[]): Promise<Taken> => {
    const member = ledgerMember(entry.name, entry.version);
    const running = inFlight.get(member);
    if (running) {
      await running;
      return { status: 'elsewhere', submit: null, reason: 'taken meanwhile by another delivery of this object', code: null, keptAt: null };
    }
    // a sweep knows the names beside the object (its session's recording, transcript); a notification does not
    const p = takeEntry(deps, entry, siblings === undefined ? undefined : { remember: true, finish: true, siblings }).finally(() => inFlight.delete(member));
    inFlight.set(member, p);
    return p;
  };
  let running: Promise<void> | null = null;

  const count = (t: Taken) => {
    if (t.status === 'rejected') h.rejected++;
    else if (t.status === 'ignored') h.skipped++;
    else if (t.status !== 'gone' && t.status !== 'elsewhere') h.taken++;
    o.onTaken?.(t);
  };
  const save = () => state.saveHealth(h).catch((err: Error) => o.log.debug({ err: err.message }, 'remote source health not saved'));

  async function pass(): Promise<void> {
    try {
      if (!(await state.lease(storage.label, owner, leaseMs))) {
        h.state = 'standby';
        return;
      }
      // a sweep of many pages renews the lease as it goes: nobody else sweeps meanwhile
      const renew = () => state.lease(storage.label, owner, leaseMs);
      const r = await sweep(deps, { settleMs: o.settleMs, settle, onTaken: count, stopped: () => closed, beforePage: renew, concurrency: o.concurrency, take: takeOnce });
      if (closed) return;
      h.state = r.error ? 'retrying' : 'watching';
      h.oldestPendingAt = r.oldestPendingAt;
      h.lastError = r.error;
      if (r.complete) h.lastOkAt = new Date().toISOString();
      if (r.taken + r.rejected > 0) o.log.info({ source: storage.label, taken: r.taken, skipped: r.skipped, rejected: r.rejected, pending: r.pending }, 'remote sweep');
      // an upload in progress is looked at again as soon as it can have settled
      if (r.pending > 0 && o.settleMs > 0) schedule(Math.min(o.intervalMs, o.settleMs + 100));
    } catch (err) {
      h.state = 'retrying';
      h.lastError = (err as Error).message;
      o.log.warn({ source: storage.label, err: h.lastError }, 'remote sweep failed; trying again at the next interval');
    } finally {
      // the worker that sweeps speaks for the source; one standing by would hide what it saw
      if (h.state !== 'standby') await save();
    }
  }

  function sweepNow(): Promise<void> {
    running ??= pass().finally(() => {
      running = null;
    });
    return running;
  }

  function schedule(delay = o.intervalMs) {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void sweepNow().finally(() => {
        if (!timer) schedule();
      });
    }, delay);
  }
  schedule(0);

  return {
    label: storage.label,
    sweepNow,
    async take(entry) {
      try {
        if ((await state.known(storage.label, [ledgerMember(entry.name, entry.version)])).size > 0) return 'ack';
        count(await takeOnce(entry));
        h.lastOkAt = new Date().toISOString();
        return 'ack';
      } catch (err) {
        h.lastError = `${entry.name}: ${(err as Error).message}`;
        o.log.warn({ source: remoteSource(storage, entry), err: (err as Error).message }, 'notified object not taken; the message comes back');
        return 'nack';
      }
    },
    health: () => ({ ...h }),
    healthy: () => h.state === 'standby' || (h.lastOkAt !== null && Date.now() - Date.parse(h.lastOkAt) < h.staleAfterMs) || h.state === 'starting',
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await running;
      h.state = 'stopped';
      await save();
      await state.unlease(storage.label, owner).catch(() => undefined);
      await storage.close();
    },
  };
}
