// The Salesforce double in its own process (bench/double-process.ts), driven over IPC, so that
// a benchmark's CPU and memory figures are the worker's alone. Used by bench/salesforce.ts and
// bench/run.ts.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

export /** The Salesforce double in a child process (bench/double-process.ts), driven over IPC. */
class RemoteDouble {
  private readonly child: ChildProcess;
  private next = 0;
  private readonly pending = new Map<number, (v: unknown) => void>();
  private constructor(child: ChildProcess) {
    this.child = child;
    child.on('message', (m: { id?: number; value?: unknown }) => {
      if (m.id !== undefined) {
        this.pending.get(m.id)?.(m.value);
        this.pending.delete(m.id);
      }
    });
  }
  static async start(latencyMs: number): Promise<RemoteDouble> {
    const child = fork(new URL('./double-process.ts', import.meta.url).pathname, [String(latencyMs)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve) => child.once('message', () => resolve()));
    return new RemoteDouble(child);
  }
  ask<T>(cmd: string, n?: number): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve) => {
      this.pending.set(id, resolve as (v: unknown) => void);
      this.child.send({ id, cmd, n });
    });
  }
}
