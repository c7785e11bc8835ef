// `replay [kind-id...]`: re-queue failed sessions (all, or the ones named) after a fix. With
// CRM=email that includes e-mails that came back after they were sent (a bounce, a NEW ticket).
// The rules are src/app/replay.ts's, which the admin console's replay shares.
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { createApp } from '../app/app.ts';
import { replay, replayable } from '../app/replay.ts';
import { EXIT, printJson } from './context.ts';

export async function replayCommand(config: Config, log: Logger, keys: string[], opts: { json?: boolean; list?: boolean }): Promise<number> {
  const app = await createApp(config, log, { worker: false, allowPrivateRedis: true });
  try {
    const wanted = new Set(keys);
    const filter = (f: { sessionKey: string }) => wanted.size === 0 || wanted.has(f.sessionKey);
    const { jobs, expired } = opts.list ? await replayable(app, filter) : await replay(app, filter);
    if (opts.json) printJson({ [opts.list ? 'failed' : 'replayed']: jobs, ...(expired ? { expired } : {}) });
    else {
      if (expired) process.stdout.write(`${expired} returned e-mail(s) could not be replayed: their jobs expired (KEEP_COMPLETED_DAYS); submit their files again\n`);
      process.stdout.write(opts.list ? `${jobs.length} failed job(s)\n` : `replayed ${jobs.length} failed job(s); a running worker picks them up\n`);
      for (const f of jobs) process.stdout.write(`  ${f.sessionKey.padEnd(14)} ${f.ticketId.padEnd(20)} ${f.reason}\n`);
    }
    return EXIT.ok;
  } finally {
    await app.close();
  }
}
