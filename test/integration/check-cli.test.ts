// `ccai-crm-sync check` as a user runs it, against the Salesforce double.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSalesforceDouble } from '../salesforce/double.ts';
import type { SalesforceDouble } from '../salesforce/double.ts';
import { runCli, tempDir } from '../helpers/env.ts';

describe('ccai-crm-sync check', () => {
  let sf: SalesforceDouble;
  const tmp = tempDir('ccai-check');
  before(async () => {
    sf = await startSalesforceDouble();
  });
  after(async () => {
    await sf.close();
    tmp.cleanup();
  });
  const env = () => ({ CRM: 'salesforce', SF_INSTANCE_URL: sf.url, SF_ACCESS_TOKEN: sf.accessToken(), DATA_DIR: tmp.path });

  it('says ok for the default mapping on a standard org', async () => {
    const r = await runCli(['check', '--json'], env());
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { target: 'salesforce', ok: true, problems: [] });
  });

  it('lists every missing field as JSON and exits 1', async () => {
    writeFileSync(join(tmp.path, 'm.json'), JSON.stringify({ case: { fields: { CCAI_CSAT__c: 'csat_rating' } } }));
    const r = await runCli(['check', '--json'], { ...env(), SF_MAPPING_FILE: join(tmp.path, 'm.json') });
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout) as { ok: boolean; code: string; problems: string[] };
    assert.equal(out.ok, false);
    assert.equal(out.code, 'TARGET_CONFIG');
    assert.deepEqual(out.problems.map((p) => p.split(':')[0]).sort(), ['Case.CCAI_CSAT__c', 'Case.CCAI_Session_Version__c']);
  });
});
