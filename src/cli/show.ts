// `show <ticket-id> [--json | --html]`: the local CRM record with its notes, as text, as JSON or
// as one standalone HTML page (src/render/record-page.ts says how that page is kept safe).
import type { Config } from '../config.ts';
import { openLocalCrm } from '../app/targets.ts';
import { matchTicket } from '../domain/ticket/match.ts';
import { renderRecordPage } from '../render/record-page.ts';
import { EXIT, printJson } from './context.ts';

export async function showCommand(config: Config, ticketId: string, opts: { json?: boolean; html?: boolean }): Promise<number> {
  const crm = await openLocalCrm(config);
  try {
    // Accept a 15-character Salesforce id too: records are stored under the normalised id.
    const m = matchTicket({ id: ticketId, url: null, isAccount: false }, { allowedHosts: [] });
    const id = m.outcome === 'matched' ? m.ticket.id : ticketId.trim();
    const rec = crm.get(id) ?? crm.get(ticketId.trim());
    if (!rec) {
      if (opts.json) printJson({ ticket: ticketId, found: false });
      else process.stderr.write(`no record for ticket ${ticketId} in the local CRM (${crm.path})\n`);
      return EXIT.problems;
    }
    if (opts.json) {
      printJson({ ...rec, found: true });
      return EXIT.ok;
    }
    if (opts.html) {
      process.stdout.write(await renderRecordPage(rec, config.TEMPLATES_DIR));
      return EXIT.ok;
    }
    const w = process.stdout;
    w.write(`Ticket ${rec.ticketId} (${rec.system}${rec.object ? ` ${rec.object}` : ''})${rec.url ? `  ${rec.url}` : ''}\n`);
    w.write(`updated ${rec.updatedAt}; ${rec.sessions.length} session(s), ${rec.notes.length} note(s)\n\nFields\n`);
    for (const [k, v] of Object.entries(rec.fields)) {
      if (v === null || v === '') continue;
      w.write(`  ${k.padEnd(22)} ${String(v).replace(/\n/g, `\n  ${' '.repeat(22)} `)}\n`);
    }
    for (const n of rec.notes) {
      w.write(`\nNote for ${n.sessionKey}, version ${n.version} (added ${n.createdAt})\n  ${n.subject}\n`);
      w.write(`${n.text.replace(/^/gm, '  ')}\n`);
    }
    return EXIT.ok;
  } finally {
    await crm.close();
  }
}
