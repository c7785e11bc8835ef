// Chooses the target named by CRM. Each target lives in its own folder and is loaded only
// when chosen: a Salesforce worker never loads nodemailer, an e-mail worker never jsforce.
import type { Config } from '../config.ts';
import { SyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Redis } from 'ioredis';
import type { Target } from './target.ts';

export async function createTarget(config: Config, log: Logger, deps: { redis?: Redis } = {}): Promise<Target> {
  switch (config.CRM) {
    case 'local': {
      const { LocalCrm } = await import('./local/local-crm.ts');
      return new LocalCrm(config.dataDir, { latencyMs: config.LOCAL_CRM_LATENCY_MS });
    }
    case 'salesforce': {
      const { createSalesforceTarget } = await import('./salesforce/salesforce-target.ts');
      return createSalesforceTarget(config, log.child({ component: 'salesforce' }));
    }
    case 'email': {
      if (!deps.redis) throw new SyncError('CONFIG_INVALID', 'CRM=email keeps its sent markers in Redis: it needs the queue connection');
      const { createEmailTarget } = await import('./email/email-target.ts');
      return createEmailTarget(config, deps.redis, log.child({ component: 'email' }));
    }
  }
}
