// A real Redis Cluster for tests: three masters (no replicas), each a `redis-server
// --cluster-enabled yes` on free ports (its client port and its cluster bus port, given
// with --cluster-port), in a temp dir, joined by `redis-cli --cluster create`. Ready once
// every node says cluster_state:ok and knows all 16384 slots. stop() kills the servers and
// removes the dir. The machine's shared Redis is never touched. Optionally with a password
// on every node, or TLS only (a CA and a certificate for 127.0.0.1 made with openssl: a
// client trusts it through `caFile`, NODE_EXTRA_CA_CERTS for a child process).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { freePort, stopChild, tempDir, waitFor } from './env.ts';

export interface RedisCluster {
  /** the seed nodes, as REDIS_URL takes them with REDIS_CLUSTER=true: `redis://127.0.0.1:P1,redis://…` (with the password, if any) */
  url: string;
  /** each master's own URL (with the password, if any) */
  nodes: string[];
  ports: number[];
  /** with `tls`: the CA that signed the nodes' certificate */
  caFile: string | null;
  /** what a plain ioredis client of one node needs besides its URL (the CA, with `tls`) */
  nodeOptions: RedisOptions;
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

/** A CA and a certificate for 127.0.0.1 and localhost signed by it, in `dir`. */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const f = (name: string) => join(dir, name);
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=ccai test CA'], 30_000);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('node.key'), '-out', f('node.csr'), '-subj', '/CN=localhost'], 30_000);
  await run('openssl', ['x509', '-req', '-in', f('node.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('node.crt'), '-days', '2', '-extfile', f('san.ext')], 30_000);
  return { ca: f('ca.crt'), cert: f('node.crt'), key: f('node.key') };
}

/** The node answers PING (`cluster`: and its CLUSTER INFO says ok, every slot served). */
async function nodeAnswers(url: string, options: RedisOptions, cluster: boolean): Promise<boolean> {
  const r = new Redis(url, { ...options, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    if (!cluster) return (await r.ping()) === 'PONG';
    const info = String(await r.cluster('INFO'));
    return /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info);
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

export async function startRedisCluster(opts: { masters?: number; password?: string; tls?: boolean } = {}): Promise<RedisCluster> {
  const masters = opts.masters ?? 3;
  const dir = tempDir('ccai-cluster');
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map((c) => stopChild(c, 'SIGTERM')));
    children.length = 0;
    dir.cleanup();
  };
  try {
    const all = await freePorts(masters * 2);
    const ports = all.slice(0, masters);
    const busPorts = all.slice(masters);
    const certs = opts.tls ? await makeCertificates(dir.path) : null;
    const nodeOptions: RedisOptions = certs ? { tls: { ca: readFileSync(certs.ca) } } : {};
    const login = opts.password ? `:${encodeURIComponent(opts.password)}@` : '';
    const nodes = ports.map((p) => `${certs ? 'rediss' : 'redis'}://${login}127.0.0.1:${p}`);
    // prettier-ignore
    const common = [
      '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-node-timeout', '5000',
      '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--daemonize', 'no',
      ...(opts.password ? ['--requirepass', opts.password, '--masterauth', opts.password] : []),
      // TLS only: no plain port, the cluster bus in TLS too
      ...(certs ? ['--tls-cert-file', certs.cert, '--tls-key-file', certs.key, '--tls-ca-cert-file', certs.ca, '--tls-auth-clients', 'no', '--tls-cluster', 'yes'] : []),
    ];
    for (const [i, port] of ports.entries()) {
      const nodeDir = join(dir.path, String(port));
      mkdirSync(nodeDir);
      // prettier-ignore
      const args = [
        ...(certs ? ['--port', '0', '--tls-port', String(port)] : ['--port', String(port)]),
        '--dir', nodeDir, '--cluster-port', String(busPorts[i]), '--cluster-config-file', join(nodeDir, 'nodes.conf'),
        '--logfile', join(nodeDir, 'redis.log'), ...common,
      ];
      const child = spawn('redis-server', args, { stdio: 'ignore' });
      children.push(child);
      const failed = new Promise<Error>((resolve) => child.once('error', resolve));
      await Promise.race([
        waitFor(`redis-server on ${port}`, () => nodeAnswers(nodes[i]!, nodeOptions, false), 10_000, 50),
        failed.then((err) => {
          throw new Error(`redis-server could not be started (${err.message}): \`apt-get install redis-server\` (Debian/Ubuntu, with redis-cli); .ci/run does this on a fresh machine`);
        }),
      ]);
    }
    // prettier-ignore
    const cliAuth = [
      ...(opts.password ? ['-a', opts.password, '--no-auth-warning'] : []),
      ...(certs ? ['--tls', '--cacert', certs.ca] : []),
    ];
    await run('redis-cli', [...cliAuth, '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], 60_000);
    await waitFor('every node of the cluster says cluster_state:ok', async () => (await Promise.all(nodes.map((n) => nodeAnswers(n, nodeOptions, true)))).every(Boolean), 30_000, 100);
    return { url: nodes.join(','), nodes, ports, caFile: certs?.ca ?? null, nodeOptions, stop };
  } catch (err) {
    await stop();
    throw err;
  }
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
    const r = new Redis(url, { ...cluster.nodeOptions, maxRetriesPerRequest: 1 });
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

/** The master that holds `key`'s slot (CLUSTER KEYSLOT, then CLUSTER SLOTS), as an entry of `cluster.nodes`. */
export async function ownerOf(cluster: RedisCluster, key: string): Promise<string> {
  const r = new Redis(cluster.nodes[0]!, { ...cluster.nodeOptions, maxRetriesPerRequest: 1 });
  try {
    const slot = Number(await r.cluster('KEYSLOT', key));
    const range = (await r.cluster('SLOTS')).find(([from, to]) => slot >= from && slot <= to);
    const port = range?.[2][1];
    const owner = cluster.nodes[cluster.ports.indexOf(Number(port))];
    if (!owner) throw new Error(`no master of this cluster serves slot ${slot}`);
    return owner;
  } finally {
    r.disconnect();
  }
}
