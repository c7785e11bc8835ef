// A Cloud Storage bucket end to end: `worker` as a real process reading the bucket (the
// loopback double of the JSON API, which the unmodified client talks to) and its notifications
// (the real Pub/Sub emulator), into the local CRM; then `run gs://…`. Faults: a notification
// lost (the sweep finds the object), delivered twice, an object rewritten, deleted before it is
// read, a recording notified, 503s from storage, the worker killed mid-way.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { localNotes } from '../helpers/local-notes.ts';
import { startGcsDouble } from '../gcs/double.ts';
import type { GcsDouble } from '../gcs/double.ts';
import { FIXTURES, TEST_REDIS_URL, dropPrefix, runCli, startWorkerProcess, tempDir, uniquePrefix, waitFor } from '../helpers/env.ts';
import type { WorkerProcess } from '../helpers/env.ts';
import { startPubsubEmulator } from '../helpers/pubsub-emulator.ts';
import type { PubsubEmulator } from '../helpers/pubsub-emulator.ts';

const BUCKET = 'ccai-exports';
const PREFIX = 'tenant/';
const TICKET = '500ak000024vx4uAAA';
const doc = JSON.parse(readFileSync(join(FIXTURES, 'sessions/metadata_call-1418.json'), 'utf8')) as Record<string, unknown>;
const session = (id: number, patch: Record<string, unknown> = {}) => JSON.stringify({ ...doc, id, ...patch });

