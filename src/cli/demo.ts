// `demo`: the bundled sample files through the real queue into the local CRM, then what
// landed on one ticket. No CRM account and no configuration needed.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { runCommand as run } from './run.ts';
import { showCommand } from './show.ts';

export const SAMPLES_DIR = fileURLToPath(new URL('../../samples/', import.meta.url));

export async function demoCommand(config: Config, log: Logger): Promise<number> {
  if (!existsSync(SAMPLES_DIR)) throw new Error(`samples folder missing: ${SAMPLES_DIR}`);
  const out = process.stdout;
  out.write(`ccai-crm-sync demo: the files in ${SAMPLES_DIR} go through the queue into the local CRM in ${config.dataDir}\n`);
  out.write('(one of them is broken on purpose, one is a chat with no CRM ticket)\n\n');
  const code = await run(config, log, [SAMPLES_DIR], {});
  out.write('\nWhat is now on ticket 500ak000024vx4uAAA (`ccai-crm-sync show 500ak000024vx4uAAA`):\n\n');
  await showCommand(config, '500ak000024vx4uAAA', {});
  out.write('\nTry: ccai-crm-sync status call-1418 · ccai-crm-sync run --dry-run samples/ · ccai-crm-sync show 500ak00001nkg4MAAQ --json\n');
  // The broken sample is expected to be rejected; the demo itself succeeded if nothing failed.
  return code === 0 || code === 1 ? 0 : code;
}
