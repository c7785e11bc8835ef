// Freshdesk ticket links. Pure. Recognised on *.freshdesk.com only:
//   /a/tickets/{n}           the agent interface
//   /helpdesk/tickets/{n}    the legacy agent interface
//   /support/tickets/{n}     the customer portal
//   /api/v2/tickets/{n}      the API
// Ids are ticket numbers.
import type { CrmRecogniser, RecordLink } from './recogniser.ts';
import { hostIn, pathSegments, readTicketNumber } from './recogniser.ts';

function isVendorHost(host: string): boolean {
  return hostIn(host, 'freshdesk.com');
}

function readUrl(url: URL): RecordLink | null {
  if (!isVendorHost(url.hostname)) return null;
  const seg = pathSegments(url);
  let n: string | undefined;
  if ((seg[0] === 'a' || seg[0] === 'helpdesk' || seg[0] === 'support') && seg[1] === 'tickets') n = seg[2];
  else if (seg[0] === 'api' && seg[1] === 'v2' && seg[2] === 'tickets') n = seg[3];
  return n !== undefined && /^\d+$/.test(n) ? { rawId: n, object: 'ticket' } : null;
}

export const freshdesk: CrmRecogniser = {
  system: 'freshdesk',
  label: 'Freshdesk',
  noun: 'ticket',
  isVendorHost,
  readUrl,
  readId: (id) => readTicketNumber(id, 'Freshdesk'),
};
