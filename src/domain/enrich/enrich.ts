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
import { DEFAULT_ENRICH_OPTIONS, decideRecordingLink } from './options.ts';
import type { EnrichOptions } from './options.ts';
import { buildView } from './view.ts';

/**
 * `storedFiles`: the session's own files its source listed beside the metadata
 * (`call-1418.wav`, `chat-135.txt`), named on the note.
 */
export function enrich(session: Session, ticket: TicketRef, opts: EnrichOptions = DEFAULT_ENRICH_OPTIONS, storedFiles: readonly string[] = []): Enrichment {
  const recording = decideRecordingLink(session.recording, opts.recordingLink);
  const warnings: InputWarning[] = [];
  return {
    ticket,
    sessionKey: session.key,
    version: session.version,
    fields: limitFields(buildFields(session, recording), warnings),
    view: buildView(session, ticket, recording, opts, storedFiles),
    warnings,
  };
}

