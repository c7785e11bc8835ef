// Runs the inbox over a folder for a number of passes and prints its log lines (JSON) on stdout.
// For tests that need the inbox to run as another user: root reads every file, so a file that
// is really unreadable (EACCES) needs the inbox to run as, say, nobody.
// Usage: node test/helpers/inbox-passes.ts <dir> <passes>
import { createLogger } from '../../src/logger.ts';
import type { SubmitResult } from '../../src/pipeline/submit.ts';
import { startInbox } from '../../src/sources/inbox.ts';

const [dir, passes] = process.argv.slice(2);
if (!dir || !passes) throw new Error('usage: inbox-passes.ts <dir> <passes>');
const log = createLogger('debug', process.stdout);
const inbox = startInbox({
  dir,
  pollMs: 3_600_000, // passes are made below, one at a time
  settleMs: 0,
  maxBytes: 100_000,
  submit: async (): Promise<SubmitResult> => {
    throw new Error('nothing is expected to be submitted');
  },
  log,
});
for (let i = 0; i < Number(passes); i++) {
  await inbox.scan();
  await new Promise((r) => setTimeout(r, 20));
}
await inbox.close();
