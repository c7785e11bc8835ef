// Benchmark of `run`, the one-shot path admins use for backfills, against the Salesforce
// double in its own process (the same as `npm run bench`, 50 ms per request): N metadata files
// in a folder, `ccai-crm-sync run --json <folder>` as a user runs it (with the V8 flags of the
// bin's first line), its API calls per 1,000 sessions (how full the batches were), its
// sessions per second and its peak RSS (VmHWM, polled). One run, one machine.
//
//   npm run bench:run                  # N = 2,000 and 10,000
//   npm run bench:run -- --n 2000
//
// Needs Redis (REDIS_URL or 127.0.0.1:6379). Uses its own key prefix and removes it after.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, dropPrefix, tempDir } from '../test/helpers/env.ts';
import { RemoteDouble } from './remote-double.ts';

const { values } = parseArgs({ options: { n: { type: 'string', multiple: true }, latency: { type: 'string', default: '50' } } });
const SIZES = (values.n ?? ['2000', '10000']).map(Number);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TEMPLATE = JSON.parse(readFileSync(new URL('../samples/metadata_call-1418.json', import.meta.url), 'utf8')) as Record<string, unknown>;
// the flags `ccai-crm-sync` runs with, from its first line (#!/usr/bin/env -S node …)
const FLAGS = (readFileSync(CLI, 'utf8').split('\n')[0]!.match(/--[\w-]+=\S+/g) ?? []) as string[];

function peakRssMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

const sf = await RemoteDouble.start(Number(values.latency));
const info = await sf.ask<{ url: string; token: string; apiVersion: string }>('info');
const rows: string[] = [];
const tmp = tempDir('ccai-bench-run');
try {
  for (const n of SIZES) {
    const prefix = `ccaibench-run-${randomBytes(3).toString('hex')}`;
    const folder = join(tmp.path, `n${n}`);
    mkdirSync(folder);
    const cases = await sf.ask<string[]>('insertCases', Math.min(n, 2000));
    for (let i = 0; i < n; i++) {
      const c = cases[i % cases.length]!;
      writeFileSync(join(folder, `metadata-${i}.json`), JSON.stringify({ ...TEMPLATE, id: 300_000 + n + i, out_ticket_id: c, out_ticket_url: null }));
    }
    await sf.ask('reset');
    const before = await sf.ask<number>('apiCalls');
    const t0 = performance.now();
    const child = spawn(process.execPath, [...FLAGS, CLI, 'run', '--json', folder], {
      env: { PATH: process.env.PATH ?? '', HOME: tmp.path, MALLOC_ARENA_MAX: '2', REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: join(tmp.path, `data-${n}`), CRM: 'salesforce', SF_INSTANCE_URL: info.url, SF_ACCESS_TOKEN: info.token, SF_API_VERSION: info.apiVersion, KEEP_COMPLETED_DAYS: '0', ...(process.env.JOB_THREADS ? { JOB_THREADS: process.env.JOB_THREADS } : {}), ...(process.env.SF_BATCH_WAIT_MS ? { SF_BATCH_WAIT_MS: process.env.SF_BATCH_WAIT_MS } : {}) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    let peak = 0;
    const probe = setInterval(() => (peak = Math.max(peak, peakRssMb(child.pid!))), 100);
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    clearInterval(probe);
    const seconds = (performance.now() - t0) / 1000;
    const calls = (await sf.ask<number>('apiCalls')) - before;
    const results = (JSON.parse(out) as { results: Array<{ status: string }> }).results;
    const delivered = results.filter((r) => r.status === 'delivered').length;
    rows.push(`| ${n.toLocaleString('en-US')} | ${delivered} | ${calls} | ${((calls / n) * 1000).toFixed(1)} | ${Math.round(n / seconds)} | ${Math.round(peak)} | ${code} |`);
    process.stderr.write(`run n=${n}: ${rows.at(-1)}\n`);
    await dropPrefix(prefix, REDIS_URL);
  }
} finally {
  await sf.ask('close');
  tmp.cleanup();
}
console.log(`\nccai-crm-sync run benchmark: ${values.latency} ms per Salesforce request (double in its own process), \`run --json <folder>\` with V8 flags "${FLAGS.join(' ')}", Node ${process.version}\n`);
console.log('| N | delivered | API calls | calls / 1,000 sessions | sessions/s (whole command) | peak RSS MB | exit |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(r);
