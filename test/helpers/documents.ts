// Variants of the real fixtures, built in memory for tests that need many versions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from './env.ts';

export function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(FIXTURES, 'sessions', name), 'utf8')) as Record<string, unknown>;
}

/** call-1418 as a later version: updated_at moved on by `minutes`, the first note changed. */
export function call1418Version(minutes: number, note: string): Buffer {
  const doc = fixture('metadata_call-1418.json');
  const base = Date.parse('2026-03-23T13:16:58.000-07:00');
  doc.updated_at = new Date(base + minutes * 60_000).toISOString();
  const dispositions = doc.dispositions as Array<Record<string, unknown>>;
  dispositions[0]!.note = note;
  return Buffer.from(JSON.stringify(doc));
}

/**
 * A call with its own id on its own ticket. `updatedAt`: the version's time (default: the
 * fixture's, months ago); `'now'` makes it a file as CCAI writes it today, a quarter of an hour
 * after the session (the Salesforce ledger writes such versions without looking first).
 */
export function callOnTicket(id: number, ticketId: string, updatedAt?: 'now' | string): Buffer {
  const doc = fixture('metadata_call-987.json');
  doc.id = id;
  if (updatedAt) doc.updated_at = updatedAt === 'now' ? new Date(Date.now() - 15 * 60_000).toISOString() : updatedAt;
  doc.out_ticket_id = ticketId;
  doc.out_ticket_url = `https://crm.example.com/lightning/r/Case/${ticketId}/view`;
  return Buffer.from(JSON.stringify(doc));
}
