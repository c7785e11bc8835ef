// `local-crm close <ticket> [--reason <text>] | reopen <ticket> | closed`: close a ticket of the
// local CRM (it then refuses new notes, TARGET_REJECTED, as a real CRM refuses a closed Case or
// ticket), reopen it, list the closed ones. To see a session fail at the target, fix it and
// replay it without a real CRM. The local CRM is DATA_DIR's, opened as `show` opens it.
import type { Config } from '../config.ts';
import { openLocalCrm } from '../app/targets.ts';
import { SyncError } from '../errors.ts';
import { closeArgumentProblem, localTicketId, shellWord } from '../targets/local/local-crm.ts';
import type { ClosedTicket } from '../targets/local/local-crm.ts';
import { EXIT, printJson } from './context.ts';

export const DEFAULT_CLOSE_REASON = 'closed by an admin';

type LocalCrmCommand = { action: 'close'; ticket: string; reason: string } | { action: 'reopen'; ticket: string } | { action: 'closed' };

export async function localCrmCommand(config: Config, cmd: LocalCrmCommand, opts: { json?: boolean }): Promise<number> {
  if (cmd.action !== 'closed') {
    argument('<ticket>', cmd.ticket, 'ticket id');
    if (cmd.action === 'close') argument('--reason', cmd.reason, 'reason');
  }
  const crm = await openLocalCrm(config);
  try {
    // Closing a ticket of the local CRM changes nothing for a worker writing elsewhere.
    if (config.CRM !== 'local' && cmd.action !== 'closed' && !opts.json) {
      process.stderr.write(`note: CRM=${config.CRM}: the workers of this configuration write to ${config.CRM}, not to the local CRM (${crm.path})\n`);
    }
    switch (cmd.action) {
      case 'close': {
        const { ticket, alreadyClosed } = crm.closeTicket(cmd.ticket, cmd.reason);
        if (opts.json) {
          printJson({ ticket: ticket.ticketId, closed: true, reason: ticket.reason, closedAt: ticket.closedAt, hasRecord: ticket.hasRecord, alreadyClosed });
          return EXIT.ok;
        }
        const given = ticket.ticketId === cmd.ticket.trim() ? '' : ` (given as ${cmd.ticket.trim()})`;
        process.stdout.write(
          alreadyClosed
            ? `ticket ${ticket.ticketId}${given} was already closed (since ${ticket.closedAt}); reason now: ${ticket.reason}\n`
            : `closed ticket ${ticket.ticketId}${given}: ${ticket.reason}\n`,
        );
        if (!ticket.hasRecord) process.stdout.write(`  no record for it in the local CRM yet: the first session that reaches it will be refused\n`);
        process.stdout.write(`  the local CRM now refuses new notes on it (TARGET_REJECTED); reopen it with: ccai-crm-sync local-crm reopen ${shellWord(ticket.ticketId)}\n`);
        return EXIT.ok;
      }
      case 'reopen': {
        const id = localTicketId(cmd.ticket);
        const was = crm.closedTicket(id);
        const reopened = crm.reopenTicket(id);
        if (opts.json) {
          printJson({ ticket: id, reopened, ...(was ? { wasClosed: { reason: was.reason, closedAt: was.closedAt } } : {}) });
        } else if (reopened) {
          process.stdout.write(`reopened ticket ${id} (closed since ${was?.closedAt ?? '?'}: ${was?.reason ?? '?'})\n`);
          process.stdout.write(`  sessions refused while it was closed go to it again after a replay: ccai-crm-sync replay --list, then ccai-crm-sync replay\n`);
        } else {
          process.stderr.write(`ticket ${id} is not closed in the local CRM (${crm.path}): nothing to reopen\n`);
        }
        return reopened ? EXIT.ok : EXIT.problems;
      }
      case 'closed': {
        const closed = crm.closedTickets();
        if (opts.json) {
          printJson({ closed: closed.map(asJson) });
          return EXIT.ok;
        }
        process.stdout.write(`${closed.length} closed ticket(s) in the local CRM (${crm.path})\n`);
        for (const t of closed) {
          process.stdout.write(`  ${t.ticketId.padEnd(20)} ${t.closedAt}  ${t.reason}${t.hasRecord ? '' : '  (no record yet)'}\n`);
        }
        return EXIT.ok;
      }
    }
  } finally {
    await crm.close();
  }
}

/** A closed ticket as `closed --json` lists it. */
function asJson(t: ClosedTicket) {
  return { ticket: t.ticketId, reason: t.reason, closedAt: t.closedAt, hasRecord: t.hasRecord };
}

/** A usage error (exit 2) naming the argument, when `value` cannot be a ticket id or a reason. */
function argument(name: string, value: string, what: 'ticket id' | 'reason'): void {
  const problem = closeArgumentProblem(value, what);
  if (problem) throw new SyncError('CONFIG_INVALID', `${name}: ${problem}`);
}
