// The mailbox reader (IMAP_URL) wired to an app: its own module, so that a worker without a
// mailbox never loads imapflow and mailparser (about 30 MB of a worker's memory).
import { join } from 'node:path';
import { parseAllowedSenders } from '../domain/mail/classify.ts';
import { SyncError } from '../errors.ts';
import type { App } from './app.ts';
import { handleMail, handleTooLarge, handleUnreadable } from '../pipeline/mail-intake.ts';
import type { MailDisposition, MailIntakeDeps } from '../pipeline/mail-intake.ts';
import { startMailbox } from '../sources/imap/mailbox.ts';
import type { MailboxReader } from '../sources/imap/mailbox.ts';
import { parseMail } from '../sources/imap/parse-mail.ts';
import { messageDomain, singleAddress } from '../targets/email/address.ts';

/**
 * The mailbox reader (IMAP_URL): metadata e-mails into the queue, bounces and helpdesk replies
 * onto the sessions and threads they are about. Works with any target.
 */
export function startMailReader(app: App, onMail?: (d: MailDisposition) => void): MailboxReader {
  const { config } = app;
  if (!config.imap) throw new SyncError('CONFIG_INVALID', 'no mailbox configured: set IMAP_URL');
  const log = app.log.child({ component: 'mailbox' });
  const helpdesk = config.MAIL_TO ? singleAddress(config.MAIL_TO) : null;
  const deps: MailIntakeDeps = {
    classify: {
      ourDomain: config.MAIL_FROM && singleAddress(config.MAIL_FROM) ? messageDomain(config.MAIL_FROM) : null,
      idSecret: config.MAIL_ID_SECRET ?? null,
      allowedSenders: parseAllowedSenders(config.IMAP_ALLOWED_SENDERS),
      helpdeskSenders: parseAllowedSenders(config.IMAP_HELPDESK_SENDERS ?? (helpdesk ? `@${helpdesk.split('@')[1]}` : '')),
      tokenStyle: config.MAIL_TOKEN_STYLE,
      tokenPrefix: config.MAIL_TOKEN_PREFIX,
    },
    submit: app.submit,
    status: app.status,
    store: app.mailStore,
    rejectedDir: join(config.dataDir, 'rejected'),
    log,
  };
  return startMailbox({
    settings: config.imap,
    pollMs: config.IMAP_POLL_MS,
    idle: config.IMAP_IDLE,
    watchdogMs: config.IMAP_WATCHDOG_MS ?? 2 * config.IMAP_POLL_MS + 30_000,
    maxMessageBytes: config.IMAP_MAX_MESSAGE_BYTES,
    processedFolder: config.IMAP_PROCESSED_FOLDER ?? null,
    start: config.IMAP_START,
    rejectedFolder: config.IMAP_REJECTED_FOLDER ?? null,
    state: app.mailboxState,
    async handle(source, size, raw) {
      let mail;
      try {
        mail = await parseMail(raw);
      } catch (err) {
        return handleUnreadable(deps, { source, size, raw }, `the message cannot be parsed: ${(err as Error).message}`);
      }
      return handleMail(deps, { source, size, raw }, mail);
    },
    tooLarge: (source, size) => handleTooLarge(deps, source, size, config.IMAP_MAX_MESSAGE_BYTES),
    // the message stays on the server either way (marked or moved aside): nothing is lost
    unhandled: (source, size, raw, reason) =>
      handleUnreadable(deps, { source, size, raw }, reason).catch((err: Error) => {
        log.error({ source, err: err.message }, 'e-mail could not be handled nor kept; marked rejected on the server');
        return { action: 'reject' as const, kind: 'other' as const, reason: `${reason} (not kept: ${err.message})` };
      }),
    onMail,
    log,
  });
}
