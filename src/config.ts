// Configuration: parsed once, from the environment (and an optional JSON config file that
// the environment overrides), with zod. Every problem is listed at once; secrets are read
// from the environment or from `*_FILE` paths and never logged.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { SyncError } from './errors.ts';
import { DEFAULT_MAX_BYTES } from './domain/session/parse.ts';
import { parseAllowedHosts } from './domain/ticket/match.ts';
import { canonical } from './render/i18n.ts';
import { isTimeZone } from './render/note-format.ts';
import { DEFAULT_TEMPLATES_DIR } from './render/templates.ts';
import { TOKEN_STYLES } from './targets/email/token.ts';
import { DEFAULT_HTTP_TIMEOUTS } from './sources/http.ts';
import { parseImapUrl } from './sources/imap/imap-url.ts';
import { keyscanHint, parseHostKeys } from './sources/sftp/host-key.ts';
import { parseSftpUrl } from './sources/sftp/sftp-url.ts';
import { DEFAULT_CLAIM_STALE_MS, DEFAULT_INCOMPLETE_GRACE_MS } from './sources/inbox.ts';
import type { ImapSettings } from './sources/imap/imap-url.ts';
import { hashTagOf, listsSeveralServers, parseClusterSeeds } from './store/cluster-url.ts';

const bool = z
  .union([z.boolean(), z.string()])
  .transform((v, ctx) => {
    if (typeof v === 'boolean') return v;
    const s = v.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
    ctx.addIssue({ code: 'custom', message: `expected true or false, found "${v}"` });
    return z.NEVER;
  });

