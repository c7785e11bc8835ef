// The Cloud Storage source (src/sources/gcs/) with real parts: the unmodified
// @google-cloud/storage client against the JSON API double (test/gcs/double.ts), reached through
// STORAGE_EMULATOR_HOST as an admin's local trial would; and the unmodified
// @google-cloud/pubsub client against the real Pub/Sub emulator (PUBSUB_EMULATOR_HOST).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { SyncError } from '../../src/errors.ts';
import { createLogger } from '../../src/logger.ts';
import type { Logger } from '../../src/logger.ts';
import { HEAD_BYTES, openGcsStorage } from '../../src/sources/gcs/gcs-storage.ts';
import type { GcsSettings, GcsStorage } from '../../src/sources/gcs/gcs-storage.ts';
import { startGcsNotifications } from '../../src/sources/gcs/notifications.ts';
import type { ObjectNotice } from '../../src/sources/gcs/notifications.ts';
import type { RemoteEntry } from '../../src/sources/remote/storage.ts';
import { startGcsDouble } from '../gcs/double.ts';
import type { GcsDouble } from '../gcs/double.ts';
import { freePort, waitFor } from '../helpers/env.ts';
import { startPubsubEmulator } from '../helpers/pubsub-emulator.ts';
import type { PubsubEmulator } from '../helpers/pubsub-emulator.ts';

const BUCKET = 'ccai-test-bucket';

// Without credentials (GOOGLE_APPLICATION_CREDENTIALS), the Pub/Sub client's auth library
// looks for a GCE metadata server (169.254.169.254) even with an emulator: not from here.
process.env.METADATA_SERVER_DETECTION = 'none';

/** A logger whose lines the test can read. */
function capturingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger('debug', sink), lines };
}

const silent = createLogger('silent');

function settings(over: Partial<GcsSettings> = {}): GcsSettings {
  return { bucket: BUCKET, prefix: 'ccai/', after: 'leave', processedPrefix: null, rejectedPrefix: null, ...over };
}

async function all(storage: GcsStorage): Promise<RemoteEntry[][]> {
  const pages: RemoteEntry[][] = [];
  for await (const page of storage.list()) pages.push(page);
  return pages;
}

