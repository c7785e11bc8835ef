// Addresses in the e-mail settings (MAIL_FROM, MAIL_TO). Apart from the e-mail target so that
// the mailbox reader can use them without loading nodemailer's transport.
// The one place that reaches into nodemailer's internals: its RFC 5322 address parser
// (`nodemailer/lib/addressparser`) is the one nodemailer itself sends with, and nodemailer
// exports no API for it. Reading `Name <a@b>` the way the sender will is the point; if an
// upgrade moves the module, only this file changes.
import addressparser from 'nodemailer/lib/addressparser';

/** The one address in a setting such as `Name <a@b.com>`, or null. */
export function singleAddress(value: string): string | null {
  const list = addressparser(value, { flatten: true }) as Array<{ address?: string }>;
  return list.length === 1 && list[0]!.address && /^[^@\s]+@[^@\s]+$/.test(list[0]!.address) ? list[0]!.address : null;
}

/** The domain of our Message-IDs: MAIL_FROM's. */
export function messageDomain(from: string): string {
  return (singleAddress(from) ?? 'x@ccai-crm-sync.invalid').split('@')[1]!.toLowerCase();
}
