// A worker as a real process, on the Salesforce double, with the admin console on and a day's
// worth of trouble in it: sessions refused by a validation rule on a closed Case (failed,
// TARGET_REJECTED, in Salesforce's words), a delivered one whose agent note holds markup, a
// chat with no ticket (skipped) and a truncated file (rejected). `fix()` lifts the rule, so a
// replay delivers the failed ones. For the browser test and `npm run console-pictures`.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSalesforceDouble } from '../salesforce/double.ts';
import type { SalesforceDouble } from '../salesforce/double.ts';
import { fixture } from './documents.ts';
import { FIXTURES, ROOT, TEST_REDIS_URL, dropPrefix, startWorkerProcess, tempDir, uniquePrefix, waitFor } from './env.ts';
import type { WorkerProcess } from './env.ts';

export const HOSTILE_NOTE = 'Customer pasted <script>alert("xss")</script> and <img src=x onerror=alert(2)> into the chat';
export const RULE_MESSAGE = 'Closed cases cannot get new activities';

export interface ConsoleScenario {
  base: string;
  user: string;
  password: string;
  sf: SalesforceDouble;
  worker: WorkerProcess;
  closedCase: string;
  openCase: string;
  /** sessions refused on the closed Case */
  failed: string[];
  /** the delivered session whose note holds markup */
  hostile: string;
  /** lifts the validation rule */
  fix(): void;
  state(key: string): Promise<string | null>;
  stop(): Promise<void>;
}

export async function startConsoleScenario(opts: { readOnly?: boolean } = {}): Promise<ConsoleScenario> {
  const sf = await startSalesforceDouble();
  const prefix = uniquePrefix('console');
  const tmp = tempDir('ccai-console');
  const closedCase = sf.insert('Case', { Subject: 'Router keeps dropping', Status: 'Closed' });
  const openCase = sf.insert('Case', { Subject: 'Billing address change', Status: 'New' });
  let ruleOn = true;
  sf.failRecords((obj, rec) => (ruleOn && obj === 'Task' && rec.WhatId === closedCase ? { statusCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: RULE_MESSAGE, fields: [] } : null));
  const user = 'admin';
  const password = 'console-test-password-1';
  const token = 'console-scenario-token-abcdef';
  mkdirSync(join(tmp.path, 'inbox'));
  let worker: WorkerProcess;
  try {
    worker = await startWorkerProcess({
      CRM: 'salesforce',
      SF_INSTANCE_URL: sf.url,
      SF_ACCESS_TOKEN: sf.accessToken(),
      SF_BATCH_WAIT_MS: '50',
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      DATA_DIR: join(tmp.path, 'data'),
      INBOX_DIR: join(tmp.path, 'inbox'),
      HTTP_TOKEN: token,
      ADMIN_PASSWORD: password,
      ...(opts.readOnly ? { ADMIN_READ_ONLY: 'true' } : {}),
      JOB_THREADS: '0',
      TEMPLATES_DIR: join(ROOT, 'templates'),
    });
  } catch (err) {
    await sf.close();
    tmp.cleanup();
    throw err;
  }
  const base = `http://127.0.0.1:${worker.port}`;
  const post = async (body: Buffer | string) => {
    const r = await fetch(`${base}/sessions`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body });
    if (r.status >= 500) throw new Error(`POST /sessions: ${r.status} ${await r.text()}`);
  };
  const doc = (id: number, ticket: string, note?: string) => {
    const d = fixture('metadata_call-987.json');
    d.id = id;
    d.out_ticket_id = ticket;
    d.out_ticket_url = `https://acme.my.salesforce.com/lightning/r/Case/${ticket}/view`;
    if (note !== undefined) {
      const dispositions = (d.dispositions as Array<Record<string, unknown>> | undefined) ?? [];
      if (dispositions[0]) dispositions[0].note = note;
      else d.dispositions = [{ user_id: 5, transfer_id: null, participant_id: 1, note, code: 'Troubleshooting <b>done</b>', ujet_code_id: 4, list: 'Inbound', list_path: 'Inbound', ujet_list_id: 2, custom_list_id: '', custom_code_id: '' }];
    }
    return Buffer.from(JSON.stringify(d));
  };
  const failed = [7001, 7002, 7003].map((id) => `call-${id}`);
  const hostile = 'call-7010';
  const state = async (key: string) => {
    const r = await fetch(`${base}/sessions/${key}`, { headers: { authorization: `Bearer ${token}` } });
    return r.status === 200 ? (((await r.json()) as { latest: { state: string } }).latest.state ?? null) : null;
  };
  const stop = async () => {
    await worker.stop();
    await sf.close();
    await dropPrefix(prefix);
    tmp.cleanup();
  };
  try {
    for (const key of failed) await post(doc(Number(key.slice(5)), closedCase));
    await post(doc(7010, openCase, HOSTILE_NOTE));
    await post(readFileSync(join(FIXTURES, 'sessions/metadata_chat-135.json')));
    await post(readFileSync(join(ROOT, 'samples/metadata_call-2001-truncated.json')));
    await waitFor('the sessions settled', async () => {
      const states = await Promise.all([...failed, hostile].map(state));
      return states.slice(0, 3).every((s) => s === 'failed') && states[3] === 'delivered';
    }, 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    base,
    user,
    password,
    sf,
    worker,
    closedCase,
    openCase,
    failed,
    hostile,
    fix: () => {
      ruleOn = false;
    },
    state,
    stop,
  };
}
