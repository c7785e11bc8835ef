// What the Salesforce target needs to know, across every worker process sharing one org, before
// it writes a session version: was it ever attempted, is someone writing it now, and which
// version of a Case's fields was written last. Implemented on Redis (src/store/salesforce-ledger.ts);
// the states and who moves them are argued in docs/architecture.md ("Salesforce: exactly once").

/** One session version a flush wants to write. */
export interface LedgerItem {
  /** Task.CallObject, `call-1418@2026-03-23T20:16:58.000Z`: the version's key */
  callObject: string;
  /** the version (ms since the epoch) */
  versionMs: number;
  /** the Case whose mapped fields this version writes; null when it writes none */
  caseId: string | null;
}

/**
 * What the ledger says of a version, and of its Case's fields.
 *
 * Version:
 * - `fresh`: never attempted (the ledger remembers every attempt in its window): written
 *   without looking first;
 * - `unknown`: an earlier attempt may have written it (it was interrupted, or failed half-way,
 *   or the version is older than the ledger's memory): look in Salesforce first;
 * - `done`: written completely by an earlier attempt: nothing to do;
 * - `busy`: another attempt, alive (its lease renewed), is writing it: wait `leftMs` at most.
 *
 * Case fields (null when the version writes none, or the version is `done` or `busy`):
 * - `fresh`: no newer version was written or is being written on the Case: write;
 * - `unknown`: the ledger does not know what the Case holds: read its version field first;
 * - `superseded`: a newer version (`byMs`) was written or is being written there: keep them;
 * - `has`: this very version's fields are already there.
 */
export type VersionClaim =
  | { state: 'fresh' | 'unknown'; case: CaseClaim | null }
  | { state: 'done' }
  | { state: 'busy'; leftMs: number };

export type CaseClaim = { state: 'fresh' | 'unknown' | 'has' } | { state: 'superseded'; byMs: number };

/**
 * How an attempt ended, per version:
 * - `written`: every record of it is in Salesforce (or was found there);
 * - `not-written`: none of it reached Salesforce for sure (no request carried it, or every
 *   record was refused): the version goes back to what it was;
 * - `maybe`: part of it may be there (some records written, others refused): the next
 *   attempt looks first;
 * - `unanswered`: a request carrying it got no answer (a time-out, a reset, a 5xx): Salesforce
 *   may still be carrying it out, so the version is held for a lease before anyone looks.
 */
export type VersionOutcome = 'written' | 'not-written' | 'maybe' | 'unanswered';

/**
 * And of its Case's fields: `written`; `seen` (a read found the Case already holding version
 * `seenMs`, not older than this one: the ledger learns it); `failed` (refused or unanswered:
 * the next attempt writes them again); `none` (nothing was claimed for them).
 */
export type CaseOutcome = { state: 'written' | 'failed' | 'none' } | { state: 'seen'; seenMs: number };

export interface SettledItem extends LedgerItem {
  version: VersionOutcome;
  /** whether this attempt's claim on the version was `fresh` (a `not-written` fresh claim is forgotten) */
  wasFresh: boolean;
  case: CaseOutcome;
}

export interface WriteLedger {
  /** Claims the versions for one flush (`token`): one answer per item, in order. */
  claim(token: string, items: LedgerItem[]): Promise<VersionClaim[]>;
  /**
   * Keeps the flush's claims alive while its requests are in flight; per item, whether it is
   * still this flush's (a flush that froze past its lease may have lost some to another).
   */
  renew(token: string, items: LedgerItem[]): Promise<boolean[]>;
  /** Records how the flush ended for each item it claimed. */
  settle(token: string, items: SettledItem[]): Promise<void>;
  /** how long a claim lives without being renewed (ms) */
  readonly leaseMs: number;
}
