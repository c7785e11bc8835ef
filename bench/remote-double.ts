// The Salesforce double in its own process (bench/double-process.ts), driven over IPC, so that
// a benchmark's CPU and memory figures are the worker's alone. Used by bench/salesforce.ts and
// bench/run.ts.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

export /** The Salesforce double in a child process (bench/double-process.ts), driven over IPC. */
class RemoteDouble {
  private readonly child: ChildProcess;
  private next = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private constructor(child: ChildProcess) {
    this.child = child;
    child.on('message', (m: { id?: number; value?: unknown }) => {
      if (m.id !== undefined) {
        this.pending.get(m.id)?.resolve(m.value);
        this.pending.delete(m.id);
      }
    });
    // a double that dies fails what was asked of it, rather than leaving the caller waiting
    child.on('exit', (code, signal) => {
      for (const p of this.pending.values()) p.reject(new Error(`the Salesforce double exited (${signal ?? code})`));
      this.pending.clear();
    });
  }
  static async start(latencyMs: number): Promise<RemoteDouble> {
    const child = fork(new URL('./double-process.ts', import.meta.url).pathname, [String(latencyMs)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`the Salesforce double exited (${code}) before it was ready`)));
    });
    return new RemoteDouble(child);
  }
  get pid(): number | undefined {
    return this.child.pid;
  }
  ask<T>(cmd: string, n?: number, arg?: unknown): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return reject(new Error('the Salesforce double is not running'));
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, cmd, n, arg });
    });
  }
  /** Stops the double's process at once (on errors and Ctrl-C; `ask('close')` is the orderly way). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
