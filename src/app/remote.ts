// The remote sources (a Cloud Storage bucket, an SFTP folder), built from their slice of the
// configuration and loaded only when configured (the Google Cloud and SSH libraries are not
// small): the worker's pollers and notifications, and `run gs://…` / `run sftp://…`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { SyncError, toSyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Taken } from '../pipeline/remote-intake.ts';
import { startRemotePoller } from '../sources/remote/poller.ts';
import type { RemotePoller } from '../sources/remote/poller.ts';
import type { RemoteStorage } from '../sources/remote/storage.ts';
import type { RemoteHealth } from '../store/remote-state.ts';
import type { GcsSettings } from '../sources/gcs/gcs-storage.ts';
import type { SftpSettings } from '../sources/sftp/sftp-storage.ts';
import type { App } from './app.ts';

/**
 * Objects of a bucket a sweep takes at once: each is a download and a submission, mostly
 * waiting on the network; eight keep a backlog moving without a burst the queue would feel.
 * (An SFTP folder is taken one file at a time: one connection, one request at a time.)
 */
const GCS_CONCURRENCY = 8;

/** GCS_PREFIX as a folder: '' or `folder/` (never a leading slash). */
function folderPrefix(p: string): string {
  const t = p.replace(/^\/+/, '');
  return t === '' || t.endsWith('/') ? t : `${t}/`;
}

export function gcsSettingsOf(c: Config, bucket = c.GCS_BUCKET!, prefix = c.GCS_PREFIX): GcsSettings {
  const folder = folderPrefix(prefix);
  return {
    bucket,
    prefix: folder,
    after: c.GCS_AFTER,
    processedPrefix: c.GCS_PROCESSED_PREFIX ? folderPrefix(c.GCS_PROCESSED_PREFIX) : `${folder}processed/`,
    rejectedPrefix: c.GCS_REJECTED_PREFIX ? folderPrefix(c.GCS_REJECTED_PREFIX) : null,
  };
}

export async function sftpSettingsOf(c: Config, url = c.SFTP_URL!): Promise<SftpSettings> {
  const { parseSftpUrl } = await import('../sources/sftp/sftp-url.ts');
  const parsed = parseSftpUrl(url);
  if (typeof parsed === 'string') throw new SyncError('CONFIG_INVALID', `invalid configuration:\n  - SFTP_URL: ${parsed}`);
  if (!c.SFTP_HOST_KEY) throw new SyncError('CONFIG_INVALID', 'invalid configuration:\n  - SFTP_HOST_KEY: the server\'s host key fingerprint is required (read it with: ssh-keyscan -p PORT HOST | ssh-keygen -lf -)');
  let privateKey: string | null = null;
  if (c.SFTP_PRIVATE_KEY_FILE) {
    try {
      privateKey = readFileSync(c.SFTP_PRIVATE_KEY_FILE, 'utf8');
    } catch (err) {
      throw new SyncError('CONFIG_INVALID', `invalid configuration:\n  - SFTP_PRIVATE_KEY_FILE: cannot read ${c.SFTP_PRIVATE_KEY_FILE} (${(err as NodeJS.ErrnoException).code})`);
    }
  }
  return { url: parsed, privateKey, password: c.SFTP_PASSWORD ?? null, hostKey: c.SFTP_HOST_KEY, after: c.SFTP_AFTER, claimStaleMs: c.SFTP_CLAIM_STALE_MS };
}

/** `gs://bucket/prefix/` or `sftp://user@host/path` for `run`: read-only use, the settings' credentials. */
export async function openRemoteStorage(config: Config, log: Logger, url: string): Promise<RemoteStorage> {
  const gs = /^gs:\/\/([^/]+)\/?(.*)$/i.exec(url);
  if (gs) {
    const { openGcsStorage } = await import('../sources/gcs/gcs-storage.ts');
    return openGcsStorage(gcsSettingsOf(config, gs[1]!, gs[2] ?? ''), log.child({ component: 'gcs' }));
  }
  if (/^sftp:\/\//i.test(url)) {
    const { openSftpStorage } = await import('../sources/sftp/sftp-storage.ts');
    return openSftpStorage(await sftpSettingsOf(config, url), log.child({ component: 'sftp' }));
  }
  throw new SyncError('CONFIG_INVALID', `${url}: not a gs:// or sftp:// address`);
}

export interface RemoteSources {
  pollers: RemotePoller[];
  close(): Promise<void>;
}

