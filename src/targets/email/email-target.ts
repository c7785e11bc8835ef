// The e-mail target: one templated e-mail per session version to the helpdesk's inbound
// address (MAIL_TO), with the ticket's token where that helpdesk looks for it, and
// In-Reply-To/References when earlier Message-IDs of the ticket are known. The Message-ID is
// derived from the session version, and the version is claimed in Redis (a lease, renewed
// while the e-mail is in flight) and then marked sent, so a retried job does not send the same
// update twice: only an attempt cut short between the server taking the e-mail and the mark
// leads to a second one, under the same Message-ID (README: the at-least-once window). Agent
// text never reaches a header: the subject is one line from the template (CR/LF removed again
// here) and nodemailer encodes headers.
import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import type { Enrichment, TicketUpdate, RenderedNote } from '../../domain/types.ts';
import { SyncError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { ApplyContext, ApplyResult, Target, TargetState } from '../target.ts';
import { decideWrite } from '../../domain/enrich/decide.ts';
import { makeOurMessageId } from '../../domain/mail/message-id.ts';
import { withoutCredentials } from '../../domain/ticket/match.ts';
import { messageDomain, singleAddress } from './address.ts';
import type { Claim, MailStore, SessionVersion } from '../../store/mail-store.ts';
import { escapeHtml } from '../../render/sanitise.ts';
import { fromSmtpError } from './smtp-errors.ts';
import { placeToken, tokenProblem } from './token.ts';
import type { TokenStyle } from './token.ts';

export interface EmailTargetOptions {
  transport: Transporter;
  /** what was sent and claimed, shared with the mailbox reader (src/store/mail-store.ts) */
  store: MailStore;
  from: string;
  to: string;
  tokenStyle: TokenStyle;
  tokenPrefix: string;
  attachMetadata: boolean;
  includeSecured: boolean;
  /** MAIL_ID_SECRET (tags our Message-IDs), or null */
  idSecret: string | null;
  log: Logger;
}

/** Our Message-ID for a session version (see makeOurMessageId): the same for every attempt. */
export function messageIdFor(e: Pick<Enrichment, 'sessionKey' | 'version'>, from: string, generation = 0, secret: string | null = null): string {
  return makeOurMessageId(e.sessionKey, Date.parse(e.version), messageDomain(from), generation, secret);
}

/** What an attempt that takes over an interrupted one says (the job's reason, the log). */
export const INTERRUPTED = 'an earlier attempt of this version was interrupted; it is resent under the same Message-ID';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function oneLine(s: string): string {
  return s.replace(/[\r\n\t\u2028\u2029]+/g, ' ').trim();
}

export class EmailTarget implements Target {
  readonly name = 'email';
  private readonly o: EmailTargetOptions;
  readonly store: MailStore;
  private refusals: { count: number; lastAt: string | null; last: string | null } = { count: 0, lastAt: null, last: null };

  constructor(o: EmailTargetOptions) {
    this.o = o;
    this.store = o.store;
  }

  state(): TargetState {
    return { refusals: { ...this.refusals } };
  }

  async apply(e: TicketUpdate, note: RenderedNote, ctx: ApplyContext = {}): Promise<ApplyResult> {
    const problem = tokenProblem(this.o.tokenStyle, e.ticket.id);
    if (problem) throw new SyncError('TARGET_CONFIG', problem);
    const store = this.store;
    const base = messageIdFor(e, this.o.from, 0, this.o.idSecret);
    const messageId = messageIdFor(e, this.o.from, await store.generation(base), this.o.idSecret);
    // Claim the version before sending: a second attempt (a worker that took over a stalled
    // job, a re-run while the first is still sending) waits instead of sending it again, and so
    // does another version of the session while one is being sent. A version older than one
    // already sent to the ticket is not sent: an e-mail cannot be taken back, and the thread's
    // latest word must stay the latest state (a late file, or a replay of an older e-mail that
    // came back once a newer one got through).
    const version: SessionVersion = { ticketId: e.ticket.id, sessionKey: e.sessionKey, ms: Date.parse(e.version) };
    const claim = await this.claimInTurn(messageId, version, e);
    if (claim.state === 'superseded') {
      const d = decideWrite({ version: new Date(claim.newestMs).toISOString() }, e.version);
      return { status: 'skipped', reason: d.action === 'skip' ? d.reason : `superseded by version ${new Date(claim.newestMs).toISOString()}` };
    }
    if (claim.state === 'sent') {
      return { status: 'delivered', detail: `e-mail ${messageId} was already sent for this version (${claim.sentAt}); nothing sent twice` };
    }
    // The claim lapsed without being marked sent: the attempt that held it stopped (its process
    // died, or froze for a whole lease) while sending, before or after the server took the
    // e-mail. Sent again, under the same Message-ID (README: at least once, in that window).
    const interrupted = claim.interrupted ? INTERRUPTED : null;
    if (interrupted) this.o.log.warn({ messageId, session: e.sessionKey, ticket: e.ticket.id, job: ctx.jobId }, interrupted);
    // The claim is a lease, renewed while the e-mail is in flight: a process that dies here
    // lets the version go after MAIL_CLAIM_LEASE_MS, not later.
    const hold = store.holdClaim(messageId, version, () =>
      this.o.log.warn(
        { messageId, session: e.sessionKey, ticket: e.ticket.id, job: ctx.jobId },
        'the claim on this e-mail lapsed while it was being sent (no renewal for a whole lease) and another attempt took the version over: the helpdesk may receive it twice, under the same Message-ID',
      ),
    );
    // from here until it is marked sent, whatever fails gives the claim (and the session's lock) back
    let known: string[];
    try {
      known = await this.send(e, note, ctx, messageId);
    } catch (err) {
      hold.stop();
      await store.release(messageId, version).catch(() => undefined);
      throw err;
    }
    hold.stop();
    await store.markSent(messageId, { sessionKey: e.sessionKey, version: e.version, ticketId: e.ticket.id, jobId: ctx.jobId ?? null, sentAt: new Date().toISOString() }, version);
    const detail = `e-mail ${messageId} sent to the helpdesk${known.length ? ` (in reply to ${known[0]})` : ''}`;
    return { status: 'delivered', detail: interrupted ? `${detail}; ${interrupted}` : detail };
  }

  /**
   * Claims the version, waiting while another attempt holds a live claim on it (or on another
   * version of the session): a claim's lease is renewed only while its holder runs, so a claim
   * left by a process that died lapses within MAIL_CLAIM_LEASE_MS and is taken over here, in
   * this attempt; waiting never uses up one of the job's attempts. Only a holder that keeps
   * renewing for two leases (really sending, slowly) makes this attempt fail with TARGET_BUSY,
   * to be retried.
   */
  private async claimInTurn(messageId: string, version: SessionVersion, e: TicketUpdate): Promise<Exclude<Claim, { state: 'sending' | 'busy' }>> {
    const started = Date.now();
    const until = started + 2 * this.store.claimLeaseMs;
    for (;;) {
      const claim = await this.store.claim(messageId, version);
      if (claim.state !== 'sending' && claim.state !== 'busy') return claim;
      const left = until - Date.now();
      if (left <= 0) {
        const waited = `waited ${Math.round((Date.now() - started) / 1000)} s`;
        if (claim.state === 'busy') {
          throw new SyncError('TARGET_BUSY', `another version of ${e.sessionKey} is being sent to ticket ${e.ticket.id} (its claim is live, renewed by the attempt sending it); this one ${waited} and waits its turn`);
        }
        throw new SyncError('TARGET_BUSY', `e-mail ${messageId} is being sent by another attempt of this version (its claim is live, renewed by the attempt sending it); this one ${waited} and waits its turn`);
      }
      // look again soon after the holder's lease would lapse, and at least every second (the
      // holder may finish first)
      await sleep(Math.min(claim.leaseLeftMs + 25, 1_000, left));
    }
  }

  /** Composes and sends the claimed e-mail; the Message-IDs it replies to. */
  private async send(e: TicketUpdate, note: RenderedNote, ctx: ApplyContext, messageId: string): Promise<string[]> {
    const store = this.store;
    const [threadIds, learned] = await Promise.all([store.threadIds(e.ticket.id), store.tokens(e.ticket.id)]);
    const known = threadIds.filter((id) => id !== messageId);
    if (this.o.tokenStyle === 'headers-only' && known.length === 0) {
      throw new SyncError(
        'TARGET_CONFIG',
        `MAIL_TOKEN_STYLE=headers-only needs an earlier e-mail of ticket ${e.ticket.id} to reply to, and none is known: without a token or a reply header the helpdesk would open a NEW ticket. Use a token style`,
      );
    }
    const placed = placeToken(this.o.tokenStyle, e.ticket.id, oneLine(note.subject), this.o.tokenPrefix);
    // Tokens the helpdesk's own notifications carried for this ticket (a ServiceNow watermark,
    // a Zendesk encoded id) go on the first body line too.
    const bodyLine = [placed.bodyLine, ...learned].filter((t, i, all): t is string => Boolean(t) && all.indexOf(t) === i).join(' ');
    const text = bodyLine ? `${bodyLine}\n\n${note.text}` : note.text;
    const html = bodyLine ? `<p style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#202124">${escapeHtml(bodyLine)}</p>\n${note.html}` : note.html;
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
        // Where the server offers DSN (RFC 3461): report failures and delays only, return the
        // headers alone (a bounce then does not carry the note, and its personal data, back to
        // the mailbox), and name the e-mail by our Message-ID even if no headers come back.
        // (RFC 3461 allows an ENVID of 100 characters: a longer one is left out, not refused)
        dsn: { ...(messageId.length <= 100 ? { id: messageId } : {}), return: 'headers', notify: ['failure', 'delay'], recipient: singleAddress(this.o.to) ?? this.o.to },
        attachments:
          this.o.attachMetadata && ctx.document
            ? [{ filename: `metadata_${e.sessionKey}.json`, content: this.attachable(ctx.document, e), contentType: 'application/json' }]
            : [],
      });
    } catch (err) {
      const se = fromSmtpError(err);
      // a refusal is the server answering no (a reply code, refused credentials), not an unreachable server
      const e = err as { responseCode?: unknown; code?: unknown };
      if (typeof e?.responseCode === 'number' || e?.code === 'EAUTH') this.refusals = { count: this.refusals.count + 1, lastAt: new Date().toISOString(), last: se.message };
      throw se;
    }
    return known;
  }

  /** The original document, less what the settings keep off the ticket. */
  private attachable(document: string, e: TicketUpdate): string {
    const doc = JSON.parse(document) as Record<string, unknown>;
    if (!this.o.includeSecured) delete doc.custom_data_secured;
    // a user name and password in the ticket link are never sent (nor stored, nor shown)
    if (typeof doc.out_ticket_url === 'string') doc.out_ticket_url = withoutCredentials(doc.out_ticket_url);
    if (e.fields.recording_url === null) {
      delete doc.recording_url;
      delete doc.recordings;
    }
    return JSON.stringify(doc, null, 2);
  }

  async close(): Promise<void> {
    this.o.transport.close();
  }
}

