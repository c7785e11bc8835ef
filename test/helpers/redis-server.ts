// A private redis-server for tests that take Redis away: on a free port, with its AOF in a temp
// dir, so a restart keeps the queue (as a production Redis with appendonly does). The machine's
// shared Redis is never restarted.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { freePort, stopChild, tempDir, waitFor } from './env.ts';
import { ping } from '../../src/store/redis.ts';

export interface RedisServer {
  url: string;
  /** stops it (SIGTERM: the AOF is flushed), waits `downMs`, starts it again on the same port */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const dir = tempDir('ccai-redis');
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir.path], { stdio: 'ignore' });
    await waitFor('redis-server', () => ping(url, 300), 10_000, 50);
  };
  await start();
  return {
    url,
    async restart(downMs = 1_000) {
      if (child) await stopChild(child, 'SIGTERM');
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    async stop() {
      if (child) await stopChild(child, 'SIGTERM');
      child = null;
      dir.cleanup();
    },
  };
}
