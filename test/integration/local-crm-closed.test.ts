// Closed tickets in the local CRM: a ticket an admin closed refuses new notes (TARGET_REJECTED),
// as a closed Salesforce Case or Zendesk ticket would, and takes them again once reopened. The
// local CRM on its own (real SQLite files in a temp folder), `local-crm close|reopen|closed` as
// a process, and a session through the real queue: refused by the closed ticket, then reopened,
// replayed and delivered by a worker.
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { enrich } from '../../src/domain/enrich/enrich.ts';
import type { TicketRef } from '../../src/domain/types.ts';
import { SyncError } from '../../src/errors.ts';
import { LocalCrm } from '../../src/targets/local/local-crm.ts';
import { buildSession } from '../helpers/session-builder.ts';
import { FIXTURES, TEST_REDIS_URL, dropPrefix, runCli, startWorkerProcess, tempDir, uniquePrefix, waitFor } from '../helpers/env.ts';

const TICKET = '500ak000024vx4uAAA';
const note = (v: string) => ({ subject: `Call 1418 (${v})`, text: `note of ${v}`, html: `<p>note of ${v}</p>` });
const V1 = '2026-03-23T20:16:58.000Z';
const V2 = '2026-03-23T20:46:58.000Z';
const V0 = '2026-03-23T19:16:58.000Z';

function update(version: string, ticket = TICKET) {
  const ref: TicketRef = { system: 'salesforce', id: ticket, url: null, object: 'Case', isAccount: false };
  return enrich(buildSession({ version, versionMs: Date.parse(version), csat: { comment: `comment of ${version}` } }), ref);
}

/** A local CRM of its own in a temp folder, closed and removed after the test. */
function freshCrm(t: { after(fn: () => void | Promise<void>): void }) {
  const tmp = tempDir('ccai-closed');
  const crm = new LocalCrm(tmp.path);
  t.after(async () => {
    await crm.close();
    tmp.cleanup();
  });
  return { crm, dir: tmp.path };
}

