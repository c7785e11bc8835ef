// Shared test plumbing: the real Redis (REDIS_URL or the machine's 127.0.0.1:6379) with a
// unique key prefix per test, temp folders, and the CLI run as a real child process.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster, Redis } from 'ioredis';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = join(ROOT, 'test/fixtures');
export const CLI = join(ROOT, 'bin/ccai-crm-sync.js');
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniquePrefix(label = 't'): string {
  return `ccaitest-${label}-${randomBytes(4).toString('hex')}`;
}

export function tempDir(label = 'ccai'): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), `${label}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Deletes every key under a BullMQ/status prefix. With `cluster`, `url` is a Redis Cluster's
 * seed nodes (comma-separated, as REDIS_URL takes them): every master is scanned, each key
 * deleted on the node that holds it (one key per command: no two need share a slot).
 */
export async function dropPrefix(prefix: string, url = TEST_REDIS_URL, opts: { cluster?: boolean } = {}): Promise<void> {
  if (opts.cluster) {
    const c = new Cluster(url.split(','), { redisOptions: { maxRetriesPerRequest: 1 } });
    try {
      await new Promise<void>((resolve, reject) => {
        c.once('ready', resolve);
        c.once('error', reject);
      });
      for (const node of c.nodes('master')) await dropOnNode(node, prefix);
    } finally {
      c.disconnect();
    }
    return;
  }
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    await dropOnNode(r, prefix);
  } finally {
    r.disconnect();
  }
}

async function dropOnNode(r: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) {
      const p = r.pipeline();
      for (const k of keys) p.del(k);
      await p.exec();
    }
  } while (cursor !== '0');
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ccai-crm-sync <args>` with the test's environment (no inherited CRM settings). */
export function runCli(args: string[], env: Record<string, string>, opts: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void stopChild(child, 'SIGKILL').finally(() => reject(new Error(`ccai-crm-sync ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`)));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (!timedOut) resolve({ code, stdout, stderr });
    });
  });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A TCP port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Stopped {
  /** the exit code, null when a signal ended it */
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Stops a child process and resolves once it is gone, with how it ended. Resolves at once when
 * it has already exited (waiting for an 'exit' that was already emitted would wait for ever).
 * A child spawned `detached` leads its own process group: the signal goes to the whole group,
 * so that what it started goes too. Still there after `timeoutMs`: SIGKILL. Once it has exited,
 * waits (a little) for its stdout and stderr to be read to the end, so that a test can look at
 * what it printed last.
 */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', opts: { timeoutMs?: number } = {}): Promise<Stopped> {
  const ended = (): Stopped => ({ code: child.exitCode, signal: child.signalCode });
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const group = leadsGroup(child.pid);
    const send = (sig: NodeJS.Signals) => {
      try {
        if (group) process.kill(-child.pid!, sig);
        else child.kill(sig);
      } catch {
        /* already gone */
      }
    };
    send(signal);
    if (!(await within(exited, opts.timeoutMs ?? 10_000))) {
      send('SIGKILL');
      if (!(await within(exited, 10_000))) throw new Error(`process ${child.pid} (${child.spawnfile}) did not exit after SIGKILL`);
    }
  }
  await within(Promise.all([child.stdout, child.stderr].map((s) => (s && !s.closed ? new Promise((r) => s.once('close', r)) : null))), 2_000);
  return ended();
}

/** True when `pid` leads its own process group (spawned detached), not ours. */
function leadsGroup(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `p` settled within `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** `ccai-crm-sync <args>` started and left running (a test kills it), with what it logs kept. */
export function spawnCli(args: string[], env: Record<string, string>): { child: ChildProcess; stderr(): string } {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return { child, stderr: () => stderr };
}

export interface WorkerProcess {
  child: ChildProcess;
  /** its HTTP port (/healthz, /metrics) */
  port: number;
  /** what it logged so far */
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<Stopped>;
}

/** `ccai-crm-sync worker` as a real process on a free port, once /healthz answers `expect`. */
export async function startWorkerProcess(env: Record<string, string>, opts: { expect?: number; home?: string } = {}): Promise<WorkerProcess> {
  const port = await freePort();
  let stderr = '';
  const child = spawn(process.execPath, [CLI, 'worker'], {
    env: { PATH: process.env.PATH ?? '', HOME: opts.home ?? process.env.HOME ?? '/tmp', LOG_LEVEL: 'info', ...env, HTTP_PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d) => (stderr += d));
  const w: WorkerProcess = { child, port, stderr: () => stderr, stop: (signal = 'SIGTERM') => stopChild(child, signal) };
  try {
    await waitFor('the worker answers', async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status === (opts.expect ?? 200), 30_000);
  } catch (err) {
    await w.stop('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return w;
}
