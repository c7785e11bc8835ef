// The worker's sources against the real Redis: the watched inbox folder and the HTTP endpoint.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, closeSync, copyFileSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createApp } from '../../src/app/app.ts';
import type { App } from '../../src/app/app.ts';
import { startHttp } from '../../src/sources/http.ts';
import type { HttpSource } from '../../src/sources/http.ts';
import { kindOf } from '../../src/sources/files.ts';
import { startInbox } from '../../src/sources/inbox.ts';
import type { InboxSource } from '../../src/sources/inbox.ts';
import { LocalCrm } from '../../src/targets/local/local-crm.ts';
import { fixture } from '../helpers/documents.ts';
import { FIXTURES, ROOT, TEST_REDIS_URL, dropPrefix, tempDir, uniquePrefix, waitFor } from '../helpers/env.ts';

const TOKEN = 'test-token-0123456789abcdef';

describe('sources', () => {
  const prefix = uniquePrefix('src');
  const tmp = tempDir('ccai-src');
  const inboxDir = join(tmp.path, 'inbox');
  let app: App;
  let crm: LocalCrm;
  let inbox: InboxSource;
  let http: HttpSource;
  let base: string;

  before(async () => {
    const config = loadConfig({ REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: join(tmp.path, 'data'), HTTP_TOKEN: TOKEN, MAX_FILE_BYTES: '100000' });
    const log = createLogger('silent');
    app = await createApp(config, log, { worker: true, allowPrivateRedis: false });
    crm = new LocalCrm(config.dataDir);
    mkdirSync(inboxDir, { recursive: true });
    inbox = startInbox({ dir: inboxDir, pollMs: 100_000, settleMs: 300, incompleteGraceMs: 1_000, maxBytes: config.MAX_FILE_BYTES, submit: app.submit, log });
    http = await startHttp(
      {
        token: TOKEN,
        maxBytes: config.MAX_FILE_BYTES,
        rejectedDir: join(config.dataDir, 'rejected'),
        submit: app.submit,
        status: (k) => app.status.get(k),
        health: async () => ({ ok: true }),
        metrics: async () => ({ contentType: 'text/plain', body: '' }),
        log,
      },
      0,
      '127.0.0.1',
    );
    base = `http://127.0.0.1:${http.port}`;
  });

  after(async () => {
    await inbox.close();
    await http.close();
    await app.close();
    await crm.close();
    await dropPrefix(prefix);
    tmp.cleanup();
  });

  /** Two looks at the inbox, the settle time apart: a file that did not change is taken. */
  async function settledScan() {
    await inbox.scan();
    await new Promise((r) => setTimeout(r, 350));
    await inbox.scan();
  }

  describe('inbox folder', () => {
    it('moves a metadata file to processed/ once queued, and it gets delivered', async () => {
      copyFileSync(join(FIXTURES, 'sessions/metadata_call-987.json'), join(inboxDir, 'metadata_call-987.json'));
      await settledScan();
      assert.deepEqual(readdirSync(join(inboxDir, 'processed')), ['metadata_call-987.json']);
      await waitFor('delivered', async () => crm.get('500ak00001nkg4MAAQ')?.notes.length === 1);
    });

    it('moves a broken file to rejected/ with a sidecar naming the field', async () => {
      const bytes = readFileSync(join(FIXTURES, 'bad/bad-timestamp.json'));
      writeFileSync(join(inboxDir, 'late.json'), bytes);
      await settledScan();
      assert.ok(!existsSync(join(inboxDir, 'late.json')));
      assert.deepEqual(readFileSync(join(inboxDir, 'rejected/late.json')), bytes, 'original bytes kept');
      const reason = JSON.parse(readFileSync(join(inboxDir, 'rejected/late.json.reason.json'), 'utf8'));
      assert.equal(reason.code, 'INPUT_BAD_TIMESTAMP');
      assert.equal(reason.field, 'updated_at');
      assert.match(reason.source, /late\.json$/);
    });

    it('leaves a recording where it is', async () => {
      writeFileSync(join(inboxDir, 'call-987.wav'), Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVEfmt '), Buffer.alloc(64)]));
      await settledScan();
      assert.ok(existsSync(join(inboxDir, 'call-987.wav')));
    });

    it('does not take a file that is still being written', async () => {
      const path = join(inboxDir, 'growing.json');
      writeFileSync(path, '{"id": 1');
      await inbox.scan();
      await new Promise((r) => setTimeout(r, 350));
      appendFileSync(path, ', "chat_type": "x"'); // the upload goes on after a pause
      await inbox.scan();
      assert.ok(existsSync(path), 'a file that changed since the last look waits');
    });

    /** the Zendesk call under its own session id: each test its own delivery, on a ticket no other test counts notes on */
    const call = (id: number) => Buffer.from(JSON.stringify({ ...fixture('zendesk-call.json'), id }, null, 2));
    const delivered = (session: string) => waitFor(`${session} delivered`, async () => (await app.status.get(session))?.latest.state === 'delivered');

    it('does not reject an upload that pauses longer than the settle time mid-document, and takes it once complete', async () => {
      const path = join(inboxDir, 'paused-upload.json');
      const doc = call(9101);
      writeFileSync(path, doc.subarray(0, 200));
      await settledScan(); // the same size on two looks: settled, but the JSON ends early
      assert.ok(existsSync(path), 'left in place while it may still be being written');
      assert.ok(!existsSync(join(inboxDir, 'rejected/paused-upload.json')), 'not rejected');
      appendFileSync(path, doc.subarray(200)); // the upload goes on
      await settledScan();
      assert.ok(existsSync(join(inboxDir, 'processed/paused-upload.json')), 'taken once complete');
      await delivered('call-9101');
    });

    it('takes an empty file once it gets its content', async () => {
      const path = join(inboxDir, 'created-first.json');
      writeFileSync(path, '');
      await settledScan();
      assert.ok(existsSync(path), 'an empty file waits');
      assert.ok(!existsSync(join(inboxDir, 'rejected/created-first.json')), 'not rejected');
      writeFileSync(path, call(9102));
      await settledScan();
      assert.ok(existsSync(join(inboxDir, 'processed/created-first.json')));
      await delivered('call-9102');
    });

    it('rejects a file still cut short after the grace, and reads it again when it changes afterwards', async () => {
      const path = join(inboxDir, 'stalled-upload.json');
      const kept = join(inboxDir, 'rejected/stalled-upload.json');
      const doc = call(9103);
      const fd = openSync(path, 'w'); // the uploader keeps the file open
      try {
        writeSync(fd, doc.subarray(0, 300));
        await settledScan();
        assert.ok(existsSync(path), 'waits first');
        await new Promise((r) => setTimeout(r, 1_100)); // past the grace (1 s here)
        await inbox.scan();
        assert.ok(!existsSync(path) && existsSync(kept), 'then rejected');
        assert.equal(JSON.parse(readFileSync(`${kept}.reason.json`, 'utf8')).code, 'INPUT_TRUNCATED');
        writeSync(fd, doc.subarray(300)); // the upload resumes: its bytes land in the moved file
      } finally {
        closeSync(fd);
      }
      await inbox.scan();
      assert.ok(existsSync(path), 'back in the inbox, to be read again');
      assert.ok(!existsSync(kept) && !existsSync(`${kept}.reason.json`), 'no longer rejected');
      await settledScan();
      assert.ok(existsSync(join(inboxDir, 'processed/stalled-upload.json')));
      await delivered('call-9103');
    });

    it('warns once about a file it cannot read, not on every pass', async (t) => {
      if (typeof process.getuid !== 'function') return t.skip('needs POSIX file permissions');
      const tmpUnreadable = tempDir('ccai-unreadable');
      try {
        chmodSync(tmpUnreadable.path, 0o755);
        const file = join(tmpUnreadable.path, 'locked.json');
        writeFileSync(file, call(9104));
        chmodSync(file, 0o000);
        // Root reads any file whatever its mode: the inbox then runs as nobody, for whom the
        // file is really unreadable (EACCES). Six passes, each of which would read it.
        const asNobody = process.getuid() === 0 ? { uid: 65534, gid: 65534 } : {};
        const out = execFileSync(process.execPath, [join(ROOT, 'test/helpers/inbox-passes.ts'), tmpUnreadable.path, '6'], {
          ...asNobody,
          encoding: 'utf8',
          timeout: 30_000,
          env: { PATH: process.env.PATH ?? '' },
        });
        const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string; reason?: string });
        const warnings = lines.filter((l) => l.level >= 40 && /unreadable/.test(l.msg));
        assert.equal(warnings.length, 1, out);
        assert.match(warnings[0]!.reason ?? '', /EACCES/);
        assert.ok(existsSync(file), 'left where it is');
      } finally {
        tmpUnreadable.cleanup();
      }
    });
  });

  describe('HTTP endpoint', () => {
    const post = (body: string | Buffer, token = TOKEN) =>
      fetch(`${base}/sessions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });

    it('requires the bearer token', async () => {
      const r = await post('{}', 'wrong-token-wrong-token');
      assert.equal(r.status, 401);
      const none = await fetch(`${base}/sessions`, { method: 'POST', body: '{}' });
      assert.equal(none.status, 401);
    });

    it('accepts a document and answers with the session id and job state', async () => {
      await app.worker!.pause(); // so the second copy arrives while the first is queued
      const r = await post(readFileSync(join(FIXTURES, 'sessions/metadata_call-1418.json')));
      assert.equal(r.status, 202);
      const body = (await r.json()) as { session: string; ticket: string; job: { id: string; state: string } };
      assert.equal(body.session, 'call-1418');
      assert.equal(body.ticket, '500ak000024vx4uAAA');
      assert.equal(body.job.id, 'call-1418-1774297018000');
      const again = await post(readFileSync(join(FIXTURES, 'sessions/metadata_call-1418.json')));
      assert.equal(again.status, 200);
      assert.equal(((await again.json()) as { status: string }).status, 'duplicate');
      app.worker!.resume();
      await waitFor('delivered', async () => crm.get('500ak000024vx4uAAA')?.notes.length === 1);
      const st = await fetch(`${base}/sessions/call-1418`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(((await st.json()) as { latest: { state: string } }).latest.state, 'delivered');
    });

    it('answers with what the parser corrected or dropped, field by field', async () => {
      const doc = JSON.parse(readFileSync(join(FIXTURES, 'sessions/metadata_call-1418.json'), 'utf8')) as Record<string, unknown>;
      const r = await post(JSON.stringify({ ...doc, id: 7001, rating: 11, hold_duration: -5 }));
      assert.equal(r.status, 202);
      const body = (await r.json()) as { session: string; warnings: Array<{ field: string; message: string }> };
      assert.equal(body.session, 'call-7001');
      assert.deepEqual(body.warnings, [
        { field: 'hold_duration', message: 'hold_duration -5 is negative, not a duration; dropped' },
        { field: 'rating', message: 'rating 11 is not a CSAT score from 1 to 5; ignored' },
      ]);
      const clean = await post(JSON.stringify({ ...doc, id: 7002 }));
      assert.deepEqual(((await clean.json()) as { warnings: unknown[] }).warnings, []);
    });

    it('rejects a bad document with 422, the code and the field, and keeps it', async () => {
      const r = await post('{"id": 5, "chat_type": "x", "updated_at": "yesterday"}');
      assert.equal(r.status, 422);
      const body = (await r.json()) as { error: { code: string; field: string; message: string } };
      assert.equal(body.error.code, 'INPUT_BAD_TIMESTAMP');
      assert.equal(body.error.field, 'updated_at');
      assert.match(body.error.message, /yesterday/);
      const kept = readdirSync(join(tmp.path, 'data/rejected'));
      assert.ok(kept.some((f) => f.endsWith('.reason.json')));
    });

    it('names in its 422 answer where the original was kept: a .json file holding the exact bytes, its reason beside it', async () => {
      const bytes = Buffer.from('{ "id": 6, "chat_type": "x",\r\n  "updated_at": "la veille \u00e0 midi" }\n');
      const r = await post(bytes);
      assert.equal(r.status, 422);
      const body = (await r.json()) as { keptAt: string | null; error: { code: string } };
      assert.ok(body.keptAt, 'keptAt is given');
      assert.equal(dirname(body.keptAt), join(tmp.path, 'data/rejected'));
      assert.match(body.keptAt, /\.json$/);
      assert.deepEqual(readFileSync(body.keptAt), bytes, 'the exact bytes posted');
      const reason = JSON.parse(readFileSync(`${body.keptAt}.reason.json`, 'utf8')) as { code: string; source: string };
      assert.equal(reason.code, body.error.code);
      assert.match(reason.source, /^http:/);
    });

    it('refuses a body over the size limit with 413', async () => {
      const r = await post(Buffer.alloc(200_000, 0x20));
      assert.equal(r.status, 413);
    });
  });

  describe('HTTP endpoint time-outs', () => {
    // short ones, so that a slow client's fate is seen within a test
    let slow: HttpSource;
    before(async () => {
      slow = await startHttp(
        {
          token: TOKEN,
          maxBytes: 100_000,
          rejectedDir: join(tmp.path, 'slow-rejected'),
          submit: () => Promise.reject(new Error('a slow client never gets this far')),
          status: async () => null,
          health: async () => ({ ok: true }),
          metrics: async () => ({ contentType: 'text/plain', body: '' }),
          timeouts: { requestMs: 1_500, headersMs: 600, keepAliveMs: 400 },
          log: createLogger('silent'),
        },
        0,
        '127.0.0.1',
      );
    });
    after(() => slow.close());

    /** Opens a raw connection, writes `send`, and resolves with what came back and when it closed (ms), or null after `capMs`. */
    function hold(send: string, capMs = 5_000, afterResponse = false): Promise<{ got: string; closedAfterMs: number } | null> {
      return new Promise((resolve) => {
        const socket = connect(slow.port, '127.0.0.1');
        let got = '';
        let from = Date.now();
        const cap = setTimeout(() => {
          socket.destroy();
          resolve(null);
        }, capMs);
        socket.on('connect', () => {
          from = Date.now();
          socket.write(send);
        });
        socket.on('data', (d) => {
          if (afterResponse && got === '') from = Date.now();
          got += d;
        });
        socket.on('error', () => {});
        socket.on('close', () => {
          clearTimeout(cap);
          resolve({ got, closedAfterMs: Date.now() - from });
        });
      });
    }

    it('drops a client that sends half its headers and waits (HTTP_HEADERS_TIMEOUT_MS)', async () => {
      const r = await hold('POST /sessions HTTP/1.1\r\nHost: x\r\nAuthor');
      assert.ok(r, 'the connection was still open after 5 s');
      assert.ok(r.closedAfterMs >= 500 && r.closedAfterMs < 2_500, `closed after ${r.closedAfterMs} ms`);
      assert.match(r.got, /^HTTP\/1\.1 408 /);
    });

    it('drops a client that sends its body too slowly (HTTP_REQUEST_TIMEOUT_MS)', async () => {
      const r = await hold(`POST /sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id": 1,`);
      assert.ok(r, 'the connection was still open after 5 s');
      assert.ok(r.closedAfterMs >= 1_400 && r.closedAfterMs < 3_500, `closed after ${r.closedAfterMs} ms`);
      assert.match(r.got, /^HTTP\/1\.1 408 /);
    });

    it('closes an idle kept-alive connection (HTTP_KEEP_ALIVE_TIMEOUT_MS), not before its time', async () => {
      // Node closes it keepAliveTimeoutBuffer (1 s) after the configured 400 ms, and a busy
      // machine adds its delays: only "not well before 400 ms" and "eventually" are asserted
      const r = await hold('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 15_000, true);
      assert.ok(r, 'the idle connection was still open after 15 s');
      assert.match(r.got, /^HTTP\/1\.1 200 /);
      assert.ok(r.closedAfterMs >= 300, `closed ${r.closedAfterMs} ms after the answer, before the 400 ms configured`);
    });
  });
});

