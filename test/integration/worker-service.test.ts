// `ccai-crm-sync worker` as a real process: /healthz, POST /sessions, /metrics, SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, FIXTURES, TEST_REDIS_URL, dropPrefix, freePort, stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.ts';

describe('worker service', () => {
  const prefix = uniquePrefix('svc');
  const tmp = tempDir('ccai-svc');
  after(async () => {
    await dropPrefix(prefix);
    tmp.cleanup();
  });

  it('reports health, takes a document over HTTP, counts it in /metrics, stops on SIGTERM', async () => {
    const port = await freePort();
    const token = 'svc-test-token-abcdefghijkl';
    let stderr = '';
    const child = spawn(process.execPath, [CLI, 'worker'], {
      env: { PATH: process.env.PATH ?? '', REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: tmp.path, HTTP_PORT: String(port), HTTP_TOKEN: token, LOG_LEVEL: 'info', JOB_THREADS: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.on('data', (d) => (stderr += d));
    const base = `http://127.0.0.1:${port}`;
    let code: number | null = null;
    try {
      const health = await waitFor('healthz', async () => {
        const r = await fetch(`${base}/healthz`).catch(() => null);
        return r && r.status === 200 ? ((await r.json()) as Record<string, unknown>) : null;
      });
      assert.equal(health.redis, 'up');
      assert.equal(health.worker, 'running');
      assert.equal(health.target, 'local');
      assert.deepEqual(health.jobThreads, { size: 1, restarts: 0 });

      const post = await fetch(`${base}/sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: readFileSync(join(FIXTURES, 'sessions/metadata_call-987.json')),
      });
      assert.equal(post.status, 202);
      await waitFor('delivered', async () => {
        const r = await fetch(`${base}/sessions/call-987`, { headers: { authorization: `Bearer ${token}` } });
        return ((await r.json()) as { latest?: { state: string } }).latest?.state === 'delivered';
      });
      // the job's status is written inside the job; its counter when the queue has recorded it
      const metrics = await waitFor('job counted', async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return /ccai_jobs_total\{outcome="delivered"\} 1/.test(text) && text;
      });
      assert.match(metrics, /ccai_documents_total\{source="http",outcome="queued"\} 1/);
      assert.match(metrics, /ccai_jobs_total\{outcome="delivered"\} 1/);
      assert.match(metrics, /ccai_queue_jobs\{state="completed"\} 1/);
      assert.match(metrics, /^ccai_job_threads 1$/m);
      assert.match(metrics, /^ccai_job_thread_restarts_total 0$/m);
      assert.doesNotMatch(stderr, new RegExp(token), 'the token is never logged');
      assert.doesNotMatch(stderr, /jane\.smith@example\.com|\+15550100100/, 'no personal data in logs');
    } finally {
      ({ code } = await stopChild(child, 'SIGTERM'));
    }
    assert.equal(code, 0, stderr);
    assert.match(stderr, /stopped/);
  });

  it('drops a client that does not finish its headers within HTTP_HEADERS_TIMEOUT_MS', async () => {
    const port = await freePort();
    let stderr = '';
    const child = spawn(process.execPath, [CLI, 'worker'], {
      env: { PATH: process.env.PATH ?? '', REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: tmp.path, HTTP_PORT: String(port), LOG_LEVEL: 'warn', JOB_THREADS: '0', HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '2000' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.on('data', (d) => (stderr += d));
    let code: number | null = null;
    try {
      await waitFor('healthz', async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status === 200);
      let got = '';
      const closedAfterMs = await new Promise<number | null>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        const from = Date.now();
        // read what comes back: a paused socket never sees the server's end, nor closes
        socket.on('data', (d) => (got += d));
        const cap = setTimeout(() => {
          socket.destroy();
          resolve(null);
        }, 6_000);
        socket.on('connect', () => socket.write('POST /sessions HTTP/1.1\r\nHost: x\r\n'));
        socket.on('error', () => {});
        socket.on('close', () => {
          clearTimeout(cap);
          resolve(Date.now() - from);
        });
      });
      assert.ok(closedAfterMs !== null, `still connected after 6 s; stderr: ${stderr}`);
      assert.ok(closedAfterMs >= 900 && closedAfterMs < 4_000, `closed after ${closedAfterMs} ms`);
      assert.match(got, /^HTTP\/1\.1 408 /);
    } finally {
      ({ code } = await stopChild(child, 'SIGTERM'));
    }
    assert.equal(code, 0, stderr);
  });
});
