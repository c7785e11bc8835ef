// Chooses the target named by CRM. Each target lives in its own folder.
import type { Config } from '../config.ts';
import { SyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { LocalCrm } from './local/local-crm.ts';
import type { Redis } from 'ioredis';
import { createEmailTarget } from './email/email-target.ts';
import { createSalesforceTarget } from './salesforce/salesforce-target.ts';
import type { Target } from './target.ts';

export async function createTarget(config: Config, log: Logger, deps: { redis?: Redis } = {}): Promise<Target> {
  switch (config.CRM) {
    case 'local':
      return new LocalCrm(config.dataDir, { latencyMs: config.LOCAL_CRM_LATENCY_MS });
    case 'salesforce':
      return createSalesforceTarget(config, log.child({ component: 'salesforce' }));
    case 'email':
      if (!deps.redis) throw new SyncError('CONFIG_INVALID', 'CRM=email keeps its sent markers in Redis: it needs the queue connection');
      return createEmailTarget(config, deps.redis, log.child({ component: 'email' }));
  }
}
