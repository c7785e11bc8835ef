// Zendesk ticket links. Pure. Recognised on *.zendesk.com only:
//   /agent/tickets/{n}          the agent interface (also /agent/tickets/{n}/events, ...)
//   /hc/{locale}/requests/{n}   the Help Center request page, and /hc/requests/{n}
//   /api/v2/tickets/{n}         the API (also {n}.json)
// Ids are ticket numbers.
import type { CrmRecogniser, RecordLink } from './recogniser.ts';
import { hostIn, pathSegments, readTicketNumber } from './recogniser.ts';

function isVendorHost(host: string): boolean {
  return hostIn(host, 'zendesk.com');
}

function readUrl(url: URL): RecordLink | null {
  if (!isVendorHost(url.hostname)) return null;
  const seg = pathSegments(url);
  let n: string | undefined;
  if (seg[0] === 'agent' && seg[1] === 'tickets') n = seg[2];
  else if (seg[0] === 'hc' && seg[1] === 'requests') n = seg[2];
  else if (seg[0] === 'hc' && seg[2] === 'requests') n = seg[3];
  else if (seg[0] === 'api' && seg[1] === 'v2' && seg[2] === 'tickets') n = seg[3]?.replace(/\.json$/, '');
  return n !== undefined && /^\d+$/.test(n) ? { rawId: n, object: 'ticket' } : null;
}

export const zendesk: CrmRecogniser = {
  system: 'zendesk',
  label: 'Zendesk',
  noun: 'ticket',
  isVendorHost,
  readUrl,
  readId: (id) => readTicketNumber(id, 'Zendesk'),
};