/** What the composition root gives the e-mail target (the SMTP_* and MAIL_* settings). */
export interface EmailSettings {
  smtpUrl: string | undefined;
  from: string | undefined;
  to: string | undefined;
  tokenStyle: TokenStyle;
  tokenPrefix: string;
  attachMetadata: boolean;
  includeSecured: boolean;
  idSecret: string | null;
  maxPerSecond: number;
}

export function createEmailTarget(settings: EmailSettings, store: MailStore, log: Logger): EmailTarget {
  if (!settings.smtpUrl || !settings.from || !settings.to) {
    throw new SyncError('CONFIG_INVALID', 'invalid configuration:\n  - CRM=email needs SMTP_URL, MAIL_FROM and MAIL_TO');
  }
  const bad = [
    singleAddress(settings.from) ? null : `MAIL_FROM: "${settings.from}" is not one e-mail address`,
    singleAddress(settings.to) ? null : `MAIL_TO: "${settings.to}" is not one e-mail address`,
  ].filter(Boolean);
  if (bad.length) throw new SyncError('CONFIG_INVALID', `invalid configuration:\n  - ${bad.join('\n  - ')}`);
  const u = new URL(settings.smtpUrl);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  const transport = nodemailer.createTransport({
    host: u.hostname,
    port: Number(u.port || (u.protocol === 'smtps:' ? 465 : 587)),
    secure: u.protocol === 'smtps:',
    // smtp:// to a remote server must upgrade with STARTTLS: never send the login in clear
    requireTLS: u.protocol === 'smtp:' && !loopback,
    auth: u.username ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } : undefined,
    // pooled and rate-limited: helpdesks throttle senders that burst
    pool: true,
    maxConnections: 2,
    rateDelta: 1000,
    rateLimit: settings.maxPerSecond,
  });
  return new EmailTarget({
    transport,
    store,
    from: settings.from,
    to: settings.to,
    tokenStyle: settings.tokenStyle,
    tokenPrefix: settings.tokenPrefix,
    attachMetadata: settings.attachMetadata,
    includeSecured: settings.includeSecured,
    idSecret: settings.idSecret,
    log,
  });
}
