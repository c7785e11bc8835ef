// What an admin decides about enrichment (RECORDING_LINK, INCLUDE_SECURED_CUSTOM_DATA), and the
// recording link policy applied to a session. Pure.
import type { Session } from '../types.ts';
import { httpUrl, humanise, oneLine, text } from './format.ts';

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

export interface RecordingLinkDecision {
  /** the link to write, or null */
  url: string | null;
  /** why a link the file carries is not written, e.g. `withheld: the caller denied recording` */
  withheld: string | null;
  /** the same as a code, for templates in other languages */
  withheldReason: WithheldReason | null;
}

/** Why a recording link is withheld: not http(s), the caller denied, links off, permission not granted. */
export type WithheldReason = 'not_http' | 'denied' | 'links_off' | 'not_granted';

export function decideRecordingLink(
  recording: Session['recording'],
  policy: RecordingLinkPolicy,
): RecordingLinkDecision {
  const raw = text(recording.url);
  if (raw === null) return { url: null, withheld: null, withheldReason: null };
  const url = httpUrl(raw);
  if (url === null) return { url: null, withheld: 'withheld: the recording link is not an http(s) address', withheldReason: 'not_http' };
  const permission = oneLine(recording.permission)?.toLowerCase() ?? null;
  if (permission === 'denied' && policy !== 'never') {
    return { url: null, withheld: 'withheld: the caller denied recording', withheldReason: 'denied' };
  }
  if (policy === 'never') return { url: null, withheld: 'withheld: recording links are turned off for this integration', withheldReason: 'links_off' };
  if (policy === 'granted-only' && permission !== 'granted') {
    const was = permission === null ? 'not in the file' : `"${humanise(permission)}"`;
    return {
      url: null,
      withheld: `withheld: recording permission was ${was}; links are written only when the caller granted it`,
      withheldReason: 'not_granted',
    };
  }
  return { url, withheld: null, withheldReason: null };
}
