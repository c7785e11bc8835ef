// Chooses the target named by CRM. Each target lives in its own folder.
import type { Config } from '../config.ts';
import { SyncError } from '../errors.ts';
import { LocalCrm } from './local/local-crm.ts';
import type { Target } from './target.ts';

export function createTarget(config: Config): Target {
  switch (config.CRM) {
    case 'local':
      return new LocalCrm(config.dataDir, { latencyMs: config.LOCAL_CRM_LATENCY_MS });
    case 'salesforce':
    case 'email':
      throw new SyncError('CONFIG_INVALID', `CRM=${config.CRM} is not available in this version yet; use CRM=local`);
  }
}
