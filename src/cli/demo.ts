// `demo`: the bundled sample files through the real queue into the local CRM, then what
// landed on one ticket. No CRM account and no configuration needed.
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { createApp } from '../app/app.ts';
import { startService } from '../app/service.ts';
import { openLocalCrm } from '../app/targets.ts';
import { shellWord } from '../targets/local/local-crm.ts';
import { EXIT } from './context.ts';
import { runCommand as run } from './run.ts';
import { showCommand } from './show.ts';
import { ensureWritableDir } from './writable-dir.ts';

/** call-987's ticket, closed in the console demo's local CRM so that a session fails at the target */
const CLOSED_TICKET = '500ak00001nkg4MAAQ';

export const SAMPLES_DIR = fileURLToPath(new URL('../../samples/', import.meta.url));

export async function demoCommand(baseConfig: Config, log: Logger, opts: { console?: boolean } = {}): Promise<number> {
  if (!existsSync(SAMPLES_DIR)) throw new Error(`samples folder missing: ${SAMPLES_DIR}`);
  // The demo keeps its queue apart from a real installation's (own key prefix, local CRM),
  // and starts from a clean slate each time so it always shows the whole flow.
  // With the console, a local CRM of its own (a fresh one each time, so that its closed ticket
  // refuses a note that is not there yet) and so a queue of its own.
  const dataDir = opts.console ? join(baseConfig.dataDir, 'console-demo') : baseConfig.dataDir;
  const config: Config = { ...baseConfig, CRM: 'local', QUEUE_PREFIX: `${baseConfig.QUEUE_PREFIX}-demo`, dataDir };
  // the local CRM (and a private Redis) go there: say so before starting anything
  ensureWritableDir('DATA_DIR', config.dataDir);
  if (opts.console) {
    for (const f of ['local-crm.sqlite', 'local-crm.sqlite-wal', 'local-crm.sqlite-shm']) rmSync(join(dataDir, f), { force: true });
    const crm = await openLocalCrm(config);
    try {
      crm.closeTicket(CLOSED_TICKET, 'resolved by phone before the call was synced');
    } finally {
      await crm.close();
    }
  }
  const setup = await createApp(config, log, { worker: false, allowPrivateRedis: true });
  try {
    await setup.queue.cleanFinished();
  } finally {
    await setup.close();
  }
  const out = process.stdout;
  out.write(`ccai-crm-sync demo: the files in ${SAMPLES_DIR} go through the queue into the local CRM in ${config.dataDir}\n`);
  out.write('(one is broken on purpose, one is a chat with no CRM ticket, one is a recording)\n');
  if (opts.console) out.write(`(and ticket ${CLOSED_TICKET} is closed in this local CRM: call-987's note is refused, as a CRM refuses a closed case)\n`);
  out.write('\n');
  const { results } = await run(config, log, [SAMPLES_DIR], {});
  out.write('\nWhat is now on ticket 500ak000024vx4uAAA (`ccai-crm-sync show 500ak000024vx4uAAA`):\n\n');
  await showCommand(config, '500ak000024vx4uAAA', {});
  out.write('\nTry: npm run cli -- run --dry-run samples/ · npm run cli -- show 500ak00001nkg4MAAQ --json\n');
  // The broken sample is rejected on purpose; anything that failed is a real problem (but
  // call-987, on the console demo's closed ticket).
  const failed = results.filter((r) => r.status === 'failed' && !(opts.console && r.session === 'call-987'));
  if (!opts.console) return failed.length > 0 ? EXIT.problems : EXIT.ok;
  await serveConsole(config, log);
  return failed.length > 0 ? EXIT.problems : EXIT.ok;
}

/**
 * `demo --console` (`npm run console-demo`): after the demo, a worker on the demo's queue with
 * the admin console on, until Ctrl-C. The password is ADMIN_PASSWORD when set, else a new
 * random one, printed with the address (the console listens on HTTP_HOST, the loopback unless
 * set otherwise).
 */
async function serveConsole(demoConfig: Config, log: Logger): Promise<void> {
  const password = demoConfig.ADMIN_PASSWORD ?? randomBytes(12).toString('base64url');
  // the demo's worker reads nothing but what is sent to it: a machine's configured inbox,
  // mailbox, bucket or SFTP folder (and the ingest endpoint) stay with the real workers, whose
  // files would otherwise be taken into the demo's local CRM
  const config: Config = {
    ...demoConfig,
    ADMIN_PASSWORD: password,
    INBOX_DIR: undefined,
    imap: null,
    IMAP_URL: undefined,
    GCS_BUCKET: undefined,
    SFTP_URL: undefined,
    HTTP_TOKEN: undefined,
  };
  const app = await createApp(config, log, { worker: true, allowPrivateRedis: true });
  let service;
  try {
    service = await startService(app);
  } catch (err) {
    await app.close();
    throw err;
  }
  const out = process.stdout;
  // a password the admin set is theirs: not printed
  out.write(`\nThe admin console: ${service.adminUrl}\n  user:     ${config.ADMIN_USER}\n  password: ${demoConfig.ADMIN_PASSWORD ? 'the one in ADMIN_PASSWORD' : password}\n`);
  out.write(`\nIn the console: call-987 failed (TARGET_REJECTED) on the closed ticket ${CLOSED_TICKET}; read why on its page. The fix, from another terminal:\n`);
  out.write(`  npm run cli -- --data-dir ${shellWord(config.dataDir)} local-crm reopen ${CLOSED_TICKET}\n`);
  out.write('then Replay it in the console (Failed, or its page) and watch it become delivered. Ctrl-C stops the worker.\n');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await service.close();
  await app.close();
}
