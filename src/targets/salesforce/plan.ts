// From what the domain decided (an Enrichment and its rendered note) to Salesforce records.
// Pure: no connection here, so every mapping rule is a unit test.
import { cutText, cutUtf8 } from '../../domain/text-cut.ts';
import type { FieldValue, RenderedNote, TicketUpdate } from '../../domain/types.ts';
import type { Mapping } from './mapping.ts';

/** Salesforce limits (docs/crm-targets.md, "Where session details can go on a Case"). */
export const LIMITS = { taskDescription: 32_000, caseCommentBytes: 4_000, feedItemBody: 10_000, subject: 255, callDisposition: 255 } as const;

/** A post on the Case: a CaseComment or a FeedItem, found again by the marker on its first line. */
export interface Post {
  type: 'CaseComment' | 'FeedItem';
  bodyField: 'CommentBody' | 'Body';
  record: Record<string, FieldValue>;
}

export interface SessionWrite {
  /** Task.CallObject: the session version's key, our idempotency key in Salesforce */
  callObject: string;
  recordId: string;
  /** the record's object, `Case` unless the file pointed at another record */
  object: string;
  version: string;
  task: Record<string, FieldValue> | null;
  /** Case field values, written only when this version is the newest seen on the Case */
  caseFields: Record<string, FieldValue> | null;
  posts: Post[];
  /** what was cut to fit a field's limit (`Task.Description: cut to 32,000 characters, 8,200 left out`), for the log */
  cuts: string[];
}

/** The length of each mapped text field, by `Object.Field` (from the start-up describe), to cut values that would not fit. */
export type FieldLengths = ReadonlyMap<string, number>;

/** CaseComment and FeedItem have no external id: this marker opens every post we write, to find it again. */
export function commentMarker(callObject: string): string {
  return `[ccai ${callObject}]`;
}

export function callObjectFor(e: Pick<TicketUpdate, 'sessionKey' | 'version'>): string {
  return `${e.sessionKey}@${e.version}`;
}

/** Cuts `text` for `place` (`… (N characters more)`), noting it in `cuts` when something was left out. */
function fit(text: string, place: string, max: number, cuts: string[], unit: 'characters' | 'bytes' = 'characters'): string {
  const c = unit === 'bytes' ? cutUtf8(text, max) : cutText(text, max);
  if (c.removed > 0) cuts.push(`${place}: cut to ${max.toLocaleString('en-US')} ${unit}, ${c.removed.toLocaleString('en-US')} characters left out`);
  return c.text;
}

/** Mapped values as Salesforce takes them: text cut to the field's length where the describe gave one. */
function fitFields(object: string, values: Record<string, FieldValue>, lengths: FieldLengths, cuts: string[]): Record<string, FieldValue> {
  for (const [field, v] of Object.entries(values)) {
    const max = lengths.get(`${object}.${field}`.toLowerCase());
    if (typeof v === 'string' && max !== undefined && max > 0) values[field] = fit(v, `${object}.${field}`, max, cuts);
  }
  return values;
}

function callType(sessionType: FieldValue, kind: FieldValue): string | null {
  if (kind !== 'call') return null;
  const t = String(sessionType ?? '').toLowerCase();
  if (t.includes('outbound')) return 'Outbound';
  if (t.includes('inbound')) return 'Inbound';
  return null;
}

export function planWrite(e: TicketUpdate, note: RenderedNote, m: Mapping, lengths: FieldLengths = new Map()): SessionWrite {
  const f = e.fields;
  const cuts: string[] = [];
  // A record whose object is unknown gets only the Task (WhatId takes most objects); Case
  // fields and comments go only on what is known to be a Case.
  const object = e.ticket.object ?? (e.ticket.id.startsWith('500') ? 'Case' : 'record');
  const callObject = callObjectFor(e);
  let task: Record<string, FieldValue> | null = null;
  if (m.task.enabled) {
    const ended = typeof f.ended_at === 'string' ? f.ended_at : typeof f.started_at === 'string' ? f.started_at : e.version;
    task = {
      // a Contact is linked by WhoId; a Case, an Account or another record by WhatId
      ...(object === 'Contact' || object === 'Lead' ? { WhoId: e.ticket.id } : { WhatId: e.ticket.id }),
      Subject: fit(note.subject, 'Task.Subject', LIMITS.subject, cuts),
      Description: fit(note.text, 'Task.Description', LIMITS.taskDescription, cuts),
      Status: m.task.status,
      ActivityDate: ended.slice(0, 10),
      CallObject: callObject,
      // the call's (or chat's) duration as CCAI reports it (`call_duration`), not handle time
      // (that adds after-call work): handle time is in the description, and a mapping can put
      // `handle_seconds` in a field of its own
      CallDurationInSeconds: typeof f.talk_seconds === 'number' ? Math.round(f.talk_seconds) : null,
      CallDisposition: typeof f.last_disposition === 'string' ? fit(f.last_disposition, 'Task.CallDisposition', LIMITS.callDisposition, cuts) : null,
      CallType: callType(f.session_type, f.session_kind),
    };
    for (const [sf, name] of Object.entries(m.task.fields)) task[sf] = f[name] ?? null;
    for (const k of Object.keys(task)) if (task[k] === null) delete task[k];
    fitFields('Task', task, lengths, cuts);
  }
  const mapped = Object.entries(m.case.fields);
  const caseFields =
    mapped.length > 0 && object === 'Case'
      ? fitFields('Case', Object.fromEntries([...mapped.map(([sf, name]) => [sf, f[name] ?? null] as const), [m.case.versionField, e.version]]), lengths, cuts)
      : null;
  const posts: Post[] = [];
  const body = `${commentMarker(callObject)}\n${note.subject}\n\n${note.text}`;
  if (m.caseComment.enabled && object === 'Case') {
    posts.push({ type: 'CaseComment', bodyField: 'CommentBody', record: { ParentId: e.ticket.id, IsPublished: m.caseComment.isPublished, CommentBody: fit(body, 'CaseComment.CommentBody', LIMITS.caseCommentBytes, cuts, 'bytes') } });
  }
  if (m.feedItem.enabled && object === 'Case') {
    posts.push({ type: 'FeedItem', bodyField: 'Body', record: { ParentId: e.ticket.id, Type: 'TextPost', Body: fit(body, 'FeedItem.Body', LIMITS.feedItemBody, cuts) } });
  }
  return { callObject, recordId: e.ticket.id, object, version: e.version, task, caseFields, posts, cuts };
}
