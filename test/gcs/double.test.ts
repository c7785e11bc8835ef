// The Cloud Storage double driven by the real, unmocked @google-cloud/storage client: if these
// pass, code written against the client talks to the double the way it would talk to Cloud
// Storage (for the calls the double implements: README.md here).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CRC32C, Storage } from '@google-cloud/storage';
import type { Bucket } from '@google-cloud/storage';
import { startGcsDouble } from './double.ts';
import type { GcsDouble } from './double.ts';

const B = 'ccai-double';
type ClientError = Error & { code?: number | string };

async function failure(p: Promise<unknown>): Promise<ClientError> {
  try {
    await p;
  } catch (err) {
    return err as ClientError;
  }
  assert.fail('expected the call to fail');
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('Cloud Storage double', () => {
  let double: GcsDouble;
  let bucket: Bucket;
  /** the same client without retries: the double's raw answers */
  let raw: Bucket;

  before(async () => {
    double = await startGcsDouble({ buckets: [B] });
    process.env.STORAGE_EMULATOR_HOST = double.url;
    bucket = new Storage().bucket(B);
    raw = new Storage({ retryOptions: { autoRetry: false } }).bucket(B);
  });
  after(async () => {
    delete process.env.STORAGE_EMULATOR_HOST;
    await double.close();
  });

  const clear = () => {
    for (const n of double.names(B)) double.remove(B, n);
  };
  const mark = () => double.requests.length;
  const since = (at: number) => double.requests.slice(at);

  it('answers on both base URLs: STORAGE_EMULATOR_HOST (JSON API at /b/…) and apiEndpoint (at /storage/v1/b/…)', async () => {
    clear();
    double.put(B, 'a/one.json', '{}');
    const at = mark();
    const [viaEnv] = await bucket.getFiles({ prefix: 'a/' });
    const saved = process.env.STORAGE_EMULATOR_HOST;
    delete process.env.STORAGE_EMULATOR_HOST;
    const viaEndpoint = new Storage({ apiEndpoint: double.url }).bucket(B);
    process.env.STORAGE_EMULATOR_HOST = saved;
    const [files] = await viaEndpoint.getFiles({ prefix: 'a/' });
    assert.deepEqual(viaEnv.map((f) => f.name), ['a/one.json']);
    assert.deepEqual(files.map((f) => f.name), ['a/one.json']);
    assert.deepEqual(since(at).map((r) => `${r.kind} ${r.status}`), ['list 200', 'list 200']);
  });

  describe('objects.list', () => {
    it('pages of at most 1,000 with nextPageToken, in name order; the client follows them (autoPaginate)', async () => {
      clear();
      for (let i = 2499; i >= 0; i--) double.put(B, `p/metadata-${String(i).padStart(4, '0')}.json`, String(i));
      const at = mark();
      const [files] = await bucket.getFiles({ prefix: 'p/' });
      assert.equal(files.length, 2500);
      assert.deepEqual(files.map((f) => f.name), double.names(B, 'p/'));
      assert.equal(files[0]!.name, 'p/metadata-0000.json');
      const lists = since(at);
      assert.deepEqual(lists.map((r) => r.query.pageToken === undefined), [true, false, false]);
      // one page by hand: autoPaginate false gives the next query; more than 1,000 is 1,000
      const [page, next] = await bucket.getFiles({ prefix: 'p/', autoPaginate: false, maxResults: 5000 });
      assert.equal(page.length, 1000);
      assert.ok(next && typeof (next as { pageToken?: string }).pageToken === 'string');
      const [last, end] = await bucket.getFiles({ ...(next as object), autoPaginate: false, startOffset: 'p/metadata-2000.json' });
      assert.equal(last.length, 500, 'startOffset and the page token together');
      assert.equal(end, null);
    });

    it('prefix, startOffset (inclusive), endOffset (exclusive); UTF-8 byte order, not UTF-16', async () => {
      clear();
      for (const n of ['x/a', 'x/b', 'x/c', 'x/d', 'y/a', 'x/\uff21', 'x/\u{1f600}']) double.put(B, n, n);
      const names = async (q: Record<string, string>) => (await bucket.getFiles({ prefix: 'x/', ...q }))[0].map((f) => f.name);
      assert.deepEqual(await names({}), ['x/a', 'x/b', 'x/c', 'x/d', 'x/\uff21', 'x/\u{1f600}'], 'U+FF21 (EF BC A1) before U+1F600 (F0 9F 98 80)');
      assert.deepEqual(await names({ startOffset: 'x/b', endOffset: 'x/d' }), ['x/b', 'x/c']);
      assert.deepEqual(await names({ endOffset: 'x/b' }), ['x/a']);
    });

    it('fields: a partial response (the client then hands back the raw items)', async () => {
      clear();
      const o = double.put(B, 'f/metadata-1.json', '{"id":1}', { contentType: 'application/json' });
      const [, , response] = await bucket.getFiles({ prefix: 'f/', autoPaginate: false, fields: 'items(name,generation,size),nextPageToken' });
      assert.deepEqual(response, { items: [{ name: 'f/metadata-1.json', generation: o.generation, size: '8' }] });
    });
  });

  describe('objects.get', () => {
    it('metadata as the API writes it: strings for numbers, base64 crc32c (big-endian) and md5', async () => {
      clear();
      const o = double.put(B, 'm/check.txt', '123456789', { contentType: 'text/plain' });
      const [meta] = await bucket.file('m/check.txt').getMetadata();
      assert.equal(meta.name, 'm/check.txt');
      assert.equal(meta.bucket, B);
      assert.equal(meta.generation, o.generation);
      assert.equal(meta.metageneration, '1');
      assert.equal(meta.size, '9');
      assert.equal(meta.contentType, 'text/plain');
      assert.equal(meta.crc32c, '4waSgw==', 'CRC32C("123456789") = 0xE3069283, the standard check value');
      assert.equal(meta.md5Hash, createHash('md5').update('123456789').digest('base64'));
      assert.equal(meta.updated, o.updated);
      assert.ok(meta.etag && meta.timeCreated);
      const c = new CRC32C();
      c.update(Buffer.from('123456789'));
      assert.ok(c.validate(meta.crc32c!), 'the client’s CRC32C agrees');
    });

    it('alt=media with x-goog-hash: the client validates crc32c (and md5 when asked), and refuses damaged bytes', async () => {
      clear();
      double.put(B, 'd/metadata-1.json', '{"id":1,"call_type":"voice_inbound"}');
      const [bytes] = await bucket.file('d/metadata-1.json').download();
      assert.equal(bytes.toString(), '{"id":1,"call_type":"voice_inbound"}');
      const [again] = await bucket.file('d/metadata-1.json').download({ validation: 'md5' });
      assert.equal(again.length, bytes.length);
      double.corruptNext(1);
      const err = await failure(raw.file('d/metadata-1.json').download());
      assert.equal(err.code, 'CONTENT_DOWNLOAD_MISMATCH');
    });

    it('a Range is answered 206 with the part (the client checks no hash on a part)', async () => {
      clear();
      double.put(B, 'r/big.bin', Buffer.from('0123456789abcdef'));
      const at = mark();
      const part = await readAll(bucket.file('r/big.bin').createReadStream({ start: 0, end: 9 }));
      assert.equal(part.toString(), '0123456789');
      const [r] = since(at);
      assert.equal(r!.range, 'bytes=0-9');
      assert.equal(r!.status, 206);
      // past the end: cut to the object
      assert.equal((await readAll(bucket.file('r/big.bin').createReadStream({ start: 10, end: 4095 }))).toString(), 'abcdef');
    });

    it('generation selects that generation: once rewritten, the old one is 404 (no versioning)', async () => {
      clear();
      const first = double.put(B, 'g/metadata-1.json', 'v1');
      const second = double.put(B, 'g/metadata-1.json', 'v2');
      assert.ok(BigInt(second.generation) > BigInt(first.generation), 'generations increase');
      const [now] = await bucket.file('g/metadata-1.json', { generation: second.generation }).download();
      assert.equal(now.toString(), 'v2');
      assert.equal((await failure(raw.file('g/metadata-1.json', { generation: first.generation }).download())).code, 404);
      assert.equal((await failure(raw.file('g/metadata-1.json', { generation: first.generation }).getMetadata())).code, 404);
      assert.equal((await failure(raw.file('g/none.json').getMetadata())).code, 404);
    });
  });

  describe('writes', () => {
    it('uploads: multipart (the client’s save with resumable: false) and media; ifGenerationMatch=0 refuses an existing object', async () => {
      clear();
      // a client of its own: save() without a precondition turns retries off for its whole
      // Storage instance, for good (@google-cloud/storage 8.4, File#save)
      const writer = new Storage().bucket(B);
      await writer.file('u/metadata-1.json').save('{"id":1}', { resumable: false, contentType: 'application/json' });
      const stored = double.get(B, 'u/metadata-1.json')!;
      assert.equal(stored.bytes.toString(), '{"id":1}');
      assert.equal(stored.contentType, 'application/json');
      const exists = await failure(raw.file('u/metadata-1.json').save('again', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }));
      assert.equal(exists.code, 412);
      const media = await fetch(`${double.url}/upload/storage/v1/b/${B}/o?uploadType=media&name=${encodeURIComponent('u/plain.txt')}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'plain',
      });
      assert.equal(media.status, 200);
      assert.equal(((await media.json()) as { size: string }).size, '5');
      assert.equal(double.get(B, 'u/plain.txt')!.contentType, 'text/plain');
      const resumable = await failure(raw.file('u/r.json').save('x'));
      assert.match(resumable.message, /not implemented by the double: save with \{ resumable: false \}/);
    });

    it('rewrite (the client’s copy): of one source generation, with ifGenerationMatch on the destination', async () => {
      clear();
      const first = double.put(B, 'c/metadata-1.json', 'v1', { contentType: 'application/json' });
      const at = mark();
      await bucket.file('c/metadata-1.json', { generation: first.generation }).copy(bucket.file('done/metadata-1.json'));
      const [r] = since(at);
      assert.equal(r!.kind, 'rewrite');
      assert.equal(r!.query.sourceGeneration, first.generation);
      assert.equal(double.get(B, 'done/metadata-1.json')!.bytes.toString(), 'v1');
      assert.equal(double.get(B, 'done/metadata-1.json')!.contentType, 'application/json');
      double.put(B, 'c/metadata-1.json', 'v2');
      assert.equal((await failure(raw.file('c/metadata-1.json', { generation: first.generation }).copy(raw.file('done/x.json')))).code, 404);
      const dest = await failure(raw.file('c/metadata-1.json').copy(raw.file('done/metadata-1.json'), { preconditionOpts: { ifGenerationMatch: 0 } }));
      assert.equal(dest.code, 412);
    });

    it('delete: with ifGenerationMatch (412 when rewritten), 404 when missing', async () => {
      clear();
      const o = double.put(B, 'x/metadata-1.json', 'v1');
      const stale = await failure(raw.file('x/metadata-1.json', { preconditionOpts: { ifGenerationMatch: String(BigInt(o.generation) - 1n) } }).delete());
      assert.equal(stale.code, 412);
      await bucket.file('x/metadata-1.json', { preconditionOpts: { ifGenerationMatch: o.generation } }).delete();
      assert.equal(double.get(B, 'x/metadata-1.json'), undefined);
      assert.equal((await failure(raw.file('x/metadata-1.json').delete())).code, 404);
    });
  });

  describe('faults', () => {
    it('the next N requests of a kind answer 404, 412, 429 or 503 with the API’s error body', async () => {
      clear();
      double.put(B, 'e/metadata-1.json', '{}');
      for (const [status, reason] of [[404, 'notFound'], [412, 'conditionNotMet'], [429, 'rateLimitExceeded'], [503, 'backendError']] as const) {
        double.failNext('metadata', 1, status);
        const err = (await failure(raw.file('e/metadata-1.json').getMetadata())) as ClientError & { errors?: Array<{ reason: string }> };
        assert.equal(err.code, status);
        assert.equal(err.errors?.[0]?.reason, reason);
      }
      await raw.file('e/metadata-1.json').getMetadata(); // the faults are used up
    });

    it('the client’s own retries go through them (a 503 then the answer)', async () => {
      clear();
      double.put(B, 'e/metadata-1.json', '{}');
      double.failNext('list', 1, 503);
      const at = mark();
      const [files] = await bucket.getFiles({ prefix: 'e/' });
      assert.equal(files.length, 1);
      assert.deepEqual(since(at).map((r) => r.status), [503, 200]);
    });

    it('beforeAnswer: another writer acts between the operation and its answer', async () => {
      clear();
      double.put(B, 'h/metadata-1.json', 'v1');
      double.beforeAnswer('rewrite', () => double.put(B, 'h/metadata-1.json', 'v2'));
      await bucket.file('h/metadata-1.json').copy(bucket.file('done/metadata-1.json'));
      assert.equal(double.get(B, 'done/metadata-1.json')!.bytes.toString(), 'v1');
      assert.equal(double.get(B, 'h/metadata-1.json')!.bytes.toString(), 'v2');
    });

    it('a bucket that does not exist is 404', async () => {
      const err = await failure(new Storage({ retryOptions: { autoRetry: false } }).bucket('no-such-bucket').getFiles());
      assert.equal(err.code, 404);
      assert.equal(err.message, 'The specified bucket does not exist.');
    });
  });
});
