// Benchmark of a Cloud Storage bucket as a source: `worker` as a real process (with the V8
// flags of the Dockerfile) reading the loopback Cloud Storage double and the real Pub/Sub
// emulator, into the local CRM. One run, one machine; reports counts and times:
//   - upload to note: an object put in the bucket and its OBJECT_FINALIZE published (the
//     notification path), or only put (the sweep path, every GCS_SWEEP_MS), until its note is on
//     the ticket: p50 and p99 over --samples objects;
//   - memory: the worker's peak RSS (VmHWM) through a sweep of a prefix holding --objects
//     objects (recordings, skipped by name, and --metadata metadata files, taken), against the
//     same with 1,000 objects: a listing page by page keeps it flat.
//
//   npm run bench:remote                               # 100,000 objects, 30 samples
//   npm run bench:remote -- --objects 20000 --samples 10
//
// Needs Redis (REDIS_URL or 127.0.0.1:6379) and the Pub/Sub emulator of the Google Cloud CLI.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalCrm } from '../src/targets/local/local-crm.ts';
import { startGcsDouble } from '../test/gcs/double.ts';
import type { GcsDouble } from '../test/gcs/double.ts';
import { CLI, FIXTURES, dropPrefix, freePort, stopChild, tempDir, waitFor } from '../test/helpers/env.ts';
import { startPubsubEmulator } from '../test/helpers/pubsub-emulator.ts';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '100000' },
    metadata: { type: 'string', default: '1000' },
    samples: { type: 'string', default: '30' },
    'sweep-ms': { type: 'string', default: '5000' },
    'node-flags': { type: 'string', default: '--max-old-space-size=160 --max-semi-space-size=8' },
  },
});
const OBJECTS = Number(values.objects);
const METADATA = Number(values.metadata);
const SAMPLES = Number(values.samples);
const SWEEP_MS = Number(values['sweep-ms']);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const BUCKET = 'ccai-bench';
const TICKET = '500ak000024vx4uAAA';
const doc = JSON.parse(readFileSync(join(FIXTURES, 'sessions/metadata_call-1418.json'), 'utf8')) as Record<string, unknown>;

const gcs: GcsDouble = await startGcsDouble({ buckets: [BUCKET] });
const pubsub = await startPubsubEmulator();
await pubsub.createSubscription('bench-objects', 'bench-worker', { ackDeadlineSeconds: 30 });
const tmp = tempDir('ccai-bench-remote');
const prefixes: string[] = [];

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

