// A command's report is complete when it goes into a pipe, however large: the process used to
// exit before stdout drained, cutting `run --json` at the pipe's 64 KiB buffer. The reader here
// is slow on purpose (it pauses before reading), as `| python3 -m json.tool` can be.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, FIXTURES, ROOT, TEST_REDIS_URL, dropPrefix, stopChild, tempDir, uniquePrefix } from '../helpers/env.ts';

/** Runs the CLI with stdout into a pipe that nobody reads for the first `pauseMs`. */
function runIntoSlowPipe(args: string[], env: Record<string, string>, pauseMs = 1_500): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.pause();
    setTimeout(() => child.stdout.on('data', (d: Buffer) => chunks.push(d)).resume(), pauseMs);
    child.stderr.on('data', (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void stopChild(child, 'SIGKILL').finally(() => reject(new Error(`ccai-crm-sync ${args.join(' ')} timed out; stderr: ${stderr}`)));
    }, 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (!timedOut) resolve({ code, stdout: Buffer.concat(chunks), stderr });
    });
  });
}

const call1418 = () => JSON.parse(readFileSync(join(FIXTURES, 'sessions/metadata_call-1418.json'), 'utf8')) as Record<string, unknown>;

describe('stdout into a pipe', () => {
  const tmp = tempDir('ccai-pipe');
  const many = join(tmp.path, 'many');
  const sessions = join(tmp.path, 'sessions');
  const prefix = uniquePrefix('pipe');
  const files = 400;

  before(() => {
    mkdirSync(many);
    mkdirSync(sessions);
    const doc = call1418();
    for (let i = 1; i <= files; i++) {
      // distinct sessions, so every result carries its own note
      writeFileSync(join(many, `metadata-${i}.json`), JSON.stringify({ ...doc, id: 10_000 + i }));
    }
    // many sessions on one ticket: a local CRM record with hundreds of notes
    for (let i = 0; i < 300; i++) writeFileSync(join(sessions, `s${i}.json`), JSON.stringify({ ...doc, id: 20_000 + i }));
  });

  after(async () => {
    await dropPrefix(prefix);
    tmp.cleanup();
  });

  it('run --dry-run --json: a report of several MB arrives whole and parses', async () => {
    const r = await runIntoSlowPipe(['run', '--dry-run', '--json', many], {});
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.length > 2_000_000, `a report of several MB (got ${r.stdout.length} bytes)`);
    const report = JSON.parse(r.stdout.toString('utf8')) as { results: Array<{ status: string }> };
    assert.equal(report.results.length, files);
    assert.ok(report.results.every((x) => x.status === 'delivered'));
  });

  it('run --dry-run (text): the summary line at the end is there', async () => {
    const r = await runIntoSlowPipe(['run', '--dry-run', many], {});
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.toString('utf8').trimEnd().split('\n');
    assert.equal(lines.at(-1), `${files} input(s): ${files} delivered, 0 skipped, 0 rejected, 0 failed (dry run: nothing written)`);
  });

  it('show --json of a ticket with hundreds of notes arrives whole and parses', async () => {
    const env = { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: join(tmp.path, 'data') };
    const run = await runIntoSlowPipe(['run', '--json', sessions], env, 0);
    assert.equal(run.code, 0, run.stderr);
    const r = await runIntoSlowPipe(['show', '--json', '500ak000024vx4uAAA'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.length > 1_000_000, `a record of over a MB (got ${r.stdout.length} bytes)`);
    const rec = JSON.parse(r.stdout.toString('utf8')) as { notes: unknown[]; found: boolean };
    assert.equal(rec.found, true);
    assert.equal(rec.notes.length, 300);
  });
});

/**
 * Runs the CLI with stdout into a pipe whose reader goes away after the first chunk, as
 * `| head -1` does (stdout: 'pipe'), or into a file descriptor opened by the test.
 */
function runIntoClosingPipe(args: string[], env: Record<string, string>, stdout: 'pipe' | number = 'pipe'): Promise<{ code: number | null; signal: string | null; first: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', stdout, 'pipe'],
    });
    let first = '';
    let stderr = '';
    child.stdout?.once('data', (d: Buffer) => {
      first = d.toString('utf8');
      child.stdout!.destroy(); // the reader is gone: the child's next write gets EPIPE
    });
    child.stderr!.on('data', (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void stopChild(child, 'SIGKILL').finally(() => reject(new Error(`ccai-crm-sync ${args.join(' ')} timed out; stderr: ${stderr}`)));
    }, 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (!timedOut) resolve({ code, signal, first, stderr });
    });
  });
}

describe('stdout whose reader goes away, or that cannot be written', () => {
  const tmp = tempDir('ccai-epipe');
  const folder = join(tmp.path, 'drop');

  before(() => {
    mkdirSync(folder);
    // one rejected file, and enough good ones that the report is far larger than a pipe's buffer
    copyFileSync(join(FIXTURES, 'bad/truncated.json'), join(folder, 'truncated.json'));
    const doc = call1418();
    for (let i = 1; i <= 300; i++) writeFileSync(join(folder, `metadata-${i}.json`), JSON.stringify({ ...doc, id: 30_000 + i }));
  });

  after(() => tmp.cleanup());

  const noStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at /m, `no stack trace on stderr:\n${stderr}`);

  it('run <folder> | head -1: the exit code still says a file was rejected (1), without a stack trace', async () => {
    for (const extra of [[], ['--json']]) {
      const r = await runIntoClosingPipe(['run', '--dry-run', ...extra, folder], {});
      assert.ok(r.first.length > 0, 'the reader got the start of the report');
      assert.equal(r.signal, null);
      assert.equal(r.code, 1, `exit code of run ${extra.join(' ')} (stderr: ${r.stderr})`);
      noStack(r.stderr);
      assert.equal(r.stderr, '', 'a reader that went away is not an error to report');
    }
  });

  it('stdout on a full disk (/dev/full): one line on stderr, exit 1, no stack trace', async () => {
    const fd = openSync('/dev/full', 'w');
    try {
      const file = join(FIXTURES, 'sessions/metadata_call-987.json');
      for (const extra of [[], ['--json']]) {
        const r = await runIntoClosingPipe(['run', '--dry-run', ...extra, file], {}, fd);
        assert.equal(r.code, 1, r.stderr);
        noStack(r.stderr);
        assert.match(r.stderr, /^ccai-crm-sync: cannot write to stdout \(ENOSPC: no space left on device, write\); the output is incomplete\n$/);
      }
    } finally {
      closeSync(fd);
    }
  });
});
