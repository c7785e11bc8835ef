// The one place that reaches into nodemailer's internals: its RFC 5322 address parser
// (`nodemailer/lib/addressparser`) is the one nodemailer itself sends with, and nodemailer
// exports no API for it. Reading `Name <a@b>` the way the sender will is the point; if an
// upgrade moves the module, only this file changes.
import addressparser from 'nodemailer/lib/addressparser';

/** The addresses in a header value such as `Name <a@b.com>, c@d`, groups flattened. */
export function parseAddresses(value: string): Array<{ address?: string; name?: string }> {
  return addressparser(value, { flatten: true }) as Array<{ address?: string; name?: string }>;
}
