// The target named by CRM, built from its slice of the configuration. Each target lives in its
// own folder and is loaded only when chosen: a Salesforce worker never loads nodemailer, an
// e-mail worker never jsforce. The targets themselves never read the configuration.
import { DEFAULT_SF_BATCH_WAIT_MS } from '../config.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { MailStore } from '../store/mail-store.ts';
import type { WriteLedger } from '../targets/salesforce/ledger.ts';
import type { SalesforceAuth } from '../targets/salesforce/connection.ts';
import type { SalesforceSettings } from '../targets/salesforce/salesforce-target.ts';
import type { EmailSettings } from '../targets/email/email-target.ts';
import type { Target } from '../targets/target.ts';

export function salesforceAuthOf(c: Config): SalesforceAuth {
  return {
    loginUrl: c.SF_LOGIN_URL,
    clientId: c.SF_CLIENT_ID,
    clientSecret: c.SF_CLIENT_SECRET,
    username: c.SF_USERNAME,
    privateKey: c.SF_PRIVATE_KEY,
    privateKeyFile: c.SF_PRIVATE_KEY_FILE,
    instanceUrl: c.SF_INSTANCE_URL,
    accessToken: c.SF_ACCESS_TOKEN,
    apiVersion: c.SF_API_VERSION,
    jwtAudience: c.SF_JWT_AUDIENCE,
    requestTimeoutMs: c.SF_REQUEST_TIMEOUT_MS,
  };
}

export function salesforceSettingsOf(c: Config): SalesforceSettings {
  return {
    auth: salesforceAuthOf(c),
    mappingFile: c.SF_MAPPING_FILE,
    batchSize: c.SF_BATCH_SIZE,
    batchWaitMs: c.SF_BATCH_WAIT_MS ?? DEFAULT_SF_BATCH_WAIT_MS,
    batchConcurrency: c.SF_BATCH_CONCURRENCY,
    slowdownAt: c.SF_API_USAGE_SLOWDOWN,
    pauseAt: c.SF_API_USAGE_PAUSE,
  };
}

export function emailSettingsOf(c: Config): EmailSettings {
  return {
    smtpUrl: c.SMTP_URL,
    from: c.MAIL_FROM,
    to: c.MAIL_TO,
    tokenStyle: c.MAIL_TOKEN_STYLE,
    tokenPrefix: c.MAIL_TOKEN_PREFIX,
    attachMetadata: c.MAIL_ATTACH_METADATA,
    includeSecured: c.INCLUDE_SECURED_CUSTOM_DATA,
    idSecret: c.MAIL_ID_SECRET ?? null,
    maxPerSecond: c.SMTP_MAX_PER_SECOND,
  };
}

/** What the targets keep in Redis: the e-mail target's memory, the Salesforce target's ledger. */
export interface TargetStores {
  mailStore(): MailStore;
  salesforceLedger(): WriteLedger;
}

/** Builds the configured target, with its memory in Redis. */
export async function createTarget(config: Config, log: Logger, stores: TargetStores): Promise<Target> {
  switch (config.CRM) {
    case 'local': {
      const { LocalCrm } = await import('../targets/local/local-crm.ts');
      return new LocalCrm(config.dataDir, { latencyMs: config.LOCAL_CRM_LATENCY_MS });
    }
    case 'salesforce': {
      const { createSalesforceTarget } = await import('../targets/salesforce/salesforce-target.ts');
      return createSalesforceTarget(salesforceSettingsOf(config), stores.salesforceLedger(), log.child({ component: 'salesforce' }));
    }
    case 'email': {
      const { createEmailTarget } = await import('../targets/email/email-target.ts');
      return createEmailTarget(emailSettingsOf(config), stores.mailStore(), log.child({ component: 'email' }));
    }
  }
}

/** The local CRM's records, read without a queue (`show`). */
export async function openLocalCrm(config: Config): Promise<import('../targets/local/local-crm.ts').LocalCrm> {
  const { LocalCrm } = await import('../targets/local/local-crm.ts');
  return new LocalCrm(config.dataDir);
}