async function rejection(p: Promise<unknown>): Promise<SyncError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof SyncError, `a SyncError, not ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

const metadata = (id: number): string => JSON.stringify({ id, call_type: 'voice_inbound', out_ticket_id: `T-${id}`, updated_at: '2026-03-23T20:16:58Z' });

describe('Cloud Storage source (the client against the JSON API double)', () => {
  let double: GcsDouble;

  before(async () => {
    double = await startGcsDouble({ buckets: [BUCKET] });
    // what an admin's local trial sets: the client sends everything there, without credentials
    process.env.STORAGE_EMULATOR_HOST = double.url;
  });
  after(async () => {
    delete process.env.STORAGE_EMULATOR_HOST;
    await double.close();
  });

  const fresh = (prefix: string) => {
    for (const n of double.names(BUCKET, prefix)) double.remove(BUCKET, n);
  };
  const mark = () => double.requests.length;
  const since = (at: number) => double.requests.slice(at);

  it('lists 2,500 objects in pages of 1,000, relative to the prefix, skipping placeholders, other folders and the processed/rejected prefixes', async () => {
    fresh('');
    for (let i = 0; i < 2500; i++) double.put(BUCKET, `ccai/2026/metadata-${String(i).padStart(5, '0')}.json`, metadata(i), { contentType: 'application/json' });
    double.put(BUCKET, 'ccai/', ''); // a "folder" the console made
    double.put(BUCKET, 'ccai/2026/', '');
    for (let i = 0; i < 1200; i++) double.put(BUCKET, `ccai/processed/2026/metadata-${i}.json`, metadata(i));
    double.put(BUCKET, 'ccai/rejected/metadata-bad.json', 'not json');
    double.put(BUCKET, 'ccai/zz/call-1.mp3', 'ID3', { contentType: 'audio/mpeg' }); // after the excluded ranges
    double.put(BUCKET, 'other/metadata-1.json', metadata(1));

    const storage = await openGcsStorage(settings({ after: 'move', processedPrefix: 'ccai/processed/', rejectedPrefix: 'ccai/rejected/' }), silent);
    assert.equal(storage.label, `gs://${BUCKET}/ccai/`);
    const at = mark();
    const pages = await all(storage);
    const entries = pages.flat();
    // pages of 1,000 from the API; the two placeholders ("ccai/", "ccai/2026/") sort first and are left out
    assert.deepEqual(pages.map((p) => p.length), [998, 1000, 502, 1]);
    assert.equal(entries.length, 2501);
    assert.equal(entries[0]!.name, '2026/metadata-00000.json');
    assert.equal(entries.at(-1)!.name, 'zz/call-1.mp3');
    const stored = double.get(BUCKET, 'ccai/2026/metadata-00000.json')!;
    assert.deepEqual(entries[0], { name: '2026/metadata-00000.json', version: stored.generation, size: stored.bytes.length, updated: stored.updated, contentType: 'application/json' });
    assert.equal(entries.at(-1)!.contentType, 'audio/mpeg');
    assert.ok(!entries.some((e) => e.name.startsWith('processed/') || e.name.startsWith('rejected/') || e.name.endsWith('/')));

    // the processed and rejected folders are not even listed: ranges around them, pages of 1,000
    const lists = since(at).filter((r) => r.kind === 'list');
    assert.equal(lists.length, 5, lists.map((r) => JSON.stringify(r.query)).join('\n'));
    for (const r of lists) {
      assert.equal(r.query.prefix, 'ccai/');
      assert.equal(r.query.maxResults, '1000');
      assert.equal(r.query.fields, 'items(name,generation,size,updated,contentType),nextPageToken');
    }
    assert.deepEqual(lists.map((r) => [r.query.startOffset ?? null, r.query.endOffset ?? null]), [
      [null, 'ccai/processed/'],
      [null, 'ccai/processed/'],
      [null, 'ccai/processed/'],
      ['ccai/processed0', 'ccai/rejected/'],
      ['ccai/rejected0', null],
    ]);
    assert.ok(!since(at).some((r) => r.kind === 'media'), 'listing downloads nothing');
  });

  it('stat: the current generation, or null (missing, outside the prefix, a placeholder, under processed/); entryName maps a notification', async () => {
    fresh('');
    const o = double.put(BUCKET, 'ccai/metadata-1.json', metadata(1), { contentType: 'application/json' });
    double.put(BUCKET, 'ccai/processed/metadata-2.json', metadata(2));
    const storage = await openGcsStorage(settings({ after: 'move', processedPrefix: 'ccai/processed/' }), silent);
    assert.deepEqual(await storage.stat('metadata-1.json'), { name: 'metadata-1.json', version: o.generation, size: o.bytes.length, updated: o.updated, contentType: 'application/json' });
    assert.equal(await storage.stat('metadata-404.json'), null);
    assert.equal(await storage.stat('processed/metadata-2.json'), null);

    assert.equal(storage.entryName(BUCKET, 'ccai/2026/metadata-1.json'), '2026/metadata-1.json');
    assert.equal(storage.entryName('another-bucket', 'ccai/metadata-1.json'), null);
    assert.equal(storage.entryName(BUCKET, 'elsewhere/metadata-1.json'), null);
    assert.equal(storage.entryName(BUCKET, 'ccai/2026/'), null);
    assert.equal(storage.entryName(BUCKET, 'ccai/processed/metadata-2.json'), null, 'our own move notifies too');
    const whole = await openGcsStorage(settings({ prefix: '' }), silent);
    assert.equal(whole.label, `gs://${BUCKET}/`);
    assert.equal(whole.entryName(BUCKET, 'ccai/metadata-1.json'), 'ccai/metadata-1.json');
  });

  it('reads exactly the listed generation, its crc32c checked by the client; a damaged transfer is read again, and SOURCE_UNAVAILABLE when it stays damaged', async () => {
    fresh('');
    const o = double.put(BUCKET, 'ccai/metadata-7.json', metadata(7), { contentType: 'application/json' });
    const storage = await openGcsStorage(settings(), silent);
    const [entry] = (await all(storage)).flat();
    const at = mark();
    const r = await storage.read(entry!, 5 * 1024 * 1024);
    assert.ok('bytes' in r);
    assert.equal(Buffer.from(r.bytes).toString('utf8'), metadata(7));
    const [media] = since(at).filter((x) => x.kind === 'media');
    assert.equal(media!.query.generation, o.generation, 'that generation, not whatever is current');
    assert.equal(media!.range, null);

    double.corruptNext(1);
    const again = await storage.read(entry!, 5 * 1024 * 1024);
    assert.ok('bytes' in again && Buffer.from(again.bytes).toString('utf8') === metadata(7));
    double.corruptNext(4); // the first try and 3 more
    const err = await rejection(storage.read(entry!, 5 * 1024 * 1024));
    assert.equal(err.code, 'SOURCE_UNAVAILABLE');
    assert.match(err.message, /^Cloud Storage read gs:\/\/ccai-test-bucket\/ccai\/metadata-7\.json#\d+: CONTENT_DOWNLOAD_MISMATCH: The downloaded data did not match/);
  });

  it('an object over the size limit: only its first 4 KiB are read (a ranged read)', async () => {
    fresh('');
    const recording = Buffer.alloc(200_000, 7);
    recording.write('ID3\u0004', 0, 'latin1');
    double.put(BUCKET, 'ccai/metadata-huge.json', recording, { contentType: 'application/octet-stream' });
    const storage = await openGcsStorage(settings(), silent);
    const [entry] = (await all(storage)).flat();
    const at = mark();
    const r = await storage.read(entry!, 50_000);
    assert.ok('tooLarge' in r);
    assert.equal(r.head.length, HEAD_BYTES);
    assert.deepEqual(Buffer.from(r.head), recording.subarray(0, HEAD_BYTES));
    const media = since(at).filter((x) => x.kind === 'media');
    assert.equal(media.length, 1);
    assert.equal(media[0]!.range, `bytes=0-${HEAD_BYTES - 1}`);

    // smaller than the head: the range is cut to the object
    double.put(BUCKET, 'ccai/metadata-huge.json', 'x'.repeat(3000));
    const [small] = (await all(storage)).flat();
    const r2 = await storage.read(small!, 1000);
    assert.ok('tooLarge' in r2 && r2.head.length === 3000);
  });

  it('a generation rewritten or deleted since it was listed is gone (no error, nothing read)', async () => {
    fresh('');
    double.put(BUCKET, 'ccai/metadata-8.json', metadata(8));
    double.put(BUCKET, 'ccai/metadata-9.json', metadata(9));
    const storage = await openGcsStorage(settings(), silent);
    const [e8, e9] = (await all(storage)).flat();
    double.put(BUCKET, 'ccai/metadata-8.json', metadata(80)); // CCAI rewrites it: a new generation
    double.remove(BUCKET, 'ccai/metadata-9.json');
    assert.deepEqual(await storage.read(e8!, 1 << 20), { gone: true });
    assert.deepEqual(await storage.read(e9!, 1 << 20), { gone: true });
    assert.deepEqual(await storage.read({ ...e8!, size: 10 << 20 }, 1 << 20), { gone: true }, 'the head read too');
    // the new generation is listed as a version of its own
    const [now] = (await all(storage)).flat();
    assert.notEqual(now!.version, e8!.version);
  });

  describe('finish', () => {
    it('leave: a processed object stays, untouched; a rejected one is copied to GCS_REJECTED_PREFIX when set', async () => {
      fresh('');
      double.put(BUCKET, 'ccai/metadata-1.json', metadata(1));
      double.put(BUCKET, 'ccai/metadata-bad.json', 'not json');
      const storage = await openGcsStorage(settings({ rejectedPrefix: 'ccai/rejected/' }), silent);
      const [e1, bad] = (await all(storage)).flat();
      const at = mark();
      await storage.finish(e1!, 'processed');
      assert.deepEqual(since(at), [], 'no request at all');
      await storage.finish(bad!, 'rejected');
      assert.deepEqual(double.names(BUCKET), ['ccai/metadata-1.json', 'ccai/metadata-bad.json', 'ccai/rejected/metadata-bad.json']);
      assert.equal(double.get(BUCKET, 'ccai/rejected/metadata-bad.json')!.bytes.toString(), 'not json');
      const noPrefix = await openGcsStorage(settings(), silent);
      const before = mark();
      await noPrefix.finish(bad!, 'rejected');
      assert.deepEqual(since(before), []);
    });

    it('move: copied to GCS_PROCESSED_PREFIX at that generation, then deleted with ifGenerationMatch; rejected to GCS_REJECTED_PREFIX, or left without it', async () => {
      fresh('');
      const o = double.put(BUCKET, 'ccai/2026/metadata-1.json', metadata(1), { contentType: 'application/json' });
      double.put(BUCKET, 'ccai/metadata-bad.json', 'not json');
      double.put(BUCKET, 'ccai/metadata-bad2.json', 'not json either');
      const storage = await openGcsStorage(settings({ after: 'move', processedPrefix: 'ccai/processed/', rejectedPrefix: 'ccai/rejected/' }), silent);
      const [e1, bad, bad2] = (await all(storage)).flat();
      const at = mark();
      await storage.finish(e1!, 'processed');
      const [rewrite, del] = since(at);
      assert.equal(rewrite!.kind, 'rewrite');
      assert.equal(rewrite!.query.sourceGeneration, o.generation);
      assert.equal(del!.kind, 'delete');
      assert.equal(del!.query.ifGenerationMatch, o.generation);
      const moved = double.get(BUCKET, 'ccai/processed/2026/metadata-1.json')!;
      assert.equal(moved.bytes.toString(), metadata(1));
      assert.equal(moved.contentType, 'application/json');
      await storage.finish(bad!, 'rejected');
      assert.deepEqual(double.names(BUCKET), ['ccai/metadata-bad2.json', 'ccai/processed/2026/metadata-1.json', 'ccai/rejected/metadata-bad.json']);
      // without GCS_REJECTED_PREFIX a rejected object stays where it is
      const noRejected = await openGcsStorage(settings({ after: 'move', processedPrefix: 'ccai/processed/' }), silent);
      await noRejected.finish(bad2!, 'rejected');
      assert.ok(double.get(BUCKET, 'ccai/metadata-bad2.json'));
      // what was moved is not listed again
      assert.deepEqual((await all(storage)).flat().map((e) => e.name), ['metadata-bad2.json']);
    });

    it('move, rewritten between the listing and the move: that generation is gone (404 on the copy), nothing moved, the new generation stays', async () => {
      fresh('');
      double.put(BUCKET, 'ccai/metadata-1.json', metadata(1));
      const { log, lines } = capturingLogger();
      const storage = await openGcsStorage(settings({ after: 'move', processedPrefix: 'processed/' }), log);
      const [e1] = (await all(storage)).flat();
      const newer = double.put(BUCKET, 'ccai/metadata-1.json', metadata(10));
      await storage.finish(e1!, 'processed');
      assert.deepEqual(double.names(BUCKET), ['ccai/metadata-1.json']);
      assert.equal(double.get(BUCKET, 'ccai/metadata-1.json')!.generation, newer.generation);
      assert.ok(lines.some((l) => /this generation is gone/.test(String(l.msg))));
    });

    it('move, rewritten between the copy and the delete: the delete answers 412 and the new generation survives, to be taken as its own version', async () => {
      fresh('');
      const first = double.put(BUCKET, 'ccai/metadata-1.json', metadata(1));
      const { log, lines } = capturingLogger();
      const storage = await openGcsStorage(settings({ after: 'move', processedPrefix: 'processed/' }), log);
      const [e1] = (await all(storage)).flat();
      let newer = first;
      double.beforeAnswer('rewrite', () => (newer = double.put(BUCKET, 'ccai/metadata-1.json', metadata(10))));
      const at = mark();
      await storage.finish(e1!, 'processed');
      assert.deepEqual(since(at).map((r) => `${r.kind} ${r.status}`), ['rewrite 200', 'delete 412']);
      assert.equal(double.get(BUCKET, 'processed/metadata-1.json')!.bytes.toString(), metadata(1), 'the version taken is in processed/');
      assert.equal(double.get(BUCKET, 'ccai/metadata-1.json')!.generation, newer.generation, 'the rewrite is still there');
      assert.ok(lines.some((l) => /rewritten since it was read/.test(String(l.msg))));
      const [again] = (await all(storage)).flat();
      assert.equal(again!.version, newer.generation);
    });

    it('delete: with ifGenerationMatch; a rewrite meanwhile (412) survives; already gone (404) is fine', async () => {
      fresh('');
      double.put(BUCKET, 'ccai/metadata-1.json', metadata(1));
      double.put(BUCKET, 'ccai/metadata-2.json', metadata(2));
      double.put(BUCKET, 'ccai/metadata-3.json', metadata(3));
      double.put(BUCKET, 'ccai/metadata-bad.json', 'bad');
      const storage = await openGcsStorage(settings({ after: 'delete' }), silent);
      const [e1, e2, e3, bad] = (await all(storage)).flat();
      await storage.finish(e1!, 'processed');
      const newer = double.put(BUCKET, 'ccai/metadata-2.json', metadata(20));
      await storage.finish(e2!, 'processed');
      double.remove(BUCKET, 'ccai/metadata-3.json');
      await storage.finish(e3!, 'processed');
      // rejected, without GCS_REJECTED_PREFIX: kept in the bucket (DATA_DIR/rejected/ is one machine's)
      await storage.finish(bad!, 'rejected');
      assert.deepEqual(double.names(BUCKET), ['ccai/metadata-2.json', 'ccai/metadata-bad.json']);
      assert.equal(double.get(BUCKET, 'ccai/metadata-2.json')!.generation, newer.generation);
      // with it: moved there
      const withRejected = await openGcsStorage(settings({ after: 'delete', rejectedPrefix: 'rejected/' }), silent);
      await withRejected.finish(bad!, 'rejected');
      assert.deepEqual(double.names(BUCKET), ['ccai/metadata-2.json', 'rejected/metadata-bad.json']);
    });
  });

  describe('faults', () => {
    it('a 503 (and a 429) is retried: the listing by the client, a download by read() (the client’s own retry of a download would crash the process)', async () => {
      fresh('');
      double.put(BUCKET, 'ccai/metadata-1.json', metadata(1));
      const storage = await openGcsStorage(settings(), silent);
      const at = mark();
      double.failNext('list', 1, 503);
      const [entry] = (await all(storage)).flat();
      double.failNext('media', 1, 429);
      double.failNext('media', 1, 503);
      const r = await storage.read(entry!, 1 << 20);
      assert.ok('bytes' in r);
      double.failNext('media', 1, 503);
      const head = await storage.read(entry!, 10);
      assert.ok('tooLarge' in head);
      assert.deepEqual(since(at).map((x) => `${x.kind} ${x.status}`), ['list 503', 'list 200', 'media 429', 'media 503', 'media 200', 'media 503', 'media 206']);
      // read() gives up after 3 retries, as the client would
      double.failNext('media', 4, 503);
      const err = await rejection(storage.read(entry!, 1 << 20));
      assert.equal(err.code, 'SOURCE_UNAVAILABLE');
      assert.match(err.message, /: 503 backendError: injected 503 \(backendError\)$/);
    });

    it('a copy and a delete are retried too (each is idempotent: one pinned generation, ifGenerationMatch)', async () => {
      fresh('');
      double.put(BUCKET, 'ccai/metadata-1.json', metadata(1));
      const storage = await openGcsStorage(settings({ after: 'move', processedPrefix: 'processed/' }), silent);
      const [entry] = (await all(storage)).flat();
      const at = mark();
      double.failNext('rewrite', 1, 503);
      double.failNext('delete', 1, 503);
      await storage.finish(entry!, 'processed');
      assert.deepEqual(since(at).map((x) => `${x.kind} ${x.status}`), ['rewrite 503', 'rewrite 200', 'delete 503', 'delete 204']);
      assert.deepEqual(double.names(BUCKET), ['processed/metadata-1.json']);
    });

    it('503s that outlast the client’s retries are SOURCE_UNAVAILABLE, in the service’s words', async (t) => {
      fresh('');
      double.put(BUCKET, 'ccai/metadata-1.json', metadata(1));
      const storage = await openGcsStorage(settings(), silent);
      // the first try and the client's 3 retries
      double.failNext('list', 4, 503);
      const at = mark();
      const started = Date.now();
      const err = await rejection(all(storage));
      const took = Date.now() - started;
      assert.equal(err.code, 'SOURCE_UNAVAILABLE');
      assert.equal(err.message, 'Cloud Storage list gs://ccai-test-bucket/ccai/: 503 backendError: injected 503 (backendError)');
      assert.deepEqual(since(at).map((x) => `${x.kind} ${x.status}`), ['list 503', 'list 503', 'list 503', 'list 503']);
      t.diagnostic(`4 answers of 503 reported as SOURCE_UNAVAILABLE after ${took} ms of the client's backoff`);
      assert.ok(took > 2_000, `backed off (${took} ms)`);
      // and the next sweep goes through
      assert.equal((await all(storage)).flat().length, 1);
    });

    it('at start-up: a missing bucket, or a refused role, is CONFIG_INVALID; no server at all is SOURCE_UNAVAILABLE', async () => {
      const missing = await rejection(openGcsStorage(settings({ bucket: 'no-such-bucket' }), silent));
      assert.equal(missing.code, 'CONFIG_INVALID');
      assert.match(missing.message, /^Cloud Storage list gs:\/\/no-such-bucket\/ccai\/: 404 notFound: The specified bucket does not exist\.$/);
      double.failNext('list', 1, 403);
      const refused = await rejection(openGcsStorage(settings(), silent));
      assert.equal(refused.code, 'CONFIG_INVALID');
      assert.match(refused.message, /403 forbidden/);

      const saved = process.env.STORAGE_EMULATOR_HOST;
      process.env.STORAGE_EMULATOR_HOST = `http://127.0.0.1:${await freePort()}`;
      try {
        const down = await rejection(openGcsStorage(settings(), silent));
        assert.equal(down.code, 'SOURCE_UNAVAILABLE');
        assert.match(down.message, /ECONNREFUSED/);
      } finally {
        process.env.STORAGE_EMULATOR_HOST = saved;
      }
    });

    it('settings it cannot work with are CONFIG_INVALID before any request', async () => {
      const at = mark();
      const cases: Array<[Partial<GcsSettings>, RegExp]> = [
        [{ after: 'move' }, /GCS_AFTER=move needs GCS_PROCESSED_PREFIX/],
        [{ prefix: 'ccai' }, /GCS_PREFIX must be a folder path/],
        [{ prefix: '/ccai/' }, /GCS_PREFIX must be a folder path/],
        [{ after: 'move', processedPrefix: 'ccai/' }, /GCS_PROCESSED_PREFIX \("ccai\/"\) must not contain GCS_PREFIX/],
        [{ after: 'move', processedPrefix: 'processed' }, /GCS_PROCESSED_PREFIX must be a folder path/],
        [{ rejectedPrefix: '' }, /GCS_REJECTED_PREFIX must be a folder path/],
      ];
      for (const [over, message] of cases) {
        const err = await rejection(openGcsStorage(settings(over), silent));
        assert.equal(err.code, 'CONFIG_INVALID');
        assert.match(err.message, message);
      }
      assert.deepEqual(since(at), []);
    });
  });
});

