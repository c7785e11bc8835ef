// The `ccai-crm-sync` command line. One file per command in this folder.
import { Command, Option } from 'commander';
import { checkCommand } from './check.ts';
import { demoCommand } from './demo.ts';
import { DEFAULT_CLOSE_REASON, localCrmCommand } from './local-crm.ts';
import { runCommand as body, setup } from './context.ts';
import type { GlobalOptions } from './context.ts';
import { replayCommand } from './replay.ts';
import { runCommand } from './run.ts';
import { showCommand } from './show.ts';
import { statusCommand } from './status.ts';
import { workerCommand } from './worker.ts';

const program = new Command();
program
  .name('ccai-crm-sync')
  .description('Puts what happened on a CCAI Platform call or chat onto the CRM ticket it belongs to.')
  .addOption(new Option('--crm <target>', 'where enrichment goes (env CRM)').choices(['local', 'salesforce', 'email']))
  .option('--data-dir <dir>', 'local data: the local CRM, rejected files, a private Redis (env DATA_DIR, default ./data)')
  .addOption(new Option('--log-level <level>', 'log level on stderr (env LOG_LEVEL)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
  .showHelpAfterError();

const globals = () => program.opts<GlobalOptions>();
/** One-shot commands log only errors unless --log-level or LOG_LEVEL says otherwise: their report says it all. */
const oneShot = () => setup(globals(), { LOG_LEVEL: 'error' });

program
  .command('run')
  .description('process metadata files and folders through the queue until drained; one result per input')
  .argument('<paths...>', 'files or folders')
  .option('--dry-run', 'show what would be written on each ticket; write nothing, queue nothing')
  .option('--json', 'print the results as one JSON document')
  .option('--wait <seconds>', 'longest wait for a job that keeps retrying', '300')
  .action((paths: string[], opts) =>
    body(async () => {
      const { config, log } = oneShot();
      return (await runCommand(config, log, paths, opts)).code;
    }),
  );

program
  .command('worker')
  .description('run the long-running service: queue workers, inbox folder (INBOX_DIR), HTTP endpoint, /healthz, /metrics')
  .action(() =>
    body(async () => {
      const { config, log } = setup(globals());
      return workerCommand(config, log);
    }),
  );

program
  .command('status')
  .description('where a session is and why, e.g. `status call-1418`; without one, the queue and the mailbox')
  .argument('[kind-id]', 'call-<id> or chat-<id>')
  .option('--json', 'print as JSON')
  .action((key: string | undefined, opts) =>
    body(async () => {
      const { config, log } = oneShot();
      return statusCommand(config, log, key, opts);
    }),
  );

program
  .command('show')
  .description('the local CRM record of a ticket, with its notes')
  .argument('<ticket-id>')
  .option('--json', 'print as JSON')
  .option('--html', 'print one standalone HTML page (fields table and notes, every value escaped, no script or remote content)')
  .action((ticket: string, opts) =>
    body(async () => {
      const { config } = setup(globals());
      return showCommand(config, ticket, opts);
    }),
  );

const localCrm = program
  .command('local-crm')
  .description('close or reopen a ticket of the local CRM (a closed ticket refuses new notes, as a real CRM does), list the closed ones');
localCrm
  .command('close')
  .description('close a ticket: the local CRM refuses new notes on it (TARGET_REJECTED) until it is reopened')
  .argument('<ticket>', 'ticket id (it need not have a record yet)')
  .option('--reason <text>', 'why, shown in every refusal', DEFAULT_CLOSE_REASON)
  .option('--json', 'print as JSON')
  .action((ticket: string, opts: { reason: string; json?: boolean }) =>
    body(async () => {
      const { config } = setup(globals());
      return localCrmCommand(config, { action: 'close', ticket, reason: opts.reason }, opts);
    }),
  );
localCrm
  .command('reopen')
  .description('reopen a closed ticket (then `replay` what it refused); exit code 1 when it was not closed')
  .argument('<ticket>', 'ticket id')
  .option('--json', 'print as JSON')
  .action((ticket: string, opts: { json?: boolean }) =>
    body(async () => {
      const { config } = setup(globals());
      return localCrmCommand(config, { action: 'reopen', ticket }, opts);
    }),
  );
localCrm
  .command('closed')
  .description('list the closed tickets')
  .option('--json', 'print as JSON')
  .action((opts: { json?: boolean }) =>
    body(async () => {
      const { config } = setup(globals());
      return localCrmCommand(config, { action: 'closed' }, opts);
    }),
  );

program
  .command('replay')
  .description('re-queue failed sessions after a fix (all, or the ones named)')
  .argument('[kind-id...]', 'only these sessions')
  .option('--list', 'only list the failed sessions')
  .option('--json', 'print as JSON')
  .action((keys: string[], opts) =>
    body(async () => {
      const { config, log } = oneShot();
      return replayCommand(config, log, keys, opts);
    }),
  );

program
  .command('check')
  .description('connect to the target (CRM) and check that every mapped field exists and is writable')
  .option('--json', 'print as JSON')
  .action((opts) =>
    body(async () => {
      const { config, log } = oneShot();
      return checkCommand(config, log, opts);
    }),
  );

program
  .command('demo')
  .description('run the bundled sample files into the local CRM and show the result')
  .option('--console', 'then keep a worker running with the admin console on, and print its address and password')
  .action((opts: { console?: boolean }) =>
    body(async () => {
      const { config, log } = oneShot();
      return demoCommand(config, log, opts);
    }),
  );

await program.parseAsync(process.argv);
