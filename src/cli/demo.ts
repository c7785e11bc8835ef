// `demo`: the bundled sample files through the real queue into the local CRM, then what
// landed on one ticket. No CRM account and no configuration needed.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { createApp } from '../app/app.ts';
import { EXIT } from './context.ts';
import { runCommand as run } from './run.ts';
import { showCommand } from './show.ts';
import { ensureWritableDir } from './writable-dir.ts';

export const SAMPLES_DIR = fileURLToPath(new URL('../../samples/', import.meta.url));

export async function demoCommand(baseConfig: Config, log: Logger): Promise<number> {
  if (!existsSync(SAMPLES_DIR)) throw new Error(`samples folder missing: ${SAMPLES_DIR}`);
  // The demo keeps its queue apart from a real installation's (own key prefix, local CRM),
  // and starts from a clean slate each time so it always shows the whole flow.
  const config: Config = { ...baseConfig, CRM: 'local', QUEUE_PREFIX: `${baseConfig.QUEUE_PREFIX}-demo` };
  // the local CRM (and a private Redis) go there: say so before starting anything
  ensureWritableDir('DATA_DIR', config.dataDir);
  const setup = await createApp(config, log, { worker: false, allowPrivateRedis: true });
  try {
    await setup.queue.cleanFinished();
  } finally {
    await setup.close();
  }
  const out = process.stdout;
  out.write(`ccai-crm-sync demo: the files in ${SAMPLES_DIR} go through the queue into the local CRM in ${config.dataDir}\n`);
  out.write('(one is broken on purpose, one is a chat with no CRM ticket, one is a recording)\n\n');
  const { results } = await run(config, log, [SAMPLES_DIR], {});
  out.write('\nWhat is now on ticket 500ak000024vx4uAAA (`ccai-crm-sync show 500ak000024vx4uAAA`):\n\n');
  await showCommand(config, '500ak000024vx4uAAA', {});
  out.write('\nTry: npm run cli -- run --dry-run samples/ · npm run cli -- show 500ak00001nkg4MAAQ --json\n');
  // The broken sample is rejected on purpose; anything that failed is a real problem.
  return results.some((r) => r.status === 'failed') ? EXIT.problems : EXIT.ok;
}
