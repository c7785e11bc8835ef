// What the mailbox reader does with each message, once classified (domain/mail/classify.ts):
// metadata documents go into the same pipeline as files; a bounce marks the session it was
// about failed with the bounce's reason; a helpdesk reply either shows the e-mail split off a
// NEW ticket (a threading miss) or is remembered so later e-mails thread on its Message-ID too.
// Every branch is idempotent: the same message handled twice (a dropped connection, a crash
// before the mailbox was updated) changes nothing the second time.
import { classifyMail, sameTicket } from '../domain/mail/classify.ts';
import { baseMessageId } from '../domain/mail/message-id.ts';
import type { ClassifyOptions, InboundMail } from '../domain/mail/classify.ts';
import type { OurMessageId } from '../domain/mail/message-id.ts';
import type { Logger } from '../logger.ts';
import type { StatusStore } from '../store/status-store.ts';
import { keepRejectedCopy, reasonFor } from '../sources/rejected.ts';
import type { RejectionReason } from '../sources/rejected.ts';
import type { MailStore, Returned, SentRecord } from '../store/mail-store.ts';
import type { SubmitResult } from './submit.ts';

/** What the mailbox should do with the message now that its work is safely done. */
export interface MailDisposition {
  /** done: mark seen (or move to the processed folder); reject: move to the rejected folder; leave: not ours, untouched */
  action: 'done' | 'reject' | 'leave';
  kind: 'metadata' | 'bounce' | 'delay' | 'notification' | 'thread-miss' | 'too-large' | 'other';
  reason: string;
}

export interface MailIntakeDeps {
  classify: ClassifyOptions;
  submit(bytes: Uint8Array, source: string, opts: { discovered: boolean }): Promise<SubmitResult>;
  status: StatusStore;
  store: MailStore;
  rejectedDir: string;
  log: Logger;
}

export interface RawMail {
  /** `imap:INBOX/42` */
  source: string;
  size: number;
  /** null when it was not downloaded */
  raw: Buffer | null;
}

