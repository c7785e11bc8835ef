// Deciding whether a session version may be written on a ticket, given what the ticket
// already holds for that session. Pure: the targets supply `current`, this says what to do.
// The rule that makes every target idempotent and order-safe:
//   - a version already on the ticket is never written again (duplicate file, retried job,
//     a worker that crashed after writing but before acknowledging);
//   - a version older than the one on the ticket never overwrites it (late, out-of-order file).

export interface SessionState {
  /** UTC ISO `updated_at` of the newest version written on the ticket for this session */
  version: string;
}

export type WriteDecision =
  | { action: 'write'; replaces: string | null }
  | { action: 'skip'; why: 'already-written' | 'superseded'; reason: string };

export function decideWrite(current: SessionState | null, incomingVersion: string): WriteDecision {
  if (current === null) return { action: 'write', replaces: null };
  const cmp = compareVersions(incomingVersion, current.version);
  if (cmp === 0) {
    return { action: 'skip', why: 'already-written', reason: `version ${incomingVersion} is already on the ticket` };
  }
  if (cmp < 0) {
    return {
      action: 'skip',
      why: 'superseded',
      reason: `superseded: the ticket already has the newer version ${current.version}, this file is ${incomingVersion}`,
    };
  }
  return { action: 'write', replaces: current.version };
}

/** Versions are UTC ISO-8601 strings; compare as instants. */
export function compareVersions(a: string, b: string): number {
  const d = Date.parse(a) - Date.parse(b);
  return d < 0 ? -1 : d > 0 ? 1 : 0;
}