describe('local CRM: closed tickets', () => {
  it('refuses a new note on a closed ticket with TARGET_REJECTED naming the ticket and the reason, and writes nothing', async (t) => {
    const { crm } = freshCrm(t);
    await crm.apply(update(V1), note(V1));
    const before = crm.get(TICKET);
    crm.closeTicket(TICKET, 'Case closed: resolved by phone');
    await assert.rejects(crm.apply(update(V2), note(V2)), (err: SyncError) => {
      assert.ok(err instanceof SyncError);
      assert.equal(err.code, 'TARGET_REJECTED');
      assert.equal(err.retryable, false);
      assert.equal(
        err.message,
        `the local CRM refused the note: ticket ${TICKET} is closed (Case closed: resolved by phone); reopen it (ccai-crm-sync local-crm reopen ${TICKET}) and replay the session (ccai-crm-sync replay call-1418)`,
      );
      return true;
    });
    assert.deepEqual(crm.get(TICKET), before, 'record, sessions and notes unchanged');
  });

  it('refuses the first note on a ticket closed before any session reached it: no record is made', async (t) => {
    const { crm } = freshCrm(t);
    const { ticket, alreadyClosed } = crm.closeTicket(TICKET, 'closed by an admin');
    assert.equal(alreadyClosed, false);
    assert.equal(ticket.hasRecord, false);
    await assert.rejects(crm.apply(update(V1), note(V1)), (err: SyncError) => err.code === 'TARGET_REJECTED' && err.message.includes('(closed by an admin)'));
    assert.equal(crm.get(TICKET), null);
    assert.deepEqual(crm.ticketsForSession('call-1418'), []);
  });

  it('still answers "delivered, already on the ticket" for the version it holds, and skips a superseded one, once closed', async (t) => {
    const { crm } = freshCrm(t);
    await crm.apply(update(V1), note(V1));
    crm.closeTicket(TICKET, 'resolved');
    const again = await crm.apply(update(V1), note(V1));
    assert.equal(again.status, 'delivered');
    assert.match(again.status === 'delivered' ? again.detail : '', /already on the ticket/);
    const older = await crm.apply(update(V0), note(V0));
    assert.equal(older.status, 'skipped');
    assert.match(older.status === 'skipped' ? older.reason : '', /superseded/);
    assert.equal(crm.get(TICKET)?.notes.length, 1);
  });

  it('takes the note again once reopened; reopening a ticket that is not closed answers false', async (t) => {
    const { crm } = freshCrm(t);
    await crm.apply(update(V1), note(V1));
    crm.closeTicket(TICKET, 'resolved');
    await assert.rejects(crm.apply(update(V2), note(V2)), /TARGET_REJECTED|is closed/);
    assert.equal(crm.reopenTicket(TICKET), true);
    assert.equal(crm.closedTicket(TICKET), null);
    const r = await crm.apply(update(V2), note(V2));
    assert.equal(r.status, 'delivered');
    const rec = crm.get(TICKET)!;
    assert.deepEqual(rec.notes.map((n) => n.version), [V1, V2]);
    assert.equal(rec.fields.csat_comment, `comment of ${V2}`);
    assert.equal(crm.reopenTicket(TICKET), false);
    assert.equal(crm.reopenTicket('never-closed'), false);
  });

  it('closes a ticket under the id sessions write it under; closing again keeps the time and replaces the reason; lists them', async (t) => {
    const { crm } = freshCrm(t);
    await crm.apply(update(V1), note(V1));
    const first = crm.closeTicket('500ak000024vx4u', 'first reason'); // the 15-character form
    assert.equal(first.ticket.ticketId, TICKET);
    assert.equal(first.ticket.hasRecord, true);
    const second = crm.closeTicket(` ${TICKET} `, 'second reason');
    assert.equal(second.alreadyClosed, true);
    assert.equal(second.ticket.closedAt, first.ticket.closedAt);
    assert.equal(second.ticket.reason, 'second reason');
    crm.closeTicket('INC 42', 'generic id with a space');
    assert.deepEqual(
      crm.closedTickets().map((c) => [c.ticketId, c.reason, c.hasRecord]),
      [
        [TICKET, 'second reason', true],
        ['INC 42', 'generic id with a space', false],
      ],
    );
    // the refusal's reopen command is one shell word
    await assert.rejects(crm.apply(update(V1, 'INC 42'), note(V1)), (err: SyncError) => err.message.includes("(ccai-crm-sync local-crm reopen 'INC 42')"));
    assert.equal(crm.reopenTicket('500ak000024vx4u'), true, 'reopened by its 15-character form too');
  });

  it('refuses an empty, control-character or over-long ticket id, and an empty reason (CONFIG_INVALID)', async (t) => {
    const { crm } = freshCrm(t);
    const invalid = (re: RegExp) => (err: SyncError) => err.code === 'CONFIG_INVALID' && re.test(err.message);
    assert.throws(() => crm.closeTicket('  ', 'x'), invalid(/the ticket id is empty/));
    assert.throws(() => crm.closeTicket('a\nb', 'x'), invalid(/control character \(U\+000A\)/));
    assert.throws(() => crm.closeTicket('x'.repeat(256), 'x'), invalid(/256 characters long \(at most 255\)/));
    assert.throws(() => crm.closeTicket(TICKET, ''), invalid(/the reason is empty/));
    assert.deepEqual(crm.closedTickets(), []);
  });

  it('adds the table to a file made before closed tickets existed, keeping its records', async (t) => {
    const { crm, dir } = freshCrm(t);
    await crm.apply(update(V1), note(V1));
    await crm.close();
    const db = new DatabaseSync(join(dir, 'local-crm.sqlite'));
    db.exec('DROP TABLE closed_tickets');
    db.close();
    const reopened = new LocalCrm(dir);
    try {
      assert.deepEqual(reopened.closedTickets(), []);
      assert.equal(reopened.get(TICKET)?.notes.length, 1);
      reopened.closeTicket(TICKET, 'works');
      await assert.rejects(reopened.apply(update(V2), note(V2)), /is closed \(works\)/);
    } finally {
      await reopened.close();
    }
  });
});

