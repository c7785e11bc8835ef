// `worker`: the long-running service. Workers process the shared queue; the inbox folder
// (INBOX_DIR), the mailbox (IMAP_URL) and the HTTP endpoint (HTTP_PORT) feed it; /healthz
// and /metrics report (src/app/service.ts builds them).
// SIGINT/SIGTERM: stop taking input, let active jobs finish, then exit. A job cut off by a
// harder stop is not lost: its lock expires and another worker runs it again (idempotently).
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { createApp } from '../app/app.ts';
import { startService } from '../app/service.ts';
import { EXIT } from './context.ts';
import { ensureWritableDir } from './writable-dir.ts';

export async function workerCommand(config: Config, log: Logger): Promise<number> {
  // before Redis and the target: the local CRM, rejected copies and the inbox's
  // processed/ and rejected/ folders are written while the worker runs
  ensureWritableDir('DATA_DIR', config.dataDir);
  if (config.INBOX_DIR) ensureWritableDir('INBOX_DIR', config.INBOX_DIR);
  const app = await createApp(config, log, { worker: true, allowPrivateRedis: false });
  const service = await startService(app);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping: finishing active jobs');
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await service.close();
  await app.close();
  log.info('stopped');
  return EXIT.ok;
}
