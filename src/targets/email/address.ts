// Addresses in the e-mail settings (MAIL_FROM, MAIL_TO). Apart from the e-mail target so that
// the mailbox reader can use them without loading nodemailer's transport.
import { parseAddresses } from './nodemailer-internals.ts';

/** The one address in a setting such as `Name <a@b.com>`, or null. */
export function singleAddress(value: string): string | null {
  const list = parseAddresses(value);
  return list.length === 1 && list[0]!.address && /^[^@\s]+@[^@\s]+$/.test(list[0]!.address) ? list[0]!.address : null;
}

/** The domain of our Message-IDs: MAIL_FROM's. */
export function messageDomain(from: string): string {
  return (singleAddress(from) ?? 'x@ccai-crm-sync.invalid').split('@')[1]!.toLowerCase();
}