describe('bucket notifications (the client against the real Pub/Sub emulator)', () => {
  let emulator: PubsubEmulator;
  let double: GcsDouble;
  let n = 0;

  before(async () => {
    emulator = await startPubsubEmulator();
    process.env.PUBSUB_EMULATOR_HOST = emulator.host;
    double = await startGcsDouble({ buckets: [BUCKET] });
    process.env.STORAGE_EMULATOR_HOST = double.url;
  });
  after(async () => {
    delete process.env.PUBSUB_EMULATOR_HOST;
    delete process.env.STORAGE_EMULATOR_HOST;
    await emulator?.stop();
    await double?.close();
  });

  /** A topic and subscription of its own per test; attributes as Cloud Storage sets them. */
  async function channel(ackDeadlineSeconds = 10) {
    n++;
    const names = await emulator.createSubscription(`bucket-events-${n}`, `ccai-worker-${n}`, { ackDeadlineSeconds });
    const notify = (eventType: string, name: string, generation: string) =>
      emulator.publish(
        `bucket-events-${n}`,
        { eventType, bucketId: BUCKET, objectId: name, objectGeneration: generation, payloadFormat: 'JSON_API_V1', notificationConfig: `projects/_/buckets/${BUCKET}/notificationConfigs/1` },
        JSON.stringify({ kind: 'storage#object', name, bucket: BUCKET, generation }),
      );
    return { ...names, notify };
  }

  it('a finalize is handed over (then stat and read through the storage), acked once onObject says so', async (t) => {
    t.diagnostic(`the Pub/Sub emulator answered ${emulator.startMs} ms after it was started`);
    const { subscription, notify } = await channel();
    const o = double.put(BUCKET, 'ccai/metadata-42.json', metadata(42));
    const storage = await openGcsStorage(settings(), silent);
    const seen: Array<{ notice: ObjectNotice; bytes: string | null }> = [];
    const started = Date.now();
    const notifications = startGcsNotifications({ subscription }, async (notice) => {
      const name = storage.entryName(notice.bucket, notice.name);
      const entry = name === null ? null : await storage.stat(name);
      const r = entry ? await storage.read(entry, 1 << 20) : null;
      seen.push({ notice, bytes: r && 'bytes' in r ? Buffer.from(r.bytes).toString('utf8') : null });
      return 'ack';
    }, silent);
    try {
      assert.deepEqual(notifications.health(), { lastMessageAt: null, lastError: null });
      await notify('OBJECT_FINALIZE', 'ccai/metadata-42.json', o.generation);
      await waitFor('the notification', async () => seen.length > 0, 20_000);
      t.diagnostic(`a published finalize reached onObject ${Date.now() - started} ms after the subscriber started`);
      assert.deepEqual(seen, [{ notice: { bucket: BUCKET, name: 'ccai/metadata-42.json', generation: o.generation, eventType: 'OBJECT_FINALIZE' }, bytes: metadata(42) }]);
      assert.ok(notifications.health().lastMessageAt);
    } finally {
      await notifications.close();
    }
    // acked: nothing is left on the subscription
    assert.deepEqual(await emulator.pull(subscription), []);
  });

  it("'nack' (or a throw) puts the message back: it is delivered again", async () => {
    const { subscription, notify } = await channel();
    const calls: ObjectNotice[] = [];
    const notifications = startGcsNotifications({ subscription }, async (notice) => {
      calls.push(notice);
      if (calls.length === 1) return 'nack'; // the queue was down
      if (calls.length === 2) throw new Error('Redis went away');
      return 'ack';
    }, silent);
    try {
      await notify('OBJECT_FINALIZE', 'ccai/metadata-5.json', '1774297018000001');
      await waitFor('three deliveries', async () => calls.length >= 3, 30_000);
      assert.deepEqual(new Set(calls.map((c) => `${c.name}#${c.generation}`)), new Set(['ccai/metadata-5.json#1774297018000001']));
    } finally {
      await notifications.close();
    }
    assert.equal(calls.length, 3);
    assert.deepEqual(await emulator.pull(subscription), []);
  });

  it('other event types (delete, archive, metadata update) and foreign messages are acked and ignored', async () => {
    const { subscription, notify, topic } = await channel();
    const calls: ObjectNotice[] = [];
    const notifications = startGcsNotifications({ subscription }, async (notice) => {
      calls.push(notice);
      return 'ack';
    }, silent);
    try {
      await notify('OBJECT_DELETE', 'ccai/metadata-1.json', '1');
      await notify('OBJECT_ARCHIVE', 'ccai/metadata-2.json', '2');
      await notify('OBJECT_METADATA_UPDATE', 'ccai/metadata-3.json', '3');
      await emulator.publish(topic.split('/').at(-1)!, { eventType: 'OBJECT_FINALIZE' }, 'no bucket, no object');
      await notify('OBJECT_FINALIZE', 'ccai/metadata-4.json', '4');
      await waitFor('the finalize', async () => calls.length > 0, 20_000);
    } finally {
      await notifications.close();
    }
    assert.deepEqual(calls.map((c) => c.name), ['ccai/metadata-4.json']);
    assert.deepEqual(await emulator.pull(subscription), [], 'every one of them acked');
  });

  it('delivered twice: a duplicate publication, and a message another worker leased and never acked (its deadline passes)', async (t) => {
    const { subscription, notify } = await channel(10);
    // a worker that pulled the message and died before acking it
    await notify('OBJECT_FINALIZE', 'ccai/metadata-6.json', '6');
    const leased = await emulator.pull(subscription);
    assert.equal(leased.length, 1);
    const calls: Array<{ notice: ObjectNotice; at: number }> = [];
    const started = Date.now();
    const notifications = startGcsNotifications({ subscription }, async (notice) => {
      calls.push({ notice, at: Date.now() - started });
      return 'ack';
    }, silent);
    try {
      // Pub/Sub may deliver one notification twice: both reach onObject (the ledger dedupes)
      await notify('OBJECT_FINALIZE', 'ccai/metadata-7.json', '7');
      await notify('OBJECT_FINALIZE', 'ccai/metadata-7.json', '7');
      await waitFor('the leased message after its ack deadline', async () => calls.some((c) => c.notice.name === 'ccai/metadata-6.json'), 30_000);
      await waitFor('both copies', async () => calls.filter((c) => c.notice.name === 'ccai/metadata-7.json').length === 2, 10_000);
    } finally {
      await notifications.close();
    }
    const redelivered = calls.find((c) => c.notice.name === 'ccai/metadata-6.json')!;
    t.diagnostic(`an un-acked message came back ${redelivered.at} ms after the subscriber started (ack deadline 10 s)`);
    assert.ok(redelivered.at >= 5_000, `not before its deadline (${redelivered.at} ms)`);
    assert.deepEqual(await emulator.pull(subscription), []);
  });

  it('a subscription that does not exist yet: health says CONFIG_INVALID, and it is reopened until it does', async () => {
    n++;
    const topic = `bucket-events-${n}`;
    const subscription = `projects/${emulator.projectId}/subscriptions/not-yet-${n}`;
    const calls: ObjectNotice[] = [];
    const notifications = startGcsNotifications({ subscription }, async (notice) => {
      calls.push(notice);
      return 'ack';
    }, silent);
    try {
      await waitFor('the error in health', async () => notifications.health().lastError, 20_000);
      assert.match(notifications.health().lastError!, /^CONFIG_INVALID: Pub\/Sub subscription projects\/ccai-test-project\/subscriptions\/not-yet-\d+: NOT_FOUND: Subscription does not exist/);
      await emulator.createSubscription(topic, `not-yet-${n}`);
      await emulator.publish(topic, { eventType: 'OBJECT_FINALIZE', bucketId: BUCKET, objectId: 'ccai/metadata-9.json', objectGeneration: '9' });
      await waitFor('the message once reopened', async () => calls.length > 0, 30_000);
      assert.equal(notifications.health().lastError, null);
    } finally {
      await notifications.close();
    }
  });

  it('a subscription name that is not projects/P/subscriptions/S is CONFIG_INVALID at once', () => {
    assert.throws(() => startGcsNotifications({ subscription: 'ccai-worker' }, async () => 'ack', silent), (err: unknown) => err instanceof SyncError && err.code === 'CONFIG_INVALID' && /projects\/PROJECT\/subscriptions\/NAME/.test(err.message));
  });
});
