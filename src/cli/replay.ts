// `replay [kind-id...]`: re-queue failed sessions (all, or the ones named) after a fix.
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { createApp } from '../main.ts';
import { EXIT, printJson } from './context.ts';

export async function replayCommand(config: Config, log: Logger, keys: string[], opts: { json?: boolean; list?: boolean }): Promise<number> {
  const app = await createApp(config, log, { worker: false, allowPrivateRedis: true });
  try {
    const wanted = new Set(keys);
    const filter = (f: { sessionKey: string }) => wanted.size === 0 || wanted.has(f.sessionKey);
    const jobs = opts.list ? (await app.queue.failed()).filter(filter) : await app.queue.replay(filter);
    if (!opts.list) {
      for (const f of jobs) {
        await app.status.record(f.sessionKey, { state: 'queued', version: f.version, ticket: f.ticketId, reason: 'replayed', code: null, source: f.source, jobId: f.jobId });
      }
    }
    if (opts.json) printJson({ [opts.list ? 'failed' : 'replayed']: jobs });
    else {
      process.stdout.write(opts.list ? `${jobs.length} failed job(s)\n` : `replayed ${jobs.length} failed job(s); a running worker picks them up\n`);
      for (const f of jobs) process.stdout.write(`  ${f.sessionKey.padEnd(14)} ${f.ticketId.padEnd(20)} ${f.reason}\n`);
    }
    return EXIT.ok;
  } finally {
    await app.close();
  }
}
