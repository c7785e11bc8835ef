// A raw RFC 5322 message -> InboundMail (domain/mail/classify.ts), with mailparser. Only the
// parts the classifier needs are kept; attachments stay bytes, links in them are never fetched.
import { simpleParser } from 'mailparser';
import type { AddressObject, HeaderValue } from 'mailparser';
import type { InboundMail } from '../../domain/mail/classify.ts';

export async function parseMail(raw: Buffer): Promise<InboundMail> {
  const m = await simpleParser(raw, { skipHtmlToText: false, skipTextToHtml: true, skipImageLinks: true });
  const headers: Record<string, string> = {};
  for (const [name, value] of m.headers) headers[name] = headerText(value);
  const ct = m.headers.get('content-type') as { value?: string; params?: Record<string, string> } | string | undefined;
  const contentType = typeof ct === 'string' ? ct : (ct?.value ?? 'text/plain');
  const reportType = typeof ct === 'object' ? (ct.params?.['report-type'] ?? null) : null;
  const from = (m.from as AddressObject | undefined)?.value?.[0]?.address?.toLowerCase() ?? null;
  return {
    messageId: m.messageId ?? null,
    from,
    subject: m.subject ?? '',
    inReplyTo: ids(m.inReplyTo),
    references: ids(m.references),
    headers,
    contentType: contentType.toLowerCase(),
    reportType,
    text: m.text ?? '',
    // The whole message is bounded by IMAP_MAX_MESSAGE_BYTES; each document by MAX_FILE_BYTES at intake.
    parts: m.attachments.map((a) => ({ contentType: a.contentType.toLowerCase(), filename: a.filename ?? null, content: a.content })),
  };
}

function ids(v: string | string[] | undefined): string[] {
  if (!v) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((s) => s.match(/<[^<>\s]+>/g) ?? []);
}

function headerText(v: HeaderValue): string {
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ');
  if (v && typeof v === 'object' && 'text' in v) return String((v as { text: unknown }).text);
  if (v && typeof v === 'object' && 'value' in v) return String((v as { value: unknown }).value);
  return String(v);
}
