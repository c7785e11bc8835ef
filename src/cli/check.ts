// `check`: connect to the configured target and verify the mapping fits it, before any job.
import type { Config } from '../config.ts';
import { isSyncError, SyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { createTarget } from '../app/targets.ts';
import { EXIT, printJson } from './context.ts';

export async function checkCommand(config: Config, log: Logger, opts: { json?: boolean }): Promise<number> {
  // createTarget runs the target's own start-up checks (Salesforce: login + describe of every
  // mapped field) and throws with the full list of problems.
  try {
    // without the queue's Redis (check connects to the CRM only), as before
    const noRedis = (): never => {
      throw new SyncError('CONFIG_INVALID', 'CRM=email keeps its sent markers in Redis: it needs the queue connection');
    };
    // check logs in and describes, and writes nothing: the Salesforce ledger is never asked
    const unused = () => Promise.reject(new Error('check writes nothing'));
    const target = await createTarget(config, log, {
      mailStore: noRedis,
      salesforceLedger: () => ({ leaseMs: 0, claim: unused, renew: unused, settle: unused }),
    });
    await target.close();
    if (opts.json) printJson({ target: config.CRM, ok: true, problems: [] });
    else process.stdout.write(`${config.CRM}: ok — connected, and every mapped field exists and is writable\n`);
    return EXIT.ok;
  } catch (err) {
    if (!opts.json || !isSyncError(err)) throw err;
    const [headline, ...problems] = err.message.split('\n  - ');
    printJson({ target: config.CRM, ok: false, code: err.code, message: headline, problems });
    return EXIT.problems;
  }
}