/** SF_BATCH_WAIT_MS when it is not set (`run` has its own) */
export const DEFAULT_SF_BATCH_WAIT_MS = 1_000;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  CRM: z.enum(['local', 'salesforce', 'email']).default('local'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .optional(),
  /** REDIS_URL is a Redis Cluster's seed nodes (comma-separated); QUEUE_PREFIX then needs a hash tag */
  REDIS_CLUSTER: bool.default(false),
  DATA_DIR: z.string().min(1).default('./data'),
  CRM_ALLOWED_HOSTS: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MAX_FILE_BYTES: int(1, 1024 * 1024 * 1024).default(DEFAULT_MAX_BYTES),
  RECORDING_LINK: z.enum(['unless-denied', 'granted-only', 'never']).default('unless-denied'),
  INCLUDE_SECURED_CUSTOM_DATA: bool.default(false),
  TEMPLATES_DIR: z.string().min(1).default(DEFAULT_TEMPLATES_DIR),
  /** every note in this language (a tag with a catalog in TEMPLATES_DIR/locales); unset: the session's `lang` */
  NOTE_LANGUAGE: z
    .string()
    .trim()
    .refine((v) => canonical(v) !== null, 'must be a language tag such as fr, fr-CA or pt-BR')
    .transform((v) => canonical(v)!)
    .optional(),
  /** every time on a note in this IANA zone; unset: the offset the session file carries */
  NOTE_TIME_ZONE: z
    .string()
    .trim()
    .refine(isTimeZone, 'must be an IANA time zone such as America/Toronto, Europe/Paris or UTC')
    .optional(),
  /** default `ccai`; `{ccai}` with REDIS_CLUSTER=true (a hash tag: every key in one slot) */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.{}-]+$/, 'letters, digits, _ . - { } only')
    .optional(),
  /** default 8; with CRM=salesforce SF_BATCH_SIZE + 200 (1,200), so that concurrent jobs fill the flushes */
  WORKER_CONCURRENCY: int(1, 10_000).optional(),
  JOB_ATTEMPTS: int(1, 100).default(10),
  JOB_BACKOFF_MS: int(10, 3_600_000).default(5_000),
  KEEP_COMPLETED_DAYS: int(0, 365).default(7),
  JOB_LOCK_MS: int(1_000, 3_600_000).default(30_000),
  INBOX_DIR: z.string().min(1).optional(),
  INBOX_POLL_MS: int(100, 3_600_000).default(2_000),
  INBOX_SETTLE_MS: int(0, 3_600_000).default(2_000),
  /** an inbox file that reads as empty or cut short is rejected only once unchanged this long */
  INBOX_INCOMPLETE_GRACE_MS: int(0, 86_400_000).default(DEFAULT_INCOMPLETE_GRACE_MS),
  /** an inbox file claimed by a worker that died stays claimed this long before any worker reads it again */
  INBOX_CLAIM_STALE_MS: int(1_000, 86_400_000).default(DEFAULT_CLAIM_STALE_MS),
  HTTP_PORT: int(0, 65535).default(8080),
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  HTTP_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  // how long a client may take to send a whole request, its headers, and to send the next
  // request on a kept-alive connection: a slow or idle client cannot hold one for ever
  HTTP_REQUEST_TIMEOUT_MS: int(1_000, 3_600_000).default(DEFAULT_HTTP_TIMEOUTS.requestMs),
  HTTP_HEADERS_TIMEOUT_MS: int(1_000, 600_000).default(DEFAULT_HTTP_TIMEOUTS.headersMs),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(100, 600_000).default(DEFAULT_HTTP_TIMEOUTS.keepAliveMs),
  // The admin console under /admin on the HTTP port: on only with a password (HTTP Basic)
  ADMIN_USER: z
    .string()
    .min(1)
    .regex(/^[^:\s]+$/, 'must not contain ":" or spaces (HTTP Basic separates user and password with ":")')
    .default('admin'),
  ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  /** shows everything, changes nothing: no replay buttons, bull-board read-only */
  ADMIN_READ_ONLY: bool.default(false),
  LOCAL_CRM_LATENCY_MS: int(0, 600_000).default(0),
  // threads that prepare jobs (read, decide, render) beside the main thread; RENDER_THREADS
  // is the older name of the same setting
  JOB_THREADS: z.union([z.literal('auto'), int(0, 64)]).optional(),
  RENDER_THREADS: int(0, 64).optional(),
  // E-mail (CRM=email)
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://').optional(),
  MAIL_FROM: z.string().min(3).optional(),
  MAIL_TO: z.string().min(3).optional(),
  MAIL_TOKEN_STYLE: z.enum(TOKEN_STYLES).default('subject-hash'),
  /** tags our Message-IDs with an HMAC, so that forged bounces and replies are not taken for ours */
  MAIL_ID_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  MAIL_TOKEN_PREFIX: z.string().regex(/^[^\r\n\[\]]{1,40}$/, 'one line, no brackets').default('helpdesk'),
  MAIL_ATTACH_METADATA: bool.default(false),
  SMTP_MAX_PER_SECOND: int(1, 1000).default(5),
  /** the lease on a version being sent: renewed while it is in flight, lapses this long after its process died */
  MAIL_CLAIM_LEASE_MS: int(1_000, 3_600_000).default(30_000),
  // Mailbox (any CRM): metadata e-mails in, bounces and helpdesk replies back
  IMAP_URL: z.string().regex(/^imaps?:\/\/[^/]+/, 'must look like imaps://user:password@host/INBOX').optional(),
  IMAP_ALLOWED_SENDERS: z.string().optional(),
  /** who speaks for the helpdesk (replies, notifications); default: MAIL_TO's domain */
  IMAP_HELPDESK_SENDERS: z.string().optional(),
  IMAP_POLL_MS: int(1_000, 3_600_000).default(60_000),
  /** false: never IDLE (servers whose IDLE is broken); the poll alone finds new mail */
  IMAP_IDLE: bool.default(true),
  /** default 2 x IMAP_POLL_MS + 30 s */
  IMAP_WATCHDOG_MS: int(1_000, 86_400_000).optional(),
  IMAP_MAX_MESSAGE_BYTES: int(1_024, 1024 * 1024 * 1024).default(25 * 1024 * 1024),
  IMAP_PROCESSED_FOLDER: z.string().min(1).optional(),
  /** what a folder's first read takes: all of it, only mail arriving from now on, or mail since a day */
  IMAP_START: z
    .string()
    .refine((v) => v === 'all' || v === 'new' || (/^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`))), 'must be all, new or a day (2026-11-30)')
    .default('all'),
  IMAP_REJECTED_FOLDER: z.string().min(1).optional(),
  // Salesforce (CRM=salesforce): one of three ways to authenticate, see README.
  SF_LOGIN_URL: z.string().url('must be a URL such as https://acme.my.salesforce.com').default('https://login.salesforce.com'),
  SF_CLIENT_ID: z.string().min(1).optional(),
  SF_CLIENT_SECRET: z.string().min(1).optional(),
  SF_USERNAME: z.string().min(1).optional(),
  SF_PRIVATE_KEY: z.string().min(1).optional(),
  SF_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  SF_INSTANCE_URL: z.string().url('must be the org URL, e.g. https://acme.my.salesforce.com').optional(),
  SF_ACCESS_TOKEN: z.string().min(1).optional(),
  SF_API_VERSION: z
    .string()
    .regex(/^\d{2,3}\.0$/, 'must look like 62.0')
    .refine((v) => Number(v) >= 43, 'must be 43.0 or later (sObject Collections inside composite requests)')
    .default('62.0'),
  SF_JWT_AUDIENCE: z.string().url().optional(),
  SF_REQUEST_TIMEOUT_MS: int(1_000, 1_800_000).default(120_000),
  SF_MAPPING_FILE: z.string().min(1).optional(),
  /** sessions in one flush: up to 1,000 (five sObject Collections of 200 in one composite call) */
  SF_BATCH_SIZE: int(1, 1000).default(1000),
  /** unset: 1 s for a worker (DEFAULT_SF_BATCH_WAIT_MS), 3 s for `run` (a backfill: fuller flushes matter more than a second) */
  SF_BATCH_WAIT_MS: int(0, 60_000).optional(),
  /** flushes under way at once in one worker process */
  SF_BATCH_CONCURRENCY: int(1, 32).default(4),
  /** a claim on a version being written lives this long unless renewed (it is, every third of it, while the write is in flight) */
  SF_CLAIM_LEASE_MS: int(1_000, 3_600_000).default(30_000),
  /** how long the ledger remembers a version or a Case after its last change */
  SF_LEDGER_DAYS: int(1, 400).default(30),
  SF_API_USAGE_SLOWDOWN: z.coerce.number().min(0).max(1).default(0.8),
  SF_API_USAGE_PAUSE: z.coerce.number().min(0).max(1).default(0.95),
  // A Cloud Storage bucket (CCAI Platform's external storage): swept, and notified through Pub/Sub
  GCS_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, 'must be a bucket name such as ccai-exports (no gs://, no folder: that is GCS_PREFIX)').optional(),
  GCS_PREFIX: z.string().regex(/^[^\r\n]*$/, 'one line').default(''),
  /** projects/P/subscriptions/S, or S with GCP_PROJECT */
  GCS_SUBSCRIPTION: z.string().regex(/^(projects\/[^/\s]+\/subscriptions\/[^/\s]+|[A-Za-z][\w.~+%-]{2,254})$/, 'must be projects/PROJECT/subscriptions/NAME, or NAME with GCP_PROJECT').optional(),
  GCP_PROJECT: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$|^[\w.:-]+$/, 'a project id').optional(),
  GCS_SWEEP_MS: int(1_000, 86_400_000).default(60_000),
  GCS_AFTER: z.enum(['leave', 'move', 'delete']).default('leave'),
  GCS_PROCESSED_PREFIX: z.string().min(1).optional(),
  GCS_REJECTED_PREFIX: z.string().min(1).optional(),
  // An SFTP folder (CCAI Platform's other external storage): polled
  SFTP_URL: z.string().regex(/^sftp:\/\/[^/@:]+@[^/]+(\/.*)?$/, 'must look like sftp://user@host:22/path (the password goes in SFTP_PASSWORD)').optional(),
  SFTP_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  SFTP_PASSWORD: z.string().min(1).optional(),
  /** `SHA256:…`, or several comma-separated (a key rotation); checked by parseHostKeys below */
  SFTP_HOST_KEY: z.string().min(1).optional(),
  SFTP_POLL_MS: int(1_000, 86_400_000).default(30_000),
  SFTP_SETTLE_MS: int(2_000, 3_600_000).default(5_000),
  SFTP_AFTER: z.enum(['leave', 'move', 'delete']).default('leave'),
  /** with SFTP_AFTER=move: how long a file claimed by a worker that died stays claimed before it is read again */
  SFTP_CLAIM_STALE_MS: int(1_000, 86_400_000).default(600_000),
});

export type RawConfig = z.infer<typeof schema>;

export interface Config extends Omit<RawConfig, 'WORKER_CONCURRENCY' | 'JOB_THREADS' | 'QUEUE_PREFIX'> {
  WORKER_CONCURRENCY: number;
  /** as given, else `ccai`, or `{ccai}` on a Redis Cluster (see DEFAULT_QUEUE_PREFIX) */
  QUEUE_PREFIX: string;
  /** a number, or `auto` (see jobThreadsFor in app/app.ts) */
  JOB_THREADS: number | 'auto';
  dataDir: string;
  allowedHosts: string[];
  /**
   * REDIS_URL as given; undefined means "find or start one" (see store/redis.ts). With
   * REDIS_CLUSTER, the seed nodes, comma-separated (store/cluster-url.ts).
   */
  redisUrl: string | undefined;
  /** IMAP_URL, parsed; null when no mailbox is read */
  imap: ImapSettings | null;
}

/** QUEUE_PREFIX when none is given: on a Redis Cluster, a hash tag (every key of ours and BullMQ's in one slot). */
export const DEFAULT_QUEUE_PREFIX = { single: 'ccai', cluster: '{ccai}' } as const;

/** A folder path as `a/b/` (no leading slash, one trailing slash; '' stays ''). */
function folderOf(p: string): string {
  const t = p.replace(/^\/+/, '');
  return t === '' || t.endsWith('/') ? t : `${t}/`;
}

/** Variables whose value may instead come from a file named by `NAME_FILE` (Docker/K8s secrets). */
export const SECRET_VARS = ['HTTP_TOKEN', 'ADMIN_PASSWORD', 'REDIS_URL', 'SF_CLIENT_SECRET', 'SF_ACCESS_TOKEN', 'SF_PRIVATE_KEY', 'SMTP_URL', 'IMAP_URL', 'MAIL_ID_SECRET', 'SFTP_PASSWORD'] as const;

function readSecretFiles(env: Record<string, string | undefined>, problems: string[]) {
  const out: Record<string, string | undefined> = {};
  for (const name of SECRET_VARS) {
    const file = env[`${name}_FILE`];
    // an empty NAME counts as unset, as everywhere else here: env files leave `NAME=` lines
    if (file && (env[name] === undefined || env[name] === '')) {
      try {
        out[name] = readFileSync(file, 'utf8').trim();
      } catch (err) {
        problems.push(`${name}_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err})`);
      }
    }
  }
  return out;
}

function readConfigFile(path: string | undefined, problems: string[]): Record<string, unknown> {
  if (!path) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    problems.push(`CONFIG_FILE: ${path} must hold a JSON object of setting names to values`);
  } catch (err) {
    // Never echo the file's content (JSON errors quote it): it may hold secrets.
    const code = (err as NodeJS.ErrnoException).code;
    const pos = /position (\d+)/.exec((err as Error).message)?.[1];
    problems.push(`CONFIG_FILE: cannot read ${path}: ${code ?? `not valid JSON${pos ? ` (at character ${pos})` : ''}`}`);
  }
  return {};
}

/**
 * Builds the configuration from (lowest to highest precedence) the CONFIG_FILE JSON object,
 * the environment, and command-line overrides. Throws CONFIG_INVALID listing every problem.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<Record<keyof RawConfig, string | undefined>> = {},
  /** used where neither CONFIG_FILE, the environment nor `overrides` gives a value */
  defaults: Partial<Record<keyof RawConfig, string>> = {},
): Config {
  const problems: string[] = [];
  const fromFile = readConfigFile(env.CONFIG_FILE, problems);
  const merged: Record<string, unknown> = { ...defaults, ...fromFile };
  for (const key of Object.keys(schema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') merged[key] = v;
  }
  Object.assign(merged, readSecretFiles(env, problems));
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) merged[k] = v;

  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = issue.path.join('.') || '(config)';
      const shown = SECRET_VARS.includes(name as never) ? '' : ` (got ${JSON.stringify(merged[name])})`;
      problems.push(`${name}: ${issue.message}${shown}`);
    }
  }
  if (problems.length > 0 || !parsed.success) {
    throw new SyncError('CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  const c = parsed.data;
  if (c.CRM === 'salesforce') {
    const modes = [
      c.SF_INSTANCE_URL && c.SF_ACCESS_TOKEN,
      c.SF_CLIENT_ID && c.SF_USERNAME && (c.SF_PRIVATE_KEY || c.SF_PRIVATE_KEY_FILE),
      c.SF_CLIENT_ID && c.SF_CLIENT_SECRET,
    ];
    if (!modes.some(Boolean)) {
      throw new SyncError(
        'CONFIG_INVALID',
        'invalid configuration:\n  - CRM=salesforce needs credentials: SF_CLIENT_ID + SF_CLIENT_SECRET (client credentials), or SF_CLIENT_ID + SF_USERNAME + SF_PRIVATE_KEY_FILE (JWT bearer), or SF_INSTANCE_URL + SF_ACCESS_TOKEN (a ready token)',
      );
    }
    if (c.SF_API_USAGE_SLOWDOWN > c.SF_API_USAGE_PAUSE) {
      throw new SyncError('CONFIG_INVALID', 'invalid configuration:\n  - SF_API_USAGE_SLOWDOWN must not be above SF_API_USAGE_PAUSE');
    }
  }
  if (c.HTTP_HEADERS_TIMEOUT_MS > c.HTTP_REQUEST_TIMEOUT_MS) {
    // the headers are part of the request (Node refuses the reverse too)
    throw new SyncError('CONFIG_INVALID', 'invalid configuration:\n  - HTTP_HEADERS_TIMEOUT_MS must not be longer than HTTP_REQUEST_TIMEOUT_MS');
  }
  const remote: string[] = [];
  if (c.GCS_SUBSCRIPTION && !c.GCS_BUCKET) remote.push('GCS_SUBSCRIPTION needs GCS_BUCKET (the bucket its notifications are about)');
  if (c.GCS_SUBSCRIPTION && !c.GCS_SUBSCRIPTION.startsWith('projects/') && !c.GCP_PROJECT) remote.push('GCS_SUBSCRIPTION: a bare subscription name needs GCP_PROJECT (or give projects/PROJECT/subscriptions/NAME)');
  const sftpUrl = c.SFTP_URL ? parseSftpUrl(c.SFTP_URL) : null;
  if (typeof sftpUrl === 'string') remote.push(`SFTP_URL: ${sftpUrl}`);
  const where = sftpUrl && typeof sftpUrl !== 'string' ? { host: sftpUrl.host, port: sftpUrl.port } : undefined;
  if (c.SFTP_URL && !c.SFTP_HOST_KEY) remote.push(`SFTP_URL needs SFTP_HOST_KEY, the server's host key fingerprint (read it with: ${where ? keyscanHint(where.host, where.port) : 'ssh-keyscan -p PORT HOST | ssh-keygen -lf -'})`);
  if (c.SFTP_HOST_KEY) {
    const keys = parseHostKeys(c.SFTP_HOST_KEY, where);
    if (typeof keys === 'string') remote.push(`SFTP_HOST_KEY: ${keys}`);
  }
  if (c.GCS_AFTER === 'move' && c.GCS_PROCESSED_PREFIX && c.GCS_PREFIX && folderOf(c.GCS_PREFIX).startsWith(folderOf(c.GCS_PROCESSED_PREFIX))) {
    remote.push('GCS_PROCESSED_PREFIX must not be GCS_PREFIX nor a folder around it: moved objects would be listed again');
  }
  if (c.SFTP_URL && !c.SFTP_PRIVATE_KEY_FILE && !c.SFTP_PASSWORD) remote.push('SFTP_URL needs SFTP_PRIVATE_KEY_FILE or SFTP_PASSWORD (or SFTP_PASSWORD_FILE)');
  if (remote.length > 0) throw new SyncError('CONFIG_INVALID', `invalid configuration:\n  - ${remote.join('\n  - ')}`);
  const redis: string[] = [];
  if (c.REDIS_CLUSTER) {
    if (!c.REDIS_URL) {
      redis.push('REDIS_CLUSTER=true needs REDIS_URL: the cluster\'s seed nodes, redis://[user:password@]host:port, several separated by commas (no private redis-server is started for a cluster)');
    } else {
      // never echo REDIS_URL: it may hold the password
      const seeds = parseClusterSeeds(c.REDIS_URL);
      if (typeof seeds === 'string') redis.push(`REDIS_URL: ${seeds}`);
    }
    if (c.QUEUE_PREFIX !== undefined && hashTagOf(c.QUEUE_PREFIX) === null) {
      redis.push(
        `QUEUE_PREFIX: with REDIS_CLUSTER=true it must hold a hash tag, a name in braces such as ${DEFAULT_QUEUE_PREFIX.cluster} (the default), so that every key of the queue and of the stores lands in one hash slot (BullMQ's scripts touch several keys at once); got "${c.QUEUE_PREFIX}": set QUEUE_PREFIX={${c.QUEUE_PREFIX.replace(/[{}]/g, '') || 'ccai'}} or leave it unset`,
      );
    }
  } else if (c.REDIS_URL && listsSeveralServers(c.REDIS_URL)) {
    redis.push('REDIS_URL lists several servers: that is how a Redis Cluster\'s seed nodes are given; set REDIS_CLUSTER=true (or give one server)');
  }
  if (redis.length > 0) throw new SyncError('CONFIG_INVALID', `invalid configuration:\n  - ${redis.join('\n  - ')}`);
  const imap = c.IMAP_URL ? parseImapUrl(c.IMAP_URL) : null;
  // never echo the URL: it holds the mailbox password
  if (typeof imap === 'string') throw new SyncError('CONFIG_INVALID', `invalid configuration:\n  - IMAP_URL: ${imap}`);
  if (c.IMAP_WATCHDOG_MS !== undefined && c.IMAP_WATCHDOG_MS <= c.IMAP_POLL_MS) {
    throw new SyncError('CONFIG_INVALID', 'invalid configuration:\n  - IMAP_WATCHDOG_MS must be longer than IMAP_POLL_MS (a quiet mailbox is read once per poll)');
  }
  return {
    ...c,
    QUEUE_PREFIX: c.QUEUE_PREFIX ?? (c.REDIS_CLUSTER ? DEFAULT_QUEUE_PREFIX.cluster : DEFAULT_QUEUE_PREFIX.single),
    imap,
    // Salesforce: enough concurrent jobs to fill a flush (SF_BATCH_SIZE) with more arriving meanwhile
    WORKER_CONCURRENCY: c.WORKER_CONCURRENCY ?? (c.CRM === 'salesforce' ? Math.max(400, c.SF_BATCH_SIZE + 200) : 8),
    JOB_THREADS: c.JOB_THREADS ?? c.RENDER_THREADS ?? 'auto',
    dataDir: resolve(c.DATA_DIR),
    allowedHosts: parseAllowedHosts(c.CRM_ALLOWED_HOSTS),
    redisUrl: c.REDIS_URL,
  };
}