describe('ccai-crm-sync local-crm close | reopen | closed', () => {
  const tmp = tempDir('ccai-closed-cli');
  const env = { DATA_DIR: join(tmp.path, 'data') };
  after(() => tmp.cleanup());

  it('closes a ticket (--json), lists it, reopens it; text output says what happened', async () => {
    const closed = await runCli(['local-crm', 'close', '500ak000024vx4u', '--reason', 'Case closed: resolved by phone', '--json'], env);
    assert.equal(closed.code, 0, closed.stderr);
    const c = JSON.parse(closed.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(c), ['ticket', 'closed', 'reason', 'closedAt', 'hasRecord', 'alreadyClosed']);
    assert.equal(c.ticket, TICKET, 'kept under the 18-character id');
    assert.equal(c.closed, true);
    assert.equal(c.reason, 'Case closed: resolved by phone');
    assert.ok(!Number.isNaN(Date.parse(String(c.closedAt))));
    assert.equal(c.hasRecord, false);
    assert.equal(c.alreadyClosed, false);

    const text = await runCli(['local-crm', 'close', 'INC 42'], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^closed ticket INC 42: closed by an admin\n/, 'the default reason');
    assert.match(text.stdout, /no record for it in the local CRM yet/);
    assert.match(text.stdout, /reopen it with: ccai-crm-sync local-crm reopen 'INC 42'\n/);

    const list = await runCli(['local-crm', 'closed', '--json'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(
      (JSON.parse(list.stdout) as { closed: Array<Record<string, unknown>> }).closed.map(({ closedAt, ...rest }) => (assert.equal(typeof closedAt, 'string'), rest)),
      [
        { ticket: TICKET, reason: 'Case closed: resolved by phone', hasRecord: false },
        { ticket: 'INC 42', reason: 'closed by an admin', hasRecord: false },
      ],
    );
    const listText = await runCli(['local-crm', 'closed'], env);
    assert.match(listText.stdout, /^2 closed ticket\(s\) in the local CRM \(.*local-crm\.sqlite\)\n/);
    assert.match(listText.stdout, new RegExp(`\\n  ${TICKET} +\\S+  Case closed: resolved by phone  \\(no record yet\\)\\n`));

    const reopened = await runCli(['local-crm', 'reopen', TICKET, '--json'], env);
    assert.equal(reopened.code, 0, reopened.stderr);
    const r = JSON.parse(reopened.stdout) as { ticket: string; reopened: boolean; wasClosed: { reason: string; closedAt: string } };
    assert.equal(r.ticket, TICKET);
    assert.equal(r.reopened, true);
    assert.equal(r.wasClosed.reason, 'Case closed: resolved by phone');
    assert.equal(r.wasClosed.closedAt, c.closedAt);
    const reopenedText = await runCli(['local-crm', 'reopen', 'INC 42'], env);
    assert.equal(reopenedText.code, 0, reopenedText.stderr);
    assert.match(reopenedText.stdout, /^reopened ticket INC 42 \(closed since \S+: closed by an admin\)\n/);
    assert.deepEqual(JSON.parse((await runCli(['local-crm', 'closed', '--json'], env)).stdout), { closed: [] });
  });

  it('reopen of a ticket that is not closed says so and exits 1', async () => {
    const r = await runCli(['local-crm', 'reopen', 'never-closed'], env);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^ticket never-closed is not closed in the local CRM \(.*\): nothing to reopen\n$/);
    const j = await runCli(['local-crm', 'reopen', 'never-closed', '--json'], env);
    assert.equal(j.code, 1);
    assert.deepEqual(JSON.parse(j.stdout), { ticket: 'never-closed', reopened: false });
  });

  it('refuses an unusable ticket id or reason with a message naming the argument, exit code 2', async () => {
    for (const [args, message] of [
      [['close', ''], '<ticket>: the ticket id is empty'],
      [['close', 'a\tb'], '<ticket>: the ticket id holds a control character (U+0009)'],
      [['reopen', 'x'.repeat(300)], '<ticket>: the ticket id is 300 characters long (at most 255)'],
      [['close', TICKET, '--reason', ' '], '--reason: the reason is empty'],
    ] as const) {
      const r = await runCli(['local-crm', ...args], env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, `ccai-crm-sync: ${message}\n`);
    }
    assert.deepEqual(JSON.parse((await runCli(['local-crm', 'closed', '--json'], env)).stdout), { closed: [] }, 'nothing closed');
  });

  it('works on the local CRM of --data-dir', async () => {
    const other = join(tmp.path, 'other');
    const r = await runCli(['--data-dir', other, 'local-crm', 'close', 'T-1', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const crm = new LocalCrm(other);
    try {
      assert.equal(crm.closedTicket('T-1')?.reason, 'closed by an admin');
    } finally {
      await crm.close();
    }
  });
});

describe('a closed ticket through the queue: run fails, reopen, replay, a worker delivers', () => {
  const prefix = uniquePrefix('closed');
  const tmp = tempDir('ccai-closed-queue');
  const dataDir = join(tmp.path, 'data');
  const env = { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: dataDir };
  after(async () => {
    await dropPrefix(prefix);
    tmp.cleanup();
  });

  it('reports failed TARGET_REJECTED in the CRM’s words, and delivers after reopen + replay', async () => {
    const file = join(tmp.path, 'metadata_call-1418.json');
    copyFileSync(join(FIXTURES, 'sessions', 'metadata_call-1418.json'), file);
    assert.equal((await runCli(['local-crm', 'close', TICKET, '--reason', 'resolved by phone'], env)).code, 0);

    const run = await runCli(['run', '--json', file], env, { timeoutMs: 90_000 });
    assert.equal(run.code, 1, run.stderr);
    const [result] = (JSON.parse(run.stdout) as { results: Array<{ status: string; code: string | null; reason: string | null; ticket: string | null }> }).results;
    assert.equal(result?.status, 'failed', JSON.stringify(result));
    assert.equal(result?.code, 'TARGET_REJECTED');
    assert.equal(result?.ticket, TICKET);
    assert.equal(
      result?.reason,
      `TARGET_REJECTED: the local CRM refused the note: ticket ${TICKET} is closed (resolved by phone); reopen it (ccai-crm-sync local-crm reopen ${TICKET}) and replay the session (ccai-crm-sync replay call-1418)`,
    );
    assert.equal((await runCli(['show', TICKET], env)).code, 1, 'nothing on the ticket');
    const listed = JSON.parse((await runCli(['replay', '--list', '--json'], env)).stdout) as { failed: Array<{ sessionKey: string; code: string }> };
    assert.deepEqual(listed.failed.map((f) => [f.sessionKey, f.code]), [['call-1418', 'TARGET_REJECTED']]);

    assert.equal((await runCli(['local-crm', 'reopen', TICKET], env)).code, 0);
    const replayed = await runCli(['replay', '--json'], env);
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.equal((JSON.parse(replayed.stdout) as { replayed: unknown[] }).replayed.length, 1);

    const worker = await startWorkerProcess(env);
    try {
      await waitFor('the replayed session on the ticket', async () => (await runCli(['show', TICKET, '--json'], env)).code === 0, 60_000, 500);
    } finally {
      await worker.stop();
    }
    const rec = JSON.parse((await runCli(['show', TICKET, '--json'], env)).stdout) as { notes: Array<{ sessionKey: string }> };
    assert.deepEqual(rec.notes.map((n) => n.sessionKey), ['call-1418']);
    const status = JSON.parse((await runCli(['status', 'call-1418', '--json'], env)).stdout) as { latest: { state: string } };
    assert.equal(status.latest.state, 'delivered');
  });
});
