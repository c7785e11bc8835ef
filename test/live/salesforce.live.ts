// Live check against a real Salesforce org. Not part of `npm test` (no org is reachable from
// CI); run it with `npm run test:live` when credentials are in the environment:
//   CRM=salesforce SF_LOGIN_URL=... SF_CLIENT_ID=... SF_CLIENT_SECRET=...   (or JWT / token vars)
//   SF_LIVE_CASE_ID=<an 18-character Case id the integration user may log activities on>
// It logs one Task for a generated session on that Case, checks it, runs the job again to
// prove nothing is written twice, and deletes the Task it created.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createApp } from '../../src/app/app.ts';
import { salesforceAuthOf } from '../../src/app/targets.ts';
import { connect } from '../../src/targets/salesforce/connection.ts';
import { callOnTicket } from '../helpers/documents.ts';
import { TEST_REDIS_URL, dropPrefix, tempDir, uniquePrefix } from '../helpers/env.ts';

const caseId = process.env.SF_LIVE_CASE_ID;
if (!caseId || process.env.CRM !== 'salesforce') {
  process.stderr.write('test:live needs CRM=salesforce, Salesforce credentials (see README) and SF_LIVE_CASE_ID\n');
  process.exit(2);
}

describe('live Salesforce org', () => {
  const prefix = uniquePrefix('live');
  const tmp = tempDir('ccai-live');
  const config = loadConfig({ ...process.env, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: tmp.path });
  const created: string[] = [];

  after(async () => {
    const { conn } = await connect(salesforceAuthOf(config));
    for (const id of created) await conn.sobject('Task').destroy(id).catch(() => undefined);
    await dropPrefix(prefix);
    tmp.cleanup();
  });

  it('logs a Task on the Case once, however often the job runs', async () => {
    const app = await createApp(config, createLogger('warn'), { worker: true, allowPrivateRedis: false });
    try {
      const sessionId = 900_000_000 + Math.floor(Math.random() * 1_000_000);
      const s = await app.submit(callOnTicket(sessionId, caseId), 'live.json');
      assert.equal((await app.queue.waitFor(s.jobId!)).status, 'delivered');
      const job = await app.queue.getJob(s.jobId!);
      await job!.retry('completed');
      assert.match((await app.queue.waitFor(s.jobId!)).reason, /nothing written twice/);
      const { conn } = await connect(salesforceAuthOf(config));
      const found = await conn.query<{ Id: string }>(`SELECT Id FROM Task WHERE CallObject = 'call-${sessionId}@${s.version}'`);
      assert.equal(found.totalSize, 1);
      created.push(...found.records.map((r) => r.Id));
    } finally {
      await app.close();
    }
  });
});
