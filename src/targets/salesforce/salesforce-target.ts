// The Salesforce target: each session version becomes a Task on its Case (CallObject = the
// version's key), optionally a CaseComment, and, when the admin mapped them, Case fields.
// Concurrent jobs are coalesced: one flush of up to 200 sessions costs two API calls, one
// composite request reading what is already there and one composite request writing
// (sObject Collections inside), and every record's own success or error goes back to its job.
import type { Connection } from 'jsforce';

import type { TicketUpdate, FieldValue, RenderedNote } from '../../domain/types.ts';
import { ERROR_CODES, SyncError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { ApplyResult, Target } from '../target.ts';
import { Batcher } from './batcher.ts';
import { connect } from './connection.ts';
import type { SalesforceAuth } from './connection.ts';
import { fromJsforceError, fromSalesforceError } from './errors.ts';
import type { SalesforceErrorItem } from './errors.ts';
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

export interface SalesforceTargetOptions {
  conn: Connection;
  mapping: Mapping;
  batchSize: number;
  batchWaitMs: number;
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
  private readonly batcher: Batcher<SessionWrite, ApplyResult>;
  private readonly opts: SalesforceTargetOptions;
  private readonly base: string;
  private pausedUntil = 0;
  /** text field lengths of the mapped fields, from check(): values are cut to fit instead of refused */
  private fieldLengths: FieldLengths = new Map();
  /** API calls this process made (the benchmark reads it) */
  apiCalls = 0;

  constructor(opts: SalesforceTargetOptions) {
    this.opts = opts;
    this.conn = opts.conn;
    this.mapping = opts.mapping;
    this.base = `/services/data/v${opts.conn.version}`;
    this.batcher = new Batcher((items) => this.flush(items), { maxSize: opts.batchSize, maxWaitMs: opts.batchWaitMs });
  }

  async apply(e: TicketUpdate, note: RenderedNote): Promise<ApplyResult> {
    this.throwIfPaused();
    const write = planWrite(e, note, this.mapping, this.fieldLengths);
    if (write.cuts.length > 0) this.opts.log.warn({ session: e.sessionKey, ticket: e.ticket.id, cuts: write.cuts }, 'text cut to fit Salesforce field limits');
    return this.batcher.add(write);
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

  private async flush(items: SessionWrite[]): Promise<Array<ApplyResult | Error>> {
    const results: Array<ApplyResult | Error | null> = items.map(() => null);
    const log = this.opts.log;

    // 1. What is already there: one composite request (one API call).
    const reads: SubRequest[] = [];
    const withTask = items.filter((w) => w.task);
    if (withTask.length) reads.push(this.query(`SELECT Id, CallObject FROM Task WHERE CallObject IN (${quoteAll(withTask.map((w) => w.callObject))})`, 'tasks'));
    const caseIds = unique(items.filter((w) => w.caseFields).map((w) => w.recordId));
    const vf = this.mapping.case.versionField;
    if (caseIds.length) reads.push(this.query(`SELECT Id, ${vf} FROM Case WHERE Id IN (${quoteAll(caseIds)})`, 'cases'));
    for (const type of ['CaseComment', 'FeedItem'] as const) {
      const parents = unique(items.filter((w) => w.posts.some((p) => p.type === type)).map((w) => w.recordId));
      const bodyField = type === 'CaseComment' ? 'CommentBody' : 'Body';
      if (parents.length) reads.push(this.query(`SELECT Id, ParentId, ${bodyField} FROM ${type} WHERE ParentId IN (${quoteAll(parents)})`, `posts-${type}`));
    }

    const existingTasks = new Map<string, string>();
    const caseVersions = new Map<string, string | null>();
    const existingPosts = new Set<string>();
    const readErrors = new Map<string, SyncError>();
    if (reads.length) {
      const responses = await this.composite(reads);
      for (const r of responses) {
        if (r.httpStatusCode >= 300) {
          // only the sessions that depend on this read fail (and retry)
          readErrors.set(r.referenceId, fromSalesforceError(firstError(r.body), `reading ${r.referenceId}`));
          continue;
        }
        const records = (r.body as { records: Array<Record<string, unknown>> }).records;
        if (r.referenceId === 'tasks') for (const t of records) existingTasks.set(String(t.CallObject), String(t.Id));
        if (r.referenceId === 'cases') for (const c of records) caseVersions.set(String(c.Id), (c[vf] as string | null) ?? null);
        if (r.referenceId.startsWith('posts-')) {
          const type = r.referenceId.slice('posts-'.length);
          for (const c of records) existingPosts.add(`${type}|${c.ParentId}|${String(c.CommentBody ?? c.Body ?? '').split('\n', 1)[0]}`);
        }
      }
    }

    // 2. What to write.
    const taskCreates: Array<{ index: number; record: Record<string, FieldValue> }> = [];
    const postCreates: Array<{ index: number; type: string; record: Record<string, FieldValue> }> = [];
    const newestByCase = new Map<string, { version: string; fields: Record<string, FieldValue>; indexes: number[] }>();
    const notes: string[][] = items.map(() => []);
    items.forEach((w, i) => {
      const readError =
        (w.task && readErrors.get('tasks')) ||
        (w.caseFields && readErrors.get('cases')) ||
        w.posts.map((p) => readErrors.get(`posts-${p.type}`)).find(Boolean);
      if (readError) {
        results[i] = readError;
        return;
      }
      if (w.task) {
        const existing = existingTasks.get(w.callObject);
        if (existing) notes[i]!.push(`Task ${existing} for this version was already there`);
        else taskCreates.push({ index: i, record: { attributes: { type: 'Task' } as never, ...w.task } });
      }
      for (const p of w.posts) {
        if (existingPosts.has(`${p.type}|${w.recordId}|${commentMarker(w.callObject)}`)) notes[i]!.push(`${p.type} for this version was already there`);
        else postCreates.push({ index: i, type: p.type, record: { attributes: { type: p.type } as never, ...p.record } });
      }
      if (w.caseFields) {
        if (!caseVersions.has(w.recordId)) {
          results[i] = new SyncError('TARGET_NOT_FOUND', `Salesforce: Case ${w.recordId} was not found (deleted, or not visible to the integration user)`);
          return;
        }
        const stored = caseVersions.get(w.recordId) ?? null;
        if (stored && Date.parse(stored) >= Date.parse(w.version)) {
          notes[i]!.push(`Case fields kept: the Case already has ${stored === w.version ? 'this' : `the newer version ${stored}`}`);
          return;
        }
        // Several sessions on one Case in this batch: only the newest writes the fields.
        const cur = newestByCase.get(w.recordId);
        if (!cur || Date.parse(w.version) > Date.parse(cur.version)) {
          for (const k of cur?.indexes ?? []) notes[k]!.push(`Case fields kept: superseded by version ${w.version} in the same batch`);
          newestByCase.set(w.recordId, { version: w.version, fields: w.caseFields, indexes: [i] });
        } else {
          notes[i]!.push(`Case fields kept: superseded by version ${cur.version} in the same batch`);
        }
      }
    });

    // 3. Write: one composite request with the collections inside (one API call).
    const writes: SubRequest[] = [];
    for (const [ref, list] of [
      ['taskCreate', taskCreates],
      ['postCreate', postCreates],
    ] as const) {
      for (let k = 0; k < list.length; k += 200) {
        writes.push({ method: 'POST', url: `${this.base}/composite/sobjects`, referenceId: `${ref}${k / 200}`, body: { allOrNone: false, records: list.slice(k, k + 200).map((c) => c.record) } });
      }
    }
    const caseUpdates = [...newestByCase.entries()];
    if (caseUpdates.length) {
      writes.push({
        method: 'PATCH',
        url: `${this.base}/composite/sobjects`,
        referenceId: 'caseUpdate0',
        body: { allOrNone: false, records: caseUpdates.map(([id, u]) => ({ attributes: { type: 'Case' }, Id: id, ...u.fields })) },
      });
    }
    if (writes.length) {
      const responses = await this.composite(writes);
      for (const r of responses) {
        const saves = r.httpStatusCode < 300 ? (r.body as SaveResult[]) : null;
        const error = saves ? null : fromSalesforceError(firstError(r.body), `writing ${r.referenceId.replace(/\d+$/, '')}`);
        const chunk = Number(/\d+$/.exec(r.referenceId)?.[0] ?? 0) * 200;
        const targets: Array<{ indexes: number[]; what: string }> = r.referenceId.startsWith('taskCreate')
          ? taskCreates.slice(chunk, chunk + 200).map((c) => ({ indexes: [c.index], what: 'Task' }))
          : r.referenceId.startsWith('postCreate')
            ? postCreates.slice(chunk, chunk + 200).map((c) => ({ indexes: [c.index], what: c.type }))
            : caseUpdates.map(([id, u]) => ({ indexes: u.indexes, what: `Case ${id} fields` }));
        targets.forEach((t, k) => {
          const save = saves?.[k];
          const err = error ?? (save && !save.success ? fromSalesforceError(firstError(save.errors), `${t.what}`) : null);
          for (const i of t.indexes) {
            if (results[i] instanceof Error) continue;
            if (err) results[i] = err;
            else notes[i]!.push(t.what === 'Task' || t.what === 'CaseComment' || t.what === 'FeedItem' ? `${t.what} ${save?.id} created` : `${t.what} updated`);
          }
        });
      }
    }
    log.debug({ sessions: items.length, reads: reads.length, writes: writes.length }, 'salesforce batch written');
    return items.map((w, i): ApplyResult | Error => {
      const r = results[i];
      if (r) return r;
      const said = notes[i]!.join('; ');
      if (notes[i]!.some((n) => /created|updated/.test(n))) return { status: 'delivered', detail: `on ${w.object} ${w.recordId}: ${said}` };
      if (notes[i]!.some((n) => /already there/.test(n))) return { status: 'delivered', detail: `already on ${w.object} ${w.recordId}: ${said}; nothing written twice` };
      if (notes[i]!.some((n) => /kept/.test(n))) return { status: 'skipped', reason: `superseded: ${said}` };
      return { status: 'skipped', reason: 'nothing to write: the mapping writes no Task, comment or field for this record' };
    });
  }
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
  slowdownAt: number;
  pauseAt: number;
}

export async function createSalesforceTarget(settings: SalesforceSettings, log: Logger): Promise<SalesforceTarget> {
  const mapping = loadMapping(settings.mappingFile);
  const { conn } = await connect(settings.auth);
  const target = new SalesforceTarget({
    conn,
    mapping,
    batchSize: settings.batchSize,
    batchWaitMs: settings.batchWaitMs,
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
