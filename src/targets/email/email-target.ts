// The e-mail target: one templated e-mail per session version to the helpdesk's inbound
// address (MAIL_TO), with the ticket's token where that helpdesk looks for it, and
// In-Reply-To/References when earlier Message-IDs of the ticket are known. The Message-ID is
// derived from the session version and a sent marker is kept in Redis, so a retried job
// never sends the same update twice. Agent text never reaches a header: the subject is one
// line from the template (CR/LF removed again here) and nodemailer encodes headers.
import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import type { Redis } from 'ioredis';
import type { Config } from '../../config.ts';
import type { Enrichment, RenderedNote } from '../../domain/types.ts';
import { SyncError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { ApplyContext, ApplyResult, Target } from '../target.ts';
import { placeToken } from './token.ts';
import type { TokenStyle } from './token.ts';

const THREAD_IDS_KEPT = 20;

export interface EmailTargetOptions {
  transport: Transporter;
  redis: Redis;
  prefix: string;
  from: string;
  to: string;
  tokenStyle: TokenStyle;
  tokenPrefix: string;
  attachMetadata: boolean;
  log: Logger;
}

/** `<ccai.call-1418.1774297018000@example.com>`: the same for every attempt of one version. */
export function messageIdFor(e: Pick<Enrichment, 'sessionKey' | 'version'>, from: string): string {
  const domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'ccai-crm-sync.invalid';
  return `<ccai.${e.sessionKey}.${Date.parse(e.version)}@${domain}>`;
}

function oneLine(s: string): string {
  return s.replace(/[\r\n\t\u2028\u2029]+/g, ' ').trim();
}

export class EmailTarget implements Target {
  readonly name = 'email';
  private readonly o: EmailTargetOptions;

  constructor(o: EmailTargetOptions) {
    this.o = o;
  }

  private key(kind: 'sent' | 'thread', id: string): string {
    return `${this.o.prefix}:email:${kind}:${id}`;
  }

  async apply(e: Enrichment, note: RenderedNote, ctx: ApplyContext = {}): Promise<ApplyResult> {
    const messageId = messageIdFor(e, this.o.from);
    if (await this.o.redis.exists(this.key('sent', messageId))) {
      return { status: 'delivered', detail: `e-mail ${messageId} was already sent for this version; nothing sent twice` };
    }
    const known = await this.o.redis.lrange(this.key('thread', e.ticket.id), 0, THREAD_IDS_KEPT - 1);
    const placed = placeToken(this.o.tokenStyle, e.ticket.id, oneLine(note.subject), this.o.tokenPrefix);
    const text = placed.bodyLine ? `${placed.bodyLine}\n\n${note.text}` : note.text;
    const html = placed.bodyLine ? `<p>${escapeHtml(placed.bodyLine)}</p>\n${note.html}` : note.html;
    try {
      await this.o.transport.sendMail({
        from: this.o.from,
        to: this.o.to,
        subject: oneLine(placed.subject),
        text,
        html,
        messageId,
        ...(known.length ? { inReplyTo: known[0], references: [...known].reverse() } : {}),
        headers: { 'X-CCAI-Session': e.sessionKey, 'X-CCAI-Session-Version': e.version, 'Auto-Submitted': 'auto-generated' },
        attachments:
          this.o.attachMetadata && ctx.document
            ? [{ filename: `metadata_${e.sessionKey}.json`, content: ctx.document, contentType: 'application/json' }]
            : [],
      });
    } catch (err) {
      throw smtpError(err);
    }
    await this.o.redis
      .multi()
      .set(this.key('sent', messageId), new Date().toISOString(), 'EX', 400 * 86_400)
      .lpush(this.key('thread', e.ticket.id), messageId)
      .ltrim(this.key('thread', e.ticket.id), 0, THREAD_IDS_KEPT - 1)
      .exec();
    return { status: 'delivered', detail: `e-mail ${messageId} sent to the helpdesk${known.length ? ` (in reply to ${known[0]})` : ''}` };
  }

  async close(): Promise<void> {
    this.o.transport.close();
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** SMTP errors: 4xx and connection problems retry, 5xx are permanent (the server said no). */
function smtpError(err: unknown): SyncError {
  const e = err as { responseCode?: number; code?: string; message?: string };
  const msg = `SMTP: ${e.message ?? String(err)}`;
  if (typeof e.responseCode === 'number' && e.responseCode >= 500) return new SyncError('TARGET_REJECTED', msg, { cause: err });
  return new SyncError('TARGET_UNAVAILABLE', msg, { cause: err });
}

export function createEmailTarget(config: Config, redis: Redis, log: Logger): EmailTarget {
  if (!config.SMTP_URL || !config.MAIL_FROM || !config.MAIL_TO) {
    throw new SyncError('CONFIG_INVALID', 'invalid configuration:\n  - CRM=email needs SMTP_URL, MAIL_FROM and MAIL_TO');
  }
  const u = new URL(config.SMTP_URL);
  const transport = nodemailer.createTransport({
    host: u.hostname,
    port: Number(u.port || (u.protocol === 'smtps:' ? 465 : 587)),
    secure: u.protocol === 'smtps:',
    auth: u.username ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } : undefined,
    // pooled and rate-limited: helpdesks throttle senders that burst
    pool: true,
    maxConnections: 2,
    rateDelta: 1000,
    rateLimit: config.SMTP_MAX_PER_SECOND,
  });
  return new EmailTarget({
    transport,
    redis,
    prefix: config.QUEUE_PREFIX,
    from: config.MAIL_FROM,
    to: config.MAIL_TO,
    tokenStyle: config.MAIL_TOKEN_STYLE,
    tokenPrefix: config.MAIL_TOKEN_PREFIX,
    attachMetadata: config.MAIL_ATTACH_METADATA,
    log,
  });
}