/** The worker's remote sources: each storage's poller, and the bucket's notifications when GCS_SUBSCRIPTION is set. */
export async function startRemoteSources(app: App, onTaken: (source: string, t: Taken) => void): Promise<RemoteSources> {
  const { config, log } = app;
  const pollers: RemotePoller[] = [];
  const closers: Array<() => Promise<void>> = [];
  const intake = (storage: RemoteStorage, component: string) => ({
    storage,
    state: app.remoteState,
    submit: app.submit,
    maxBytes: config.MAX_FILE_BYTES,
    rejectedDir: join(config.dataDir, 'rejected'),
    log: log.child({ component }),
  });
  // A source down at start-up (SOURCE_UNAVAILABLE) does not stop the worker: it is opened again
  // in the background, with backoff, and reports `retrying` (and /healthz 503) meanwhile. A
  // setting to fix (a refused host key, login, bucket or role: CONFIG_INVALID) stops it at once.
  let closed = false;
  const patiently = async <S>(label: string, open: () => Promise<S>, started: (s: S) => void): Promise<void> => {
    try {
      started(await open());
      return;
    } catch (err) {
      const e = toSyncError(err);
      if (!e.retryable) throw e;
      const waiting = waitingPoller(label, e.message);
      pollers.push(waiting);
      log.warn({ source: label, code: e.code, err: e.message }, 'remote source unavailable at start; opening it again in the background');
      void (async () => {
        for (let delay = 1_000; !closed; delay = Math.min(delay * 2, 60_000)) {
          await new Promise((r) => setTimeout(r, delay));
          if (closed) return;
          try {
            const s = await open();
            if (closed) return;
            pollers.splice(pollers.indexOf(waiting), 1);
            started(s);
            log.info({ source: label }, 'remote source opened');
            return;
          } catch (again) {
            const a = toSyncError(again);
            waiting.health().lastError = a.message;
            if (!a.retryable) log.error({ source: label, code: a.code, err: a.message }, 'remote source refused: fix the setting it names; trying again meanwhile');
          }
        }
      })();
    }
  };
  try {
    if (config.GCS_BUCKET) {
      const { openGcsStorage } = await import('../sources/gcs/gcs-storage.ts');
      const { startGcsNotifications } = await import('../sources/gcs/notifications.ts');
      const settings = gcsSettingsOf(config);
      await patiently(`gs://${settings.bucket}/${settings.prefix}`, () => openGcsStorage(settings, log.child({ component: 'gcs' })), (storage) => {
        const poller = startRemotePoller(intake(storage, 'gcs'), { intervalMs: config.GCS_SWEEP_MS, settleMs: 0, concurrency: GCS_CONCURRENCY, log: log.child({ component: 'gcs' }), onTaken: (t) => onTaken(storage.label, t) });
        pollers.push(poller);
        closers.push(() => poller.close());
        if (config.GCS_SUBSCRIPTION) {
          const subscription = config.GCS_SUBSCRIPTION.startsWith('projects/') ? config.GCS_SUBSCRIPTION : `projects/${config.GCP_PROJECT}/subscriptions/${config.GCS_SUBSCRIPTION}`;
          const notifications = startGcsNotifications(
            { subscription },
            async (n) => {
              // another bucket's, outside the prefix, or our own move into processed/: not ours to take
              const name = storage.entryName(n.bucket, n.name);
              if (name === null) return 'ack';
              // the current generation: deleted since (nothing to take), or rewritten (the newer
              // one is taken now; its own notification then finds it in the ledger)
              const entry = await storage.stat(name);
              return entry === null ? 'ack' : poller.take(entry);
            },
            log.child({ component: 'pubsub' }),
          );
          closers.unshift(() => notifications.close());
        }
      });
    }
    if (config.SFTP_URL) {
      const { openSftpStorage } = await import('../sources/sftp/sftp-storage.ts');
      const settings = await sftpSettingsOf(config);
      await patiently(settings.url.label, () => openSftpStorage(settings, log.child({ component: 'sftp' })), (storage) => {
        const poller = startRemotePoller(intake(storage, 'sftp'), { intervalMs: config.SFTP_POLL_MS, settleMs: config.SFTP_SETTLE_MS, log: log.child({ component: 'sftp' }), onTaken: (t) => onTaken(storage.label, t) });
        pollers.push(poller);
        closers.push(() => poller.close());
      });
    }
  } catch (err) {
    closed = true;
    for (const c of closers) await c().catch(() => undefined);
    throw err;
  }
  return {
    pollers,
    async close() {
      closed = true;
      for (const c of closers) await c();
    },
  };
}

/** What /healthz and /metrics see of a source not open yet: retrying, with the error. */
function waitingPoller(label: string, error: string): RemotePoller {
  const h: RemoteHealth = { source: label, state: 'retrying', lastOkAt: null, lastError: error, taken: 0, skipped: 0, rejected: 0, oldestPendingAt: null, staleAfterMs: 0 };
  return {
    label,
    sweepNow: async () => {},
    take: async () => 'nack',
    health: () => h,
    healthy: () => false,
    close: async () => {},
  };
}
