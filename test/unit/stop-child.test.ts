// The tests' stopChild: a child that already exited (by itself or by a signal) does not make
// clean-up wait for an 'exit' that was already emitted; one that ignores SIGTERM is killed;
// a detached child goes with what it started.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { stopChild } from '../helpers/env.ts';

const node = (code: string, opts: { detached?: boolean } = {}): ChildProcess =>
  spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? false });

const exited = (child: ChildProcess) => new Promise((r) => child.once('exit', r));

/** Whether a process with this pid is there (a zombie, dead but not yet reaped, counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (name) S ...", S the state; Z for a zombie
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc: kill(0) said it is there
  }
}

// each test has its own time limit: a clean-up that waits for ever fails instead of hanging
const limit = { timeout: 15_000 };

describe('stopChild', () => {
  it('resolves at once for a child that has already exited by itself', limit, async () => {
    const child = node('process.exit(3)');
    await exited(child);
    assert.deepEqual(await stopChild(child), { code: 3, signal: null });
  });

  it('resolves at once for a child already ended by a signal (exitCode stays null)', limit, async () => {
    const child = node('setInterval(() => {}, 1000)');
    child.kill('SIGKILL');
    await exited(child);
    assert.equal(child.exitCode, null);
    assert.deepEqual(await stopChild(child), { code: null, signal: 'SIGKILL' });
  });

  it('stops a running child with the signal given and reports how it ended', limit, async () => {
    const child = node("process.on('SIGTERM', () => { console.log('bye'); process.exit(0); }); console.log('up'); setInterval(() => {}, 1000)");
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await new Promise((r) => child.stdout!.once('data', r));
    assert.deepEqual(await stopChild(child, 'SIGTERM'), { code: 0, signal: null });
    assert.equal(out, 'up\nbye\n', 'what it printed last has been read');
  });

  it('kills with SIGKILL a child that ignores the signal, after the time-out', limit, async () => {
    const child = node("process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000)");
    await new Promise((r) => child.stdout!.once('data', r));
    const from = Date.now();
    assert.deepEqual(await stopChild(child, 'SIGTERM', { timeoutMs: 500 }), { code: null, signal: 'SIGKILL' });
    assert.ok(Date.now() - from < 5_000);
  });

  it('stops the whole process group of a detached child', limit, async () => {
    // the child starts a grandchild in its group and prints its pid
    const child = node(
      "const c = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000)",
      { detached: true },
    );
    const grandchild = Number(await new Promise<string>((r) => child.stdout!.once('data', (d) => r(String(d)))));
    try {
      assert.ok(alive(grandchild));
      await stopChild(child, 'SIGTERM');
      const until = Date.now() + 5_000;
      while (alive(grandchild) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      assert.ok(!alive(grandchild), `the grandchild ${grandchild} was stopped with its group`);
    } finally {
      try {
        process.kill(grandchild, 'SIGKILL');
      } catch {
        /* gone, as it should be */
      }
    }
  });
});
