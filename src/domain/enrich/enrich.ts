// What gets written on the ticket for one session version. Pure: a function of the parsed
// session, the matched ticket and two admin options; no I/O, no clock, so the same file
// always gives the same fields and the same note (targets rely on that for idempotency).
//
// Two outputs (see templates/README.md for the full list an admin can use):
//   - `fields`: the latest state of the session, under stable snake_case names an admin maps
//     to CRM fields. Every name is always present; null when the file does not carry it.
//   - `view`: what the note templates render. It covers everything the file carries that the
//     product specification lists (docs: "What the product's specification lists as the
//     file's content") and OMITS what the file does not carry: a key is present only when
//     there is something to show, so `{% if csat %}` in a template is enough to drop a
//     section. (Liquid treats "" and [] as true, hence no empty strings or lists in the view.)
//
// Rules from the docs applied here:
//   - "Secured" custom data is never written unless the admin opts in
//     (`includeSecuredCustomData`); it never appears in `fields` at all.
//   - Recording links follow the admin's policy and the caller's recording permission.
//   - Every string taken from the file is user text: control characters are removed here
//     (and again by the renderer, which also escapes HTML).
import type { Enrichment, InputWarning, Session, TicketRef } from '../types.ts';
import { buildFields, limitFields } from './fields.ts';
import { httpUrl, humanise, oneLine, text } from './format.ts';
import { buildView } from './view.ts';

/**
 * `unless-denied`: link the recording unless the caller denied recording;
 * `granted-only`: link it only when the caller granted permission; `never`: never link it.
 */
export type RecordingLinkPolicy = 'unless-denied' | 'granted-only' | 'never';

export interface EnrichOptions {
  recordingLink: RecordingLinkPolicy;
  /** write `custom_data_secured` into the note view (never into fields) */
  includeSecuredCustomData: boolean;
}

export const DEFAULT_ENRICH_OPTIONS: EnrichOptions = Object.freeze({
  recordingLink: 'unless-denied',
  includeSecuredCustomData: false,
});

export function enrich(session: Session, ticket: TicketRef, opts: EnrichOptions = DEFAULT_ENRICH_OPTIONS): Enrichment {
  const recording = decideRecordingLink(session.recording, opts.recordingLink);
  const warnings: InputWarning[] = [];
  return {
    ticket,
    sessionKey: session.key,
    version: session.version,
    fields: limitFields(buildFields(session, recording), warnings),
    view: buildView(session, ticket, recording, opts),
    warnings,
  };
}

// ---------------------------------------------------------------------------------------
// Recording link policy

export interface RecordingLinkDecision {
  /** the link to write, or null */
  url: string | null;
  /** why a link the file carries is not written, e.g. `withheld: the caller denied recording` */
  withheld: string | null;
}

export function decideRecordingLink(
  recording: Session['recording'],
  policy: RecordingLinkPolicy,
): RecordingLinkDecision {
  const raw = text(recording.url);
  if (raw === null) return { url: null, withheld: null };
  const url = httpUrl(raw);
  if (url === null) return { url: null, withheld: 'withheld: the recording link is not an http(s) address' };
  const permission = oneLine(recording.permission)?.toLowerCase() ?? null;
  if (permission === 'denied' && policy !== 'never') {
    return { url: null, withheld: 'withheld: the caller denied recording' };
  }
  if (policy === 'never') return { url: null, withheld: 'withheld: recording links are turned off for this integration' };
  if (policy === 'granted-only' && permission !== 'granted') {
    const was = permission === null ? 'not in the file' : `"${humanise(permission)}"`;
    return {
      url: null,
      withheld: `withheld: recording permission was ${was}; links are written only when the caller granted it`,
    };
  }
  return { url, withheld: null };
}