async function withWorker<T>(folder: string, opts: { sweepMs: number; subscription: boolean }, fn: (w: { child: ChildProcess; dataDir: string; port: number }) => Promise<T>): Promise<T> {
  const queuePrefix = `ccaibench-remote-${randomBytes(4).toString('hex')}`;
  prefixes.push(queuePrefix);
  const dataDir = join(tmp.path, queuePrefix);
  const port = await freePort();
  const child = spawn(process.execPath, [...values['node-flags']!.split(' ').filter(Boolean), CLI, 'worker'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: tmp.path,
      REDIS_URL,
      QUEUE_PREFIX: queuePrefix,
      DATA_DIR: dataDir,
      HTTP_PORT: String(port),
      LOG_LEVEL: 'warn',
      GCS_BUCKET: BUCKET,
      GCS_PREFIX: folder,
      GCS_SWEEP_MS: String(opts.sweepMs),
      ...(opts.subscription ? { GCS_SUBSCRIPTION: `projects/${pubsub.projectId}/subscriptions/bench-worker` } : {}),
      STORAGE_EMULATOR_HOST: gcs.url,
      PUBSUB_EMULATOR_HOST: pubsub.host,
      METADATA_SERVER_DETECTION: 'none',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitFor('the worker', async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status === 200, 60_000);
    return await fn({ child, dataDir, port });
  } finally {
    await stopChild(child, 'SIGTERM', { timeoutMs: 30_000 });
  }
}

function notes(dataDir: string): number {
  const crm = new LocalCrm(dataDir);
  try {
    return crm.get(TICKET)?.notes.length ?? 0;
  } finally {
    void crm.close();
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!);
};

/** The worker's peak RSS through one complete sweep of a prefix holding `n` objects. */
async function sweepMemory(n: number): Promise<{ n: number; peakMb: number; sweepMs: number }> {
  const folder = `mem-${n}/`;
  const meta = Math.min(METADATA, n);
  for (let i = 0; i < n - meta; i++) gcs.put(BUCKET, `${folder}call-${i}.mp3`, 'ID3', { contentType: 'audio/mpeg' });
  for (let i = 0; i < meta; i++) gcs.put(BUCKET, `${folder}metadata-${i}.json`, JSON.stringify({ ...doc, id: 100_000 + i }), { contentType: 'application/json' });
  return withWorker(folder, { sweepMs: 3_600_000, subscription: false }, async ({ child, dataDir, port }) => {
    const t0 = Date.now();
    await waitFor('the sweep took every metadata file', async () => notes(dataDir) >= meta, 30 * 60_000, 500);
    await waitFor('the sweep done', async () => {
      const h = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { remote: Array<{ lastOkAt: string | null }> };
      return h.remote[0]?.lastOkAt !== null;
    }, 30 * 60_000, 200);
    return { n, peakMb: peakRssMb(child.pid!), sweepMs: Date.now() - t0 };
  });
}

/** Upload to note, one object at a time. */
async function latency(path: 'notification' | 'sweep'): Promise<{ path: string; p50: number; p99: number; samples: number }> {
  const folder = `lat-${path}/`;
  const times: number[] = [];
  await withWorker(folder, { sweepMs: path === 'sweep' ? SWEEP_MS : 3_600_000, subscription: path === 'notification' }, async ({ dataDir }) => {
    for (let i = 0; i < SAMPLES; i++) {
      // at a random point of the sweep's cycle, as uploads come
      if (path === 'sweep') await new Promise((r) => setTimeout(r, Math.random() * SWEEP_MS));
      const before = notes(dataDir);
      const name = `${folder}metadata-${i}.json`;
      const t0 = performance.now();
      const o = gcs.put(BUCKET, name, JSON.stringify({ ...doc, id: 200_000 + i + (path === 'sweep' ? 10_000 : 0) }), { contentType: 'application/json' });
      if (path === 'notification') {
        await pubsub.publish('bench-objects', { eventType: 'OBJECT_FINALIZE', bucketId: BUCKET, objectId: name, objectGeneration: o.generation, payloadFormat: 'NONE' });
      }
      await waitFor('the note', async () => notes(dataDir) > before, 120_000, 10);
      times.push(performance.now() - t0);
    }
  });
  return { path, p50: pct(times, 50), p99: pct(times, 99), samples: times.length };
}

try {
  const lat = [await latency('notification'), await latency('sweep')];
  const mem = [await sweepMemory(1_000), await sweepMemory(OBJECTS)];
  console.log(`\nccai-crm-sync remote-source benchmark: the Cloud Storage double and the Pub/Sub emulator on loopback, one worker process (V8 flags "${values['node-flags']}"), local CRM, Node ${process.version}\n`);
  console.log('| path | samples | p50 ms | p99 ms |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const l of lat) console.log(`| ${l.path === 'sweep' ? `sweep (GCS_SWEEP_MS=${SWEEP_MS})` : 'notification (Pub/Sub)'} | ${l.samples} | ${l.p50} | ${l.p99} |`);
  console.log('\n| objects under the prefix | of them metadata | sweep until all taken, ms | worker peak RSS MB |');
  console.log('| ---: | ---: | ---: | ---: |');
  for (const m of mem) console.log(`| ${m.n.toLocaleString('en-US')} | ${Math.min(METADATA, m.n)} | ${m.sweepMs} | ${m.peakMb} |`);
} finally {
  await pubsub.stop();
  await gcs.close();
  for (const p of prefixes) await dropPrefix(p, REDIS_URL);
  tmp.cleanup();
}