describe('inbox: entries that are not regular files', () => {
  let tmp: { path: string; cleanup(): void };
  before(() => {
    tmp = tempDir('ccai-inbox-kinds');
  });
  after(() => tmp.cleanup());

  it('notes each once, in the words run uses for them (kindOf): a symbolic link, a FIFO, a socket, a character device', async (t) => {
    const dir = join(tmp.path, 'inbox');
    mkdirSync(dir);
    writeFileSync(join(tmp.path, 'target.json'), '{}');
    symlinkSync(join(tmp.path, 'target.json'), join(dir, 'link.json'));
    execFileSync('mkfifo', [join(dir, 'pipe.json')]);
    const socket = createServer();
    await new Promise<void>((r) => socket.listen(join(dir, 'sock'), r));
    const expected: Record<string, string> = { 'link.json': 'a symbolic link', 'pipe.json': 'a FIFO', sock: 'a socket' };
    try {
      // a device node needs root (CAP_MKNOD); without it the other kinds are still checked
      execFileSync('mknod', [join(dir, 'null'), 'c', '1', '3'], { stdio: 'ignore' });
      expected.null = 'a character device';
    } catch {
      t.diagnostic('mknod not allowed here: the character device case is not checked');
    }
    const notes: Array<{ file: string; kind: string }> = [];
    const log = createLogger('warn', { write: (line: string) => void notes.push(JSON.parse(line) as { file: string; kind: string }) });
    const inbox = startInbox({ dir, pollMs: 100_000, settleMs: 300, maxBytes: 100_000, submit: () => Promise.reject(new Error('nothing is read')), log });
    try {
      await inbox.scan();
      await inbox.scan();
      for (const [name, kind] of Object.entries(expected)) assert.equal(kindOf(lstatSync(join(dir, name))), kind);
    } finally {
      await inbox.close();
      socket.close();
    }
    const kinds = Object.fromEntries(notes.filter((n) => n.file).map((n) => [n.file, n.kind]));
    assert.deepEqual(kinds, expected);
    assert.equal(notes.filter((n) => n.file).length, Object.keys(expected).length, 'each noted once');
  });
});
