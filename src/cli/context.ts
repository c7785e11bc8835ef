// What every command starts with: configuration (env + --crm etc.), the logger, and one way
// to end with a clear message and the right exit code.
import { loadConfig } from '../config.ts';
import type { Config, RawConfig } from '../config.ts';
import type { InputWarning } from '../domain/types.ts';
import { isSyncError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import type { Logger } from '../logger.ts';

export const EXIT = { ok: 0, problems: 1, usage: 2, unavailable: 3 } as const;

export interface GlobalOptions {
  crm?: string;
  dataDir?: string;
  logLevel?: string;
}

/** The command's log level once known (setup); before that, the environment's. */
let logLevel: string | undefined;

/**
 * The configuration: `--crm`, `--data-dir` and `--log-level` win over the environment and
 * CONFIG_FILE, which win over `defaults` (a command's own, such as one-shot commands' quiet log).
 */
export function setup(opts: GlobalOptions, defaults: Partial<Record<keyof RawConfig, string>> = {}): { config: Config; log: Logger } {
  const config = loadConfig(process.env, { CRM: opts.crm, DATA_DIR: opts.dataDir, LOG_LEVEL: opts.logLevel }, defaults);
  logLevel = config.LOG_LEVEL;
  const log = createLogger(config.LOG_LEVEL);
  return { config, log };
}

/** Runs a command body, printing configuration and availability problems plainly. */
export async function runCommand(body: () => Promise<number>): Promise<never> {
  guardOutput();
  let code: number;
  try {
    code = await body();
  } catch (err) {
    if (isSyncError(err)) {
      process.stderr.write(`ccai-crm-sync: ${err.message}\n`);
      code = err.code === 'CONFIG_INVALID' ? EXIT.usage : err.code === 'QUEUE_UNAVAILABLE' ? EXIT.unavailable : EXIT.problems;
    } else {
      // An admin gets one line; whoever reports or fixes the bug gets the stack one flag away.
      const level = logLevel ?? process.env.LOG_LEVEL;
      const stack = (level === 'debug' || level === 'trace') && err instanceof Error ? err.stack : undefined;
      process.stderr.write(`ccai-crm-sync: unexpected error: ${stack ?? `${String(err).replace(/\s*\n\s*/g, ' ')} (run with --log-level debug for the stack)`}\n`);
      code = EXIT.problems;
    }
  }
  return exitWhenFlushed(code);
}

/**
 * Exits once stdout and stderr have taken everything written to them. Into a pipe, Node writes
 * asynchronously: `process.exit` right after a large report would cut it where the pipe's
 * buffer ended (64 KiB), and `run --json | python3 -m json.tool` would read half a document.
 * A stream that failed (see guardOutput) is destroyed and waited for no longer. The exit code
 * is the command's; 1 instead of 0 when its output could not be written.
 */
export async function exitWhenFlushed(code: number): Promise<never> {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(outputFailed && code === EXIT.ok ? EXIT.problems : code);
}

function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return Promise.resolve();
  // callbacks run in order: this one runs once everything written before it is out (or failed)
  return new Promise((resolve) =>
    stream.write('', (err) => {
      if (err) outputError(stream, err);
      resolve();
    }),
  );
}

/** Set when stdout or stderr could not be written for a reason other than its reader going away. */
let outputFailed = false;
const failedStreams = new Set<NodeJS.WriteStream>();

/**
 * Output that cannot be written never ends a command early nor with a stack trace. A reader
 * that went away (`| head`: EPIPE) is not an error of ours: later writes to that stream are
 * dropped, the command finishes and exits with its own code (`run | head` still exits 1 when
 * an input was rejected). Any other failure (ENOSPC: stdout is a file on a full disk) is one
 * line on stderr, while stderr can take it, and exit code 1.
 */
export function guardOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => outputError(stream, err));
  }
}

function outputError(stream: NodeJS.WriteStream, err: NodeJS.ErrnoException): void {
  if (failedStreams.has(stream)) return;
  failedStreams.add(stream);
  // once failed, a stream takes nothing more: writes are dropped, their callbacks still called
  stream.write = ((_chunk: unknown, encoding?: unknown, cb?: unknown) => {
    const done = typeof encoding === 'function' ? encoding : cb;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  }) as typeof stream.write;
  if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
  outputFailed = true;
  if (stream !== process.stderr && !failedStreams.has(process.stderr)) {
    const name = stream === process.stdout ? 'stdout' : 'an output stream';
    const message = err.message.replace(/\s*\n\s*/g, ' ');
    const why = err.code && !message.startsWith(err.code) ? `${err.code}: ${message}` : message;
    process.stderr.write(`ccai-crm-sync: cannot write to ${name} (${why}); the output is incomplete\n`);
  }
}

/** A parser's warning as one line: its message, which names the field, or the field before it when it does not. */
export function warningText(w: InputWarning): string {
  return w.message.startsWith(w.field) ? w.message : `${w.field}: ${w.message}`;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
