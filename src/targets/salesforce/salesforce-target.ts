// The Salesforce target: each session version becomes a Task on its Case (CallObject = the
// version's key), optionally a CaseComment, and, when the admin mapped them, Case fields.
// Concurrent jobs are coalesced into flushes of up to 1,000 sessions. The ledger (ledger.ts,
// shared by every worker on the org) claims each version first: one never attempted is written
// without looking; only one an earlier attempt may have written is looked for first (Task by
// CallObject, posts by their marker, the Case's version field). A flush of new versions is one
// API call: a composite request holding five sObject Collections of 200 records; every
// record's own success or error goes back to its job.
import { randomBytes } from 'node:crypto';
import type { Connection } from 'jsforce';

import type { TicketUpdate, FieldValue, RenderedNote } from '../../domain/types.ts';
import { ERROR_CODES, SyncError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { ApplyResult, Target, TargetState } from '../target.ts';
import { Batcher } from './batcher.ts';
import { connect } from './connection.ts';
import type { SalesforceAuth } from './connection.ts';
import { fromJsforceError, fromSalesforceError } from './errors.ts';
import type { SalesforceErrorItem } from './errors.ts';
import type { CaseOutcome, LedgerItem, SettledItem, VersionClaim, VersionOutcome, WriteLedger } from './ledger.ts';
import { loadMapping, mappedFields } from './mapping.ts';
import type { Mapping } from './mapping.ts';
import { commentMarker, planWrite } from './plan.ts';
import type { FieldLengths } from './plan.ts';
import type { SessionWrite } from './plan.ts';

interface SubRequest {
  method: 'GET' | 'POST' | 'PATCH';
  url: string;
  referenceId: string;
  body?: unknown;
}

interface SubResponse {
  body: unknown;
  httpStatusCode: number;
  referenceId: string;
}

interface SaveResult {
  id?: string;
  success: boolean;
  errors: SalesforceErrorItem[];
}

// How long this target pauses (and the worker holds the queue, for what is left of the pause)
// once the org's API usage passes the pause threshold, and after Salesforce refused our
// credentials: the holds the registry declares for these codes. The target keeps its own clock
// because one pause covers every request of this process, the batch under way included.
const PAUSE_MS = ERROR_CODES.TARGET_RATE_LIMITED.holdMs;
const AUTH_PAUSE_MS = ERROR_CODES.TARGET_AUTH.holdMs;

/** records in one sObject Collections request */
const COLLECTION_SIZE = 200;
/** queries and sObject Collections in one composite request (Salesforce's limit) */
const HEAVY_PER_COMPOSITE = 5;
/** the most a session waits before it looks again at a version another worker is writing */
const BUSY_RECHECK_MS = 1_000;

/** A version another attempt is writing (its claim alive): the job looks again after `leftMs` at most. */
type Busy = { status: 'busy'; leftMs: number };
type Answer = ApplyResult | Busy;

export interface SalesforceTargetOptions {
  conn: Connection;
  mapping: Mapping;
  /** sessions in one flush (up to 1,000: five collections of 200 in one call) */
  batchSize: number;
  batchWaitMs: number;
  /** flushes under way at once (default 4) */
  batchConcurrency?: number;
  /** what every worker on the org knows of each version (see ledger.ts) */
  ledger: WriteLedger;
  slowdownAt: number;
  pauseAt: number;
  /** how long to hold off once usage passes pauseAt or the limit is hit (default PAUSE_MS, 15 minutes) */
  pauseMs?: number;
  log: Logger;
}

export class SalesforceTarget implements Target {
  readonly name = 'salesforce';
  readonly usesHtml = false;
  private readonly conn: Connection;
  private readonly mapping: Mapping;
  private readonly batcher: Batcher<SessionWrite, Answer>;
  private readonly ledger: WriteLedger;
  private readonly opts: SalesforceTargetOptions;
  private readonly base: string;
  private pausedUntil = 0;
  private pauseWhy = '';
  /** the usage seen before a pause forgot it (until the first request after the pause brings the new figure) */
  private lastUsage: { used: number; limit: number } | null = null;
  /** text field lengths of the mapped fields, from check(): values are cut to fit instead of refused */
  private fieldLengths: FieldLengths = new Map();
  /** API calls this process made (the benchmark reads it) */
  apiCalls = 0;

  constructor(opts: SalesforceTargetOptions) {
    this.opts = opts;
    this.conn = opts.conn;
    this.mapping = opts.mapping;
    this.ledger = opts.ledger;
    this.base = `/services/data/v${opts.conn.version}`;
    this.batcher = new Batcher((items) => this.flush(items), { maxSize: opts.batchSize, maxWaitMs: opts.batchWaitMs, maxConcurrent: opts.batchConcurrency ?? 4 });
  }

  async apply(e: TicketUpdate, note: RenderedNote): Promise<ApplyResult> {
    this.throwIfPaused();
    const write = planWrite(e, note, this.mapping, this.fieldLengths);
    if (write.cuts.length > 0) this.opts.log.warn({ session: e.sessionKey, ticket: e.ticket.id, cuts: write.cuts }, 'text cut to fit Salesforce field limits');
    // Another worker writing this version (or this Case's fields) now: wait for it, inside the
    // job (no attempt used), and look again; its claim lapses if it died.
    for (;;) {
      const r = await this.batcher.add(write);
      if (r.status !== 'busy') return r;
      await new Promise((res) => setTimeout(res, Math.min(r.leftMs, BUSY_RECHECK_MS) + Math.floor(Math.random() * 100)));
      this.throwIfPaused();
    }
  }

  async close(): Promise<void> {
    await this.batcher.close();
  }

  /** Describes the mapped objects: the list of fields that are missing or cannot be written. */
  async check(): Promise<string[]> {
    const problems: string[] = [];
    const lengths = new Map<string, number>();
    const wanted = mappedFields(this.mapping);
    const plan: Array<[string, string[], 'createable' | 'updateable']> = [
      ['Task', wanted.Task.create, 'createable'],
      ['Case', wanted.Case.update, 'updateable'],
      ['CaseComment', wanted.CaseComment.create, 'createable'],
      ['FeedItem', wanted.FeedItem.create, 'createable'],
    ];
    for (const [object, fields, how] of plan) {
      if (fields.length === 0) continue;
      let described: { fields: Array<{ name: string; createable: boolean; updateable: boolean; type?: string; length?: number }> };
      try {
        described = (await this.call(() => this.conn.sobject(object).describe())) as never;
      } catch (err) {
        // an org over its limit or refusing us is not a mapping problem: say what it is
        if (err instanceof SyncError && err.code !== 'TARGET_CONFIG' && err.code !== 'TARGET_NOT_FOUND') throw err;
        problems.push(`${object}: cannot describe it (${(err as Error).message})`);
        continue;
      }
      const byName = new Map(described.fields.map((f) => [f.name.toLowerCase(), f]));
      for (const field of fields) {
        const f = byName.get(field.toLowerCase());
        if (!f) problems.push(`${object}.${field}: no such field (check the API name and the integration user's field-level security)`);
        else if (!f[how]) problems.push(`${object}.${field}: not ${how === 'createable' ? 'creatable' : 'updateable'} by the integration user`);
        else if (object === 'Case' && field === this.mapping.case.versionField && (!/^(string|textarea)$/.test(f.type ?? 'string') || (f.length ?? 255) < 24)) {
          problems.push(`Case.${field}: must be a text field of at least 24 characters to hold a session version such as 2026-03-23T20:16:58.000Z (it is ${f.type ?? '?'}(${f.length ?? '?'}))`);
        } else if (/^(string|textarea)$/.test(f.type ?? '') && f.length) lengths.set(`${object}.${field}`.toLowerCase(), f.length);
      }
    }
    this.fieldLengths = lengths;
    return problems;
  }

  state(): TargetState {
    const usage = this.conn.limitInfo?.apiUsage;
    return {
      apiUsage: usage && usage.limit > 0 ? { used: usage.used, limit: usage.limit } : (this.lastUsage ?? null),
      pause: this.pausedUntil > Date.now() ? { until: new Date(this.pausedUntil).toISOString(), why: this.pauseWhy } : null,
    };
  }

  private throwIfPaused(): void {
    const left = this.pausedUntil - Date.now();
    if (left > 0) {
      throw new SyncError('TARGET_RATE_LIMITED', `paused: the org's daily API usage passed SF_API_USAGE_PAUSE; resuming in ${Math.ceil(left / 1000)} s`, { retryAfterMs: left });
    }
  }

  /** Runs one API request, counting it and watching the org's usage. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    this.throwIfPaused();
    const usage = this.conn.limitInfo?.apiUsage;
    if (usage && usage.limit > 0) {
      const share = usage.used / usage.limit;
      if (share >= this.opts.pauseAt) {
        this.pause(`API usage ${usage.used}/${usage.limit}`, this.opts.pauseMs);
        this.throwIfPaused();
      } else if (share >= this.opts.slowdownAt) {
        // slow down gradually between the two thresholds: up to 5 s between requests
        const f = (share - this.opts.slowdownAt) / Math.max(1e-9, this.opts.pauseAt - this.opts.slowdownAt);
        await new Promise((r) => setTimeout(r, Math.round(f * 5_000)));
      }
    }
    this.apiCalls++;
    try {
      return await fn();
    } catch (err) {
      const se = fromJsforceError(err, 'request');
      if (se.code === 'TARGET_RATE_LIMITED') this.pause('REQUEST_LIMIT_EXCEEDED', this.opts.pauseMs);
      // Refused credentials are the org's problem, not the jobs': hold the queue and say so
      // loudly, instead of draining every job into the failed list.
      if (se.code === 'TARGET_AUTH') {
        this.opts.log.error({ err: se.message }, `Salesforce refused our credentials; holding the queue for ${AUTH_PAUSE_MS / 60_000} minutes`);
        this.pause('authentication refused', AUTH_PAUSE_MS);
      }
      if ((se.code === 'TARGET_RATE_LIMITED' || se.code === 'TARGET_AUTH') && this.pausedUntil > Date.now()) {
        throw new SyncError(se.code, se.message, { retryAfterMs: this.pausedUntil - Date.now(), cause: err });
      }
      throw se;
    }
  }

  private pause(why: string, ms = PAUSE_MS): void {
    if (this.pausedUntil > Date.now()) return;
    this.pausedUntil = Date.now() + ms;
    this.pauseWhy = why;
    const seen = this.conn.limitInfo?.apiUsage;
    if (seen && seen.limit > 0) this.lastUsage = { used: seen.used, limit: seen.limit };
    // Forget the usage we saw: the first request after the pause brings the org's new figure
    // (otherwise the old one would pause us again without ever asking).
    (this.conn as unknown as { limitInfo: unknown }).limitInfo = {};
    this.opts.log.warn({ why, resumeAt: new Date(this.pausedUntil).toISOString() }, 'pausing Salesforce writes: org API usage too high');
  }

  private composite(subrequests: SubRequest[]): Promise<SubResponse[]> {
    return this.call(async () => {
      const res = (await this.conn.requestPost(`${this.base}/composite`, { allOrNone: false, compositeRequest: subrequests })) as {
        compositeResponse: SubResponse[];
      };
      return res.compositeResponse;
    });
  }

  private query(soql: string, referenceId: string): SubRequest {
    return { method: 'GET', url: `${this.base}/query?q=${encodeURIComponent(soql)}`, referenceId };
  }

  private async flush(items: SessionWrite[]): Promise<Array<Answer | Error>> {
    const log = this.opts.log;
    const token = randomBytes(8).toString('hex');
    const results: Array<Answer | Error | null> = items.map(() => null);
    const notes: string[][] = items.map(() => []);

    // Several sessions on one Case in this flush: only the newest writes the Case fields.
    const newestOnCase = new Map<string, number>();
    items.forEach((w, i) => {
      if (!w.caseFields) return;
      const cur = newestOnCase.get(w.recordId);
      if (cur === undefined || Date.parse(w.version) > Date.parse(items[cur]!.version)) newestOnCase.set(w.recordId, i);
    });
    items.forEach((w, i) => {
      const k = w.caseFields ? newestOnCase.get(w.recordId)! : i;
      if (k !== i) notes[i]!.push(`Case fields kept: superseded by version ${items[k]!.version} in the same batch`);
    });
    const ledgerItems: LedgerItem[] = items.map((w, i) => ({
      callObject: w.callObject,
      versionMs: Date.parse(w.version),
      caseId: w.caseFields && newestOnCase.get(w.recordId) === i ? w.recordId : null,
    }));

    // 1. The ledger: which versions are new, written, or being written by someone else.
    const claims = await this.ledger.claim(token, ledgerItems);
    const mine: number[] = [];
    claims.forEach((c, i) => {
      if (c.state === 'done') results[i] = { status: 'delivered', detail: `already on ${items[i]!.object} ${items[i]!.recordId}: written by an earlier attempt; nothing written twice` };
      else if (c.state === 'busy') results[i] = { status: 'busy', leftMs: c.leftMs };
      else mine.push(i);
    });
    // what this flush holds: each version, and its Case register where the claim took it
    const claimed = mine.map((i) => {
      const c = claims[i]!;
      const tookCase = 'case' in c && (c.case?.state === 'fresh' || c.case?.state === 'unknown');
      return tookCase ? ledgerItems[i]! : { ...ledgerItems[i]!, caseId: null };
    });
    const renewal = setInterval(() => {
      this.ledger.renew(token, claimed).catch((err: Error) => log.warn({ err: err.message }, 'could not renew the claims of a Salesforce batch'));
    }, Math.max(100, Math.floor(this.ledger.leaseMs / 3)));
    const track = new Map<number, Track>(mine.map((i) => [i, { ok: 0, refused: 0, unanswered: 0, found: 0, caseOutcome: { state: 'none' } as CaseOutcome }]));
    try {
      await this.writeClaimed(items, mine, claims as Array<Extract<VersionClaim, { case: unknown }>>, results, notes, track, token, claimed);
    } finally {
      clearInterval(renewal);
    }

    // 4. What the ledger learns: written, never sent, or maybe (the next attempt looks first).
    const settled: SettledItem[] = mine.map((i) => {
      const t = track.get(i)!;
      const failed = t.refused > 0 || results[i] instanceof Error;
      const version: VersionOutcome = t.unanswered > 0 ? 'unanswered' : failed && t.ok + t.found > 0 ? 'maybe' : failed ? 'not-written' : 'written';
      return { ...ledgerItems[i]!, version, wasFresh: claims[i]!.state === 'fresh', case: t.caseOutcome };
    });
    await this.ledger.settle(token, settled).catch((err: Error) =>
      // the claims lapse with their lease: the next attempt of these versions looks first
      log.warn({ err: err.message, sessions: settled.length }, 'could not record a Salesforce batch in the ledger'),
    );
    log.debug({ sessions: items.length, claimed: mine.length }, 'salesforce batch written');

    return items.map((w, i): Answer | Error => {
      const r = results[i];
      if (r) return r;
      const said = notes[i]!.join('; ');
      if (notes[i]!.some((n) => /created|updated/.test(n))) return { status: 'delivered', detail: `on ${w.object} ${w.recordId}: ${said}` };
      if (notes[i]!.some((n) => /already there/.test(n))) return { status: 'delivered', detail: `already on ${w.object} ${w.recordId}: ${said}; nothing written twice` };
      if (notes[i]!.some((n) => /kept/.test(n))) return { status: 'skipped', reason: `superseded: ${said}` };
      return { status: 'skipped', reason: 'nothing to write: the mapping writes no Task, comment or field for this record' };
    });
  }

  /**
   * Steps 2 and 3 of a flush, for the versions it claimed (`mine`): look in Salesforce only for
   * what an earlier attempt may have written, then write the rest, 1,000 records to an API call
   * (five sObject Collections of 200 in one composite request).
   */
  private async writeClaimed(
    items: SessionWrite[],
    mine: number[],
    claims: Array<Extract<VersionClaim, { case: unknown }>>,
    results: Array<Answer | Error | null>,
    notes: string[][],
    track: Map<number, Track>,
    token: string,
    /** what this flush holds, in the order of `mine` */
    held: LedgerItem[],
  ): Promise<void> {
    // 2. What is already there, for the versions that may have been written before.
    const unknownTasks = mine.filter((i) => claims[i]!.state === 'unknown' && items[i]!.task);
    const caseReads = unique(mine.filter((i) => claims[i]!.case?.state === 'unknown').map((i) => items[i]!.recordId));
    const vf = this.mapping.case.versionField;
    const reads: SubRequest[] = [];
    const readOf = new Map<string, string>(); // referenceId -> what it reads
    const addReads = (kind: string, values: string[], soql: (list: string) => string) => {
      for (let k = 0; k < values.length; k += COLLECTION_SIZE) {
        const ref = `${kind}${k / COLLECTION_SIZE}`;
        readOf.set(ref, kind);
        reads.push(this.query(soql(quoteAll(values.slice(k, k + COLLECTION_SIZE))), ref));
      }
    };
    addReads('tasks', unknownTasks.map((i) => items[i]!.callObject), (l) => `SELECT Id, CallObject FROM Task WHERE CallObject IN (${l})`);
    addReads('cases', caseReads, (l) => `SELECT Id, ${vf} FROM Case WHERE Id IN (${l})`);
    for (const type of ['CaseComment', 'FeedItem'] as const) {
      const parents = unique(mine.filter((i) => claims[i]!.state === 'unknown' && items[i]!.posts.some((p) => p.type === type)).map((i) => items[i]!.recordId));
      const bodyField = type === 'CaseComment' ? 'CommentBody' : 'Body';
      addReads(`posts-${type}-`, parents, (l) => `SELECT Id, ParentId, ${bodyField} FROM ${type} WHERE ParentId IN (${l})`);
    }
    const existingTasks = new Map<string, string>();
    const caseVersions = new Map<string, string | null>();
    const existingPosts = new Set<string>();
    const readErrors = new Map<string, SyncError>();
    for (const r of await this.compositeAll(reads)) {
      const kind = readOf.get(r.referenceId) ?? r.referenceId;
      if (r.error || r.httpStatusCode >= 300) {
        // only the sessions that depend on this read fail (and retry)
        readErrors.set(kind, r.error ?? fromSalesforceError(firstError(r.body), `reading ${kind.replace(/-$/, '')}`));
        continue;
      }
      const records = await this.allPages(r.body as QueryPage);
      if (kind === 'tasks') for (const t of records) existingTasks.set(String(t.CallObject), String(t.Id));
      if (kind === 'cases') for (const c of records) caseVersions.set(String(c.Id), (c[vf] as string | null) ?? null);
      if (kind.startsWith('posts-')) {
        const type = kind.split('-')[1];
        for (const c of records) existingPosts.add(`${type}|${c.ParentId}|${String(c.CommentBody ?? c.Body ?? '').split('\n', 1)[0]}`);
      }
    }

    // Before writing (what follows is synchronous up to the requests): are the claims still
    // this flush's? One that froze past its lease may have lost some to another flush, which
    // then writes them: nothing is sent here for those.
    const still = await this.ledger.renew(token, held);
    mine.forEach((i, k) => {
      if (!still[k]) results[i] = new SyncError('TARGET_BUSY', 'this attempt was overtaken (it stalled past its claim); another attempt writes this version');
    });

    // 3. What to write.
    const taskCreates: Array<{ index: number; record: Record<string, FieldValue> }> = [];
    const postCreates: Array<{ index: number; type: string; record: Record<string, FieldValue> }> = [];
    const caseUpdates: Array<{ index: number; id: string; fields: Record<string, FieldValue> }> = [];
    for (const i of mine) {
      if (results[i]) continue; // overtaken
      const w = items[i]!;
      const claim = claims[i]!;
      const t = track.get(i)!;
      const unknown = claim.state === 'unknown';
      const readError =
        (unknown && w.task && readErrors.get('tasks')) ||
        (claim.case?.state === 'unknown' && readErrors.get('cases')) ||
        (unknown && w.posts.map((p) => readErrors.get(`posts-${p.type}-`)).find(Boolean));
      if (readError) {
        results[i] = readError;
        if (claim.case?.state === 'fresh' || claim.case?.state === 'unknown') t.caseOutcome = { state: 'failed' };
        continue;
      }
      const cc = w.caseFields ? claim.case : null;
      // a Case the read did not find: nothing of this version is written (no Task on it either)
      if (cc?.state === 'unknown' && !caseVersions.has(w.recordId)) {
        results[i] = new SyncError('TARGET_NOT_FOUND', `Salesforce: Case ${w.recordId} was not found (deleted, or not visible to the integration user)`);
        t.caseOutcome = { state: 'failed' };
        continue;
      }
      if (w.task) {
        const existing = unknown ? existingTasks.get(w.callObject) : undefined;
        if (existing) {
          notes[i]!.push(`Task ${existing} for this version was already there`);
          t.found++;
        } else taskCreates.push({ index: i, record: { attributes: { type: 'Task' } as never, ...w.task } });
      }
      for (const p of w.posts) {
        if (unknown && existingPosts.has(`${p.type}|${w.recordId}|${commentMarker(w.callObject)}`)) {
          notes[i]!.push(`${p.type} for this version was already there`);
          t.found++;
        } else postCreates.push({ index: i, type: p.type, record: { attributes: { type: p.type } as never, ...p.record } });
      }
      if (!cc) continue;
      if (cc.state === 'superseded') notes[i]!.push(`Case fields kept: the Case already has the newer version ${new Date(cc.byMs).toISOString()}`);
      else if (cc.state === 'has') notes[i]!.push('Case fields kept: the Case already has this version');
      else {
        const stored = cc.state === 'unknown' ? (caseVersions.get(w.recordId) ?? null) : null;
        if (stored && Date.parse(stored) >= Date.parse(w.version)) {
          notes[i]!.push(`Case fields kept: the Case already has ${stored === w.version ? 'this' : `the newer version ${stored}`}`);
          t.caseOutcome = { state: 'seen', seenMs: Date.parse(stored) };
        } else caseUpdates.push({ index: i, id: w.recordId, fields: w.caseFields! });
      }
    }

    // Write: sObject Collections of 200, five to a composite request (one API call each).
    type Chunk = { sub: SubRequest; what: (k: number) => { index: number; what: string } };
    const chunks: Chunk[] = [];
    const chunked = <T>(list: T[], make: (part: T[], n: number) => Chunk) => {
      for (let k = 0; k < list.length; k += COLLECTION_SIZE) chunks.push(make(list.slice(k, k + COLLECTION_SIZE), k / COLLECTION_SIZE));
    };
    chunked(taskCreates, (part, n) => ({
      sub: { method: 'POST', url: `${this.base}/composite/sobjects`, referenceId: `taskCreate${n}`, body: { allOrNone: false, records: part.map((c) => c.record) } },
      what: (k) => ({ index: part[k]!.index, what: 'Task' }),
    }));
    chunked(postCreates, (part, n) => ({
      sub: { method: 'POST', url: `${this.base}/composite/sobjects`, referenceId: `postCreate${n}`, body: { allOrNone: false, records: part.map((c) => c.record) } },
      what: (k) => ({ index: part[k]!.index, what: part[k]!.type }),
    }));
    chunked(caseUpdates, (part, n) => ({
      sub: { method: 'PATCH', url: `${this.base}/composite/sobjects`, referenceId: `caseUpdate${n}`, body: { allOrNone: false, records: part.map((u) => ({ attributes: { type: 'Case' }, Id: u.id, ...u.fields })) } },
      what: (k) => ({ index: part[k]!.index, what: `Case ${part[k]!.id} fields` }),
    }));
    const byRef = new Map(chunks.map((c) => [c.sub.referenceId, c]));
    for (const r of await this.compositeAll(chunks.map((c) => c.sub))) {
      const chunk = byRef.get(r.referenceId)!;
      const count = (chunk.sub.body as { records: unknown[] }).records.length;
      const saves = !r.error && r.httpStatusCode < 300 ? (r.body as SaveResult[]) : null;
      const error = r.error ?? (saves ? null : fromSalesforceError(firstError(r.body), `writing ${r.referenceId.replace(/\d+$/, '')}`));
      for (let k = 0; k < count; k++) {
        const { index: i, what } = chunk.what(k);
        const t = track.get(i)!;
        const save = saves?.[k];
        const err = error ?? (save && !save.success ? fromSalesforceError(firstError(save.errors), what) : null);
        // a request with no answer (or a server error: 5xx) may have been carried out; a
        // refused record was not
        if (r.error || r.httpStatusCode >= 500) t.unanswered++;
        else if (err) t.refused++;
        else t.ok++;
        const isCase = what.startsWith('Case ');
        if (isCase) t.caseOutcome = { state: err ? 'failed' : 'written' };
        if (results[i] instanceof Error) continue;
        if (err) results[i] = err;
        else notes[i]!.push(isCase ? `${what} updated` : `${what} ${save?.id} created`);
      }
    }
    // a Case update never sent (the read failed, the flush was overtaken) leaves the register to be written again
    for (const i of mine) {
      const t = track.get(i)!;
      const cc = claims[i]!.case;
      if (t.caseOutcome.state === 'none' && (cc?.state === 'fresh' || cc?.state === 'unknown')) t.caseOutcome = { state: 'failed' };
    }
  }

  /**
   * Every record of a query answer: a long one (the comments of Cases that have gathered many)
   * comes in pages, each further page one more API call.
   */
  private async allPages(first: QueryPage): Promise<Array<Record<string, unknown>>> {
    const records = [...first.records];
    for (let page = first; !page.done && page.nextRecordsUrl; ) {
      const url = page.nextRecordsUrl;
      page = await this.call(() => this.conn.request<QueryPage>(url));
      records.push(...page.records);
    }
    return records;
  }

  /**
   * Runs subrequests in composite requests of at most five (each may be a query or an sObject
   * Collection: Salesforce allows five of those in one), in parallel. A request that failed as
   * a whole answers each of its subrequests with its error.
   */
  private async compositeAll(subs: SubRequest[]): Promise<Array<SubResponse & { error?: SyncError }>> {
    const groups: SubRequest[][] = [];
    for (let k = 0; k < subs.length; k += HEAVY_PER_COMPOSITE) groups.push(subs.slice(k, k + HEAVY_PER_COMPOSITE));
    const answers = await Promise.all(
      groups.map((g) =>
        this.composite(g).then(
          (rs): Array<SubResponse & { error?: SyncError }> => rs,
          (err: unknown) => g.map((s) => ({ body: null, httpStatusCode: 0, referenceId: s.referenceId, error: err instanceof SyncError ? err : fromJsforceError(err, 'request') })),
        ),
      ),
    );
    return answers.flat();
  }
}

interface QueryPage {
  records: Array<Record<string, unknown>>;
  done?: boolean;
  nextRecordsUrl?: string;
}

interface Track {
  ok: number;
  /** refused by Salesforce, record by record: not written */
  refused: number;
  /** in a request that got no answer: may have been written */
  unanswered: number;
  /** found already there by a read */
  found: number;
  caseOutcome: CaseOutcome;
}

function firstError(body: unknown): SalesforceErrorItem {
  const list = Array.isArray(body) ? body : [body];
  return (list[0] as SalesforceErrorItem) ?? { message: 'unknown error' };
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

/** SOQL string literals: quote and escape (backslash and quote). */
export function quoteAll(values: string[]): string {
  return values.map((v) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(', ');
}

/** What the composition root gives the Salesforce target (the SF_* settings). */
export interface SalesforceSettings {
  auth: SalesforceAuth;
  /** SF_MAPPING_FILE; unset: the default mapping (a Task per session version) */
  mappingFile: string | undefined;
  batchSize: number;
  batchWaitMs: number;
  batchConcurrency: number;
  slowdownAt: number;
  pauseAt: number;
}

export async function createSalesforceTarget(settings: SalesforceSettings, ledger: WriteLedger, log: Logger): Promise<SalesforceTarget> {
  const mapping = loadMapping(settings.mappingFile);
  const { conn } = await connect(settings.auth);
  const target = new SalesforceTarget({
    conn,
    mapping,
    batchSize: settings.batchSize,
    batchWaitMs: settings.batchWaitMs,
    batchConcurrency: settings.batchConcurrency,
    ledger,
    slowdownAt: settings.slowdownAt,
    pauseAt: settings.pauseAt,
    log,
  });
  // Before any job runs: every mapped field must exist and be writable.
  const problems = await target.check();
  if (problems.length) {
    throw new SyncError('TARGET_CONFIG', `the Salesforce mapping does not fit this org:\n  - ${problems.join('\n  - ')}`);
  }
  return target;
}