describe('a Cloud Storage bucket, end to end', () => {
  const prefix = uniquePrefix('gcsw');
  const tmp = tempDir('ccai-gcsw');
  const dataDir = join(tmp.path, 'data');
  let gcs: GcsDouble;
  let pubsub: PubsubEmulator;
  const topic = 'ccai-objects'; // publish takes the short name
  let subscription = '';
  let worker: WorkerProcess | null = null;
  let port = 0;

  const env = () => ({
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    DATA_DIR: dataDir,
    GCS_BUCKET: BUCKET,
    GCS_PREFIX: PREFIX,
    GCS_SUBSCRIPTION: subscription,
    GCS_SWEEP_MS: '2000',
    JOB_LOCK_MS: '5000', // a killed worker's jobs are taken over in seconds
    STORAGE_EMULATOR_HOST: gcs.url,
    PUBSUB_EMULATOR_HOST: pubsub.host,
    METADATA_SERVER_DETECTION: 'none',
    GCLOUD_PROJECT: pubsub.projectId,
  });

  const startWorker = async () => {
    worker = await startWorkerProcess(env(), { home: tmp.path });
    port = worker.port;
  };
  const stopWorker = async (signal: NodeJS.Signals = 'SIGTERM') => {
    await worker?.stop(signal);
    worker = null;
  };
  const notes = (sessionKey: string) => localNotes(dataDir, TICKET, sessionKey);
  const finalize = (name: string) => {
    const o = gcs.get(BUCKET, name)!;
    return pubsub.publish(topic, { eventType: 'OBJECT_FINALIZE', bucketId: BUCKET, objectId: name, objectGeneration: o.generation, payloadFormat: 'NONE' });
  };
  const downloads = (name: string) => gcs.requests.filter((r) => r.kind === 'media' && r.name === name).length;

  before(async () => {
    gcs = await startGcsDouble({ buckets: [BUCKET] });
    pubsub = await startPubsubEmulator();
    ({ subscription } = await pubsub.createSubscription(topic, 'ccai-worker', { ackDeadlineSeconds: 10 }));
    await startWorker();
  });

  after(async () => {
    await stopWorker('SIGKILL');
    await pubsub?.stop();
    await gcs?.close();
    await dropPrefix(prefix);
    tmp.cleanup();
  });

  it('a notified object reaches its ticket; a recording notified is skipped without a download', async () => {
    gcs.put(BUCKET, `${PREFIX}metadata-601.json`, session(601), { contentType: 'application/json' });
    gcs.put(BUCKET, `${PREFIX}call-601.mp3`, 'ID3...', { contentType: 'audio/mpeg' });
    const t0 = Date.now();
    await finalize(`${PREFIX}metadata-601.json`);
    await finalize(`${PREFIX}call-601.mp3`);
    await waitFor('the note', async () => notes('call-601').length === 1, 30_000);
    process.stderr.write(`# notification path: upload to note in ${Date.now() - t0} ms\n`);
    assert.equal(downloads(`${PREFIX}call-601.mp3`), 0, 'the recording was never downloaded');
  });

  it('a notification lost: the sweep takes the object, and names the recording it listed beside it', async () => {
    gcs.put(BUCKET, `${PREFIX}call-602.wav`, 'RIFF....WAVE', { contentType: 'audio/wav' });
    gcs.put(BUCKET, `${PREFIX}metadata-602.json`, session(602));
    const t0 = Date.now();
    await waitFor('the note, from the sweep', async () => notes('call-602').length === 1, 30_000);
    process.stderr.write(`# sweep path (GCS_SWEEP_MS=2000): upload to note in ${Date.now() - t0} ms\n`);
    assert.ok(notes('call-602')[0]!.text.includes("Recording file: call-602.wav, stored beside this session's metadata file"), notes('call-602')[0]!.text);
    assert.equal(downloads(`${PREFIX}call-602.wav`), 0, 'named, never downloaded');
  });

  it('a notification delivered twice is one note and one download', async () => {
    gcs.put(BUCKET, `${PREFIX}metadata-603.json`, session(603));
    await finalize(`${PREFIX}metadata-603.json`);
    await finalize(`${PREFIX}metadata-603.json`);
    await waitFor('the note', async () => notes('call-603').length === 1, 30_000);
    await new Promise((r) => setTimeout(r, 2_500)); // a sweep goes by too
    assert.equal(notes('call-603').length, 1);
    assert.equal(downloads(`${PREFIX}metadata-603.json`), 1);
  });

  it('an object rewritten (a new generation) is a new version on the ticket', async () => {
    gcs.put(BUCKET, `${PREFIX}metadata-604.json`, session(604));
    await finalize(`${PREFIX}metadata-604.json`);
    await waitFor('the first note', async () => notes('call-604').length === 1, 30_000);
    gcs.put(BUCKET, `${PREFIX}metadata-604.json`, session(604, { updated_at: '2026-03-23T13:30:00.000-07:00' }));
    await finalize(`${PREFIX}metadata-604.json`);
    await waitFor('the second version', async () => notes('call-604').length === 2, 30_000);
  });

  it('an object deleted before it is read is let go; 503s from storage are ridden out', async () => {
    gcs.put(BUCKET, `${PREFIX}metadata-605.json`, session(605));
    const gen = gcs.get(BUCKET, `${PREFIX}metadata-605.json`)!.generation;
    gcs.remove(BUCKET, `${PREFIX}metadata-605.json`);
    await pubsub.publish(topic, { eventType: 'OBJECT_FINALIZE', bucketId: BUCKET, objectId: `${PREFIX}metadata-605.json`, objectGeneration: gen, payloadFormat: 'NONE' });
    gcs.failNext('media', 2, 503);
    gcs.put(BUCKET, `${PREFIX}metadata-606.json`, session(606));
    await finalize(`${PREFIX}metadata-606.json`);
    await waitFor('the note despite the 503s', async () => notes('call-606').length === 1, 60_000);
    assert.equal(notes('call-605').length, 0);
  });

  it('/healthz, /metrics and status show the bucket', async () => {
    const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { ok: boolean; remote: Array<{ source: string; ok: boolean; lastOkAt: string | null; taken: number }> };
    assert.equal(health.ok, true);
    const bucket = health.remote.find((r) => r.source === `gs://${BUCKET}/${PREFIX}`);
    assert.ok(bucket && bucket.ok && bucket.lastOkAt !== null && bucket.taken >= 5, JSON.stringify(health.remote));
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, new RegExp(`ccai_remote_objects_total\\{source="gs://${BUCKET}/${PREFIX}",outcome="queued"\\} \\d+`));
    assert.match(metrics, /ccai_remote_lag_seconds\{source="gs:\/\/ccai-exports\/tenant\/"\} 0/);
    const status = await runCli(['status', '--json'], { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: dataDir });
    const st = JSON.parse(status.stdout) as { remote: Array<{ source: string; ok: boolean }> };
    assert.ok(st.remote.some((r) => r.source === `gs://${BUCKET}/${PREFIX}` && r.ok), status.stdout);
  });

  it('a worker killed with objects in flight loses nothing and writes nothing twice', async () => {
    for (let i = 0; i < 20; i++) gcs.put(BUCKET, `${PREFIX}batch/metadata-${700 + i}.json`, session(700 + i));
    for (let i = 0; i < 20; i++) await finalize(`${PREFIX}batch/metadata-${700 + i}.json`);
    await waitFor('some taken', async () => notes('call-700').length + notes('call-719').length > 0 || downloads(`${PREFIX}batch/metadata-700.json`) > 0, 30_000);
    await stopWorker('SIGKILL');
    await startWorker();
    await waitFor('all twenty on the ticket', async () => Array.from({ length: 20 }, (_, i) => notes(`call-${700 + i}`).length).every((n) => n >= 1), 90_000);
    await new Promise((r) => setTimeout(r, 2_500));
    assert.deepEqual(Array.from({ length: 20 }, (_, i) => notes(`call-${700 + i}`).length), Array(20).fill(1), 'each exactly once');
  });

  it('run gs://bucket/prefix/ reads everything there once, with one line per object', async () => {
    await stopWorker();
    const r = await runCli(['run', '--json', `gs://${BUCKET}/${PREFIX}`], { ...env(), HOME: tmp.path }, { timeoutMs: 120_000 });
    const results = (JSON.parse(r.stdout) as { results: Array<{ source: string; status: string; reason: string | null }> }).results;
    assert.equal(results.length, gcs.names(BUCKET, PREFIX).length, r.stderr);
    const mp3 = results.find((x) => x.source.includes('call-601.mp3'));
    assert.equal(mp3?.status, 'skipped');
    assert.match(mp3?.reason ?? '', /recording .*by its name/);
    const meta = results.find((x) => x.source.startsWith(`gs://${BUCKET}/${PREFIX}metadata-601.json#`));
    assert.equal(meta?.status, 'skipped', 'already on the ticket: a duplicate');
    assert.equal(r.code, 0, r.stdout);
  });
});
