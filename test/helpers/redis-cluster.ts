// A real Redis Cluster for tests: three masters (no replicas), each a `redis-server
// --cluster-enabled yes` on free ports (its client port and its cluster bus port, given
// with --cluster-port), in a temp dir, joined by `redis-cli --cluster create`. Ready once
// every node says cluster_state:ok and knows all 16384 slots. stop() kills the servers and
// removes the dir. The machine's shared Redis is never touched.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, stopChild, tempDir, waitFor } from './env.ts';

export interface RedisCluster {
  /** the seed nodes, as REDIS_URL takes them with REDIS_CLUSTER=true: `redis://127.0.0.1:P1,redis://…` */
  url: string;
  /** each master's own URL */
  nodes: string[];
  ports: number[];
  stop(): Promise<void>;
}

/** `count` distinct free ports (freePort may hand the same one out twice in a row). */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** Runs a command to its end; rejects with what it printed when it fails or takes too long. */
function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      void stopChild(child, 'SIGKILL').finally(() => reject(new Error(`${cmd} ${args.join(' ')} timed out:\n${out}`)));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out}`));
    });
  });
}

/** `CLUSTER INFO` of one node says ok and every slot is served. */
async function nodeReady(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    const info = String(await r.cluster('INFO'));
    return /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info);
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

export async function startRedisCluster(opts: { masters?: number } = {}): Promise<RedisCluster> {
  const masters = opts.masters ?? 3;
  const dir = tempDir('ccai-cluster');
  const all = await freePorts(masters * 2);
  const ports = all.slice(0, masters);
  const busPorts = all.slice(masters);
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map((c) => stopChild(c, 'SIGTERM')));
    children.length = 0;
    dir.cleanup();
  };
  const nodes = ports.map((p) => `redis://127.0.0.1:${p}`);
  try {
    for (const [i, port] of ports.entries()) {
      const nodeDir = join(dir.path, String(port));
      mkdirSync(nodeDir);
      // prettier-ignore
      const args = [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', nodeDir,
        '--cluster-enabled', 'yes', '--cluster-port', String(busPorts[i]), '--cluster-config-file', join(nodeDir, 'nodes.conf'),
        '--cluster-node-timeout', '5000', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction',
        '--daemonize', 'no', '--logfile', join(nodeDir, 'redis.log'),
      ];
      const child = spawn('redis-server', args, { stdio: 'ignore' });
      children.push(child);
      const failed = new Promise<Error>((resolve) => child.once('error', resolve));
      await Promise.race([
        waitFor(`redis-server on ${port}`, async () => {
          const r = new Redis(nodes[i]!, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 300 });
          r.on('error', () => undefined);
          try {
            await r.connect();
            return (await r.ping()) === 'PONG';
          } catch {
            return false;
          } finally {
            r.disconnect();
          }
        }, 10_000, 50),
        failed.then((err) => {
          throw new Error(`redis-server could not be started (${err.message}): \`apt-get install redis-server\` (Debian/Ubuntu, with redis-cli); .ci/run does this on a fresh machine`);
        }),
      ]);
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], 60_000);
    await waitFor('every node of the cluster says cluster_state:ok', async () => (await Promise.all(nodes.map(nodeReady))).every(Boolean), 30_000, 100);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: nodes.join(','), nodes, ports, stop };
}

/**
 * The keys under `prefix` on each master (by its URL), read node by node with SCAN, and the
 * hash slot of each as the cluster computes it (CLUSTER KEYSLOT): what proves that a prefix
 * with a hash tag keeps every key of ours and of BullMQ on one node, in one slot.
 */
export async function keysPerNode(cluster: RedisCluster, prefix: string): Promise<{ byNode: Map<string, string[]>; slots: Set<number> }> {
  const byNode = new Map<string, string[]>();
  const slots = new Set<number>();
  for (const url of cluster.nodes) {
    const r = new Redis(url, { maxRetriesPerRequest: 1 });
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, found] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...found);
      } while (cursor !== '0');
      if (keys.length) byNode.set(url, keys);
      for (const k of keys) slots.add(Number(await r.cluster('KEYSLOT', k)));
    } finally {
      r.disconnect();
    }
  }
  return { byNode, slots };
}

/** The URL of the master that holds `key`'s slot (CLUSTER KEYSLOT, then CLUSTER SLOTS). */
export async function ownerOf(cluster: RedisCluster, key: string): Promise<string> {
  const r = new Redis(cluster.nodes[0]!, { maxRetriesPerRequest: 1 });
  try {
    const slot = Number(await r.cluster('KEYSLOT', key));
    const range = (await r.cluster('SLOTS')).find(([from, to]) => slot >= from && slot <= to);
    const master = range?.[2];
    if (!master) throw new Error(`no master serves slot ${slot}`);
    return `redis://${master[0]}:${master[1]}`;
  } finally {
    r.disconnect();
  }
}