export async function handleMail(deps: MailIntakeDeps, msg: RawMail, mail: InboundMail): Promise<MailDisposition> {
  const v = classifyMail(mail, deps.classify);
  switch (v.kind) {
    case 'metadata': {
      let queued = 0;
      const problems: string[] = [];
      for (const doc of v.documents) {
        const source = `${msg.source}/${doc.name}`;
        const r = await deps.submit(doc.bytes, source, { discovered: false });
        if (r.status === 'rejected' && r.intake.status === 'rejected') {
          const p = r.intake.problem;
          const kept = await keepRejectedCopy(deps.rejectedDir, reasonFor(source, p, r.session), doc.bytes);
          deps.log.warn({ source, code: p.code, field: p.field, session: r.session, kept }, 'metadata e-mail document rejected');
          problems.push(`${doc.name}: ${p.code}: ${p.message}`);
        } else {
          queued++;
          deps.log.info({ source, session: r.session, status: r.status, job: r.jobId }, 'metadata e-mail document accepted');
        }
      }
      if (queued === 0) return { action: 'reject', kind: 'metadata', reason: problems.join('; ') };
      return { action: 'done', kind: 'metadata', reason: `${queued} document(s) queued${problems.length ? `; rejected: ${problems.join('; ')}` : ''}` };
    }
    case 'bounce': {
      const rec = await deps.store.sent(v.original.messageId);
      const session = sessionOf(v.original, rec);
      if (!v.final) {
        deps.log.info({ session: session.key, messageId: v.original.messageId }, `delivery report, not a failure: ${v.reason}`);
        return { action: 'done', kind: 'delay', reason: v.reason };
      }
      if (rec && !(await deps.store.markBounced(v.original.messageId, rec, v.reason))) {
        return { action: 'done', kind: 'bounce', reason: `already recorded: ${v.reason}` };
      }
      await deps.status.record(
        session.key,
        { state: 'failed', version: session.version, ticket: rec?.ticketId ?? null, reason: `bounced: ${v.reason}`, code: 'TARGET_BOUNCED', source: msg.source, jobId: rec?.jobId ?? null },
        { unlessNewer: true },
      );
      if (rec?.jobId) await deps.store.markReturned(rec.jobId, returnedOf(v.original.messageId, rec));
      deps.log.warn({ session: session.key, ticket: rec?.ticketId, messageId: v.original.messageId }, 'e-mail bounced; session marked failed');
      return { action: 'done', kind: 'bounce', reason: v.reason };
    }
    case 'reply': {
      const rec = v.original ? await deps.store.sent(v.original.messageId) : null;
      const what = v.auto ? 'auto-reply' : 'reply';
      if (rec && ((v.subjectTicket !== null && !sameTicket(v.subjectTicket, rec.ticketId)) || (v.subjectTicket === null && v.auto && v.announcesNew))) {
        const reason = `the helpdesk opened a NEW ticket${v.subjectTicket ? ` ${v.subjectTicket}` : ''} instead of adding this update to ticket ${rec.ticketId} (its ${what} ${mail.messageId ?? 'without a Message-ID'}): check MAIL_TOKEN_STYLE`;
        const latest = (await deps.status.get(rec.sessionKey))?.latest;
        if (!(latest?.code === 'TARGET_THREAD_MISS' && latest.reason === reason)) {
          await deps.status.record(rec.sessionKey, { state: 'failed', version: rec.version, ticket: rec.ticketId, reason, code: 'TARGET_THREAD_MISS', source: msg.source, jobId: rec.jobId }, { unlessNewer: true });
          if (rec.jobId) await deps.store.markReturned(rec.jobId, returnedOf(v.original!.messageId, rec));
        }
        deps.log.warn({ session: rec.sessionKey, ticket: rec.ticketId, newTicket: v.subjectTicket }, 'threading miss: the helpdesk opened a new ticket');
        return { action: 'done', kind: 'thread-miss', reason };
      }
      const ticket = rec?.ticketId ?? (v.subjectTicket && (await deps.store.hasThread(v.subjectTicket)) ? v.subjectTicket : null);
      if (!ticket) return { action: 'leave', kind: 'other', reason: `a ${what} about an e-mail or ticket ccai-crm-sync does not know` };
      await deps.store.remember(ticket, mail.messageId, v.tokens);
      deps.log.info({ ticket, messageId: mail.messageId, tokens: v.tokens.length }, `helpdesk ${what} remembered for threading`);
      return { action: 'done', kind: 'notification', reason: `${what} on ticket ${ticket} remembered for threading` };
    }
    case 'other': {
      // What looked like metadata but cannot be taken gets a reason file (the message itself
      // stays on the server: anyone can send one, so no copy fills the disk); anything else is not ours.
      if (v.keep) {
        const kept = await keepRejected(deps, { ...msg, raw: null }, 'INPUT_NOT_ACCEPTED', v.reason);
        deps.log.warn({ source: msg.source, kept }, `e-mail not processed: ${v.reason.replace(/\S+@\S+/g, '[address]')}`);
        return { action: 'reject', kind: 'other', reason: v.reason };
      }
      return { action: 'leave', kind: 'other', reason: v.reason };
    }
  }
}

/** A message that could not be parsed or handled: the .eml is kept with the reason. */
export async function handleUnreadable(deps: MailIntakeDeps, msg: RawMail, reason: string): Promise<MailDisposition> {
  const kept = await keepRejected(deps, msg, 'INPUT_UNREADABLE', reason);
  deps.log.warn({ source: msg.source, kept, reason }, 'e-mail could not be handled; kept');
  return { action: 'reject', kind: 'other', reason };
}

/** A message over IMAP_MAX_MESSAGE_BYTES: never downloaded; left in the mailbox (or moved) with a reason file. */
export async function handleTooLarge(deps: MailIntakeDeps, source: string, size: number, limit: number): Promise<MailDisposition> {
  const reason = `the message is ${size} bytes, over IMAP_MAX_MESSAGE_BYTES (${limit}); it was not downloaded`;
  const kept = await keepRejected(deps, { source, size, raw: null }, 'INPUT_TOO_LARGE', reason);
  deps.log.warn({ source, size, kept }, 'e-mail too large; left in the mailbox');
  return { action: 'reject', kind: 'too-large', reason };
}

async function keepRejected(deps: MailIntakeDeps, msg: RawMail, code: string, message: string): Promise<string> {
  const reason: RejectionReason = { source: msg.source, code, field: null, message, session: null, rejectedAt: new Date().toISOString() };
  // the message as received, as a .eml file an admin can open (or only the reason, when not downloaded)
  return keepRejectedCopy(deps.rejectedDir, reason, msg.raw, msg.raw ? '.eml' : '');
}

function returnedOf(messageId: string, rec: SentRecord): Returned {
  return { messageId, baseId: baseMessageId(messageId), ticketId: rec.ticketId };
}

function sessionOf(id: OurMessageId, rec: SentRecord | null): { key: string; version: string } {
  return { key: rec?.sessionKey ?? id.sessionKey, version: rec?.version ?? new Date(id.versionMs).toISOString() };
}
