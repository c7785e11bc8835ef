// A loopback HTTP server that speaks the part of the Cloud Storage JSON API the worker uses, for
// tests (no Cloud Storage is reachable from here and no emulator installs). The UNMODIFIED
// @google-cloud/storage client talks to it: set STORAGE_EMULATOR_HOST=double.url before the
// client is made (`new Storage()` reads it in its constructor). What it implements: README.md here.
//
// Why both `/storage/v1/b/...` and `/b/...`: with STORAGE_EMULATOR_HOST the client (8.x) uses
// that value as the JSON API's base URL as it is, without `/storage/v1` (googleapis/nodejs-storage
// issue 1314), while uploads still go to `/upload/storage/v1/...`; an `apiEndpoint` gets
// `/storage/v1` added. Emulators answer both, and so does this double.
//
// Documented behaviour mimicked (Cloud Storage JSON API reference, "Objects" and "Request
// preconditions"):
// - objects.list: `prefix`, `startOffset`, `endOffset`, `maxResults` (at most 1000),
//   `pageToken`/`nextPageToken`, names in lexicographic (UTF-8 byte) order, `fields`
//   (`items(a,b),nextPageToken`: a partial response);
// - objects.get: metadata, or the bytes with `alt=media`: `x-goog-hash: crc32c=…,md5=…` (base64 of
//   the big-endian CRC32C and of the MD5), `x-goog-generation`, `x-goog-stored-content-encoding`
//   (the client checks the hash only when that says `identity`), a `Range: bytes=a-b` answered
//   206 with `Content-Range`; `generation` selects one generation (only the live one is kept:
//   the bucket has no versioning, so an older generation is 404, as in such a bucket);
// - uploads (`POST /upload/storage/v1/b/B/o`, `uploadType=media` or `multipart`), objects.rewrite
//   (`POST …/o/SRC/rewriteTo/b/B/o/DST`, `sourceGeneration`), objects.delete;
// - preconditions: `ifGenerationMatch` (0: the object must not exist) on upload, rewrite (of the
//   destination) and delete, `ifSourceGenerationMatch` on rewrite: 412 `conditionNotMet`;
// - errors as `{ error: { code, message, errors: [{ message, domain, reason }] } }`;
// - each new object version gets a new generation (microseconds, always increasing).
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CRC32C } from '@google-cloud/storage';

/** One object, at its live generation. */
export interface StoredObject {
  bucket: string;
  name: string;
  generation: string;
  metageneration: string;
  bytes: Buffer;
  contentType: string;
  /** RFC 3339, as the API writes it */
  updated: string;
  timeCreated: string;
}

/** What a fault (or a request) is: the kind of API call. */
export type RequestKind = 'list' | 'metadata' | 'media' | 'upload' | 'rewrite' | 'delete';

export interface LoggedRequest {
  kind: RequestKind | 'other';
  method: string;
  bucket: string | null;
  /** the object name (for a rewrite: the source) */
  name: string | null;
  query: Record<string, string>;
  range: string | null;
  status: number;
}

export interface GcsDouble {
  /** `http://127.0.0.1:PORT`: the value for STORAGE_EMULATOR_HOST */
  url: string;
  /** Adds (or replaces, as a new generation) an object directly, as CCAI would write it. */
  put(bucket: string, name: string, bytes: string | Uint8Array, opts?: { contentType?: string }): StoredObject;
  get(bucket: string, name: string): StoredObject | undefined;
  /** The names in a bucket, in listing order. */
  names(bucket: string, prefix?: string): string[];
  remove(bucket: string, name: string): boolean;
  /** Every request so far, in order. */
  requests: LoggedRequest[];
  /** The next `n` requests of this kind answer `status` (404, 412, 429, 503, ...) with the API's error body. */
  failNext(kind: RequestKind, n: number, status: number): void;
  /** The next `n` media downloads send one byte changed, with the true hashes: a checksum mismatch. */
  corruptNext(n: number): void;
  /**
   * Runs `fn` once, when the next request of this kind has been carried out and before it is
   * answered: something another writer does in between two calls of the client (CCAI
   * rewriting an object between the copy and the delete of a move).
   */
  beforeAnswer(kind: RequestKind, fn: () => void): void;
  close(): Promise<void>;
}

const MAX_RESULTS = 1000;

/** The API's reason for each status the double answers. */
const REASONS: Record<number, string> = {
  400: 'invalid',
  401: 'required',
  403: 'forbidden',
  404: 'notFound',
  409: 'conflict',
  412: 'conditionNotMet',
  416: 'requestedRangeNotSatisfiable',
  429: 'rateLimitExceeded',
  500: 'backendError',
  503: 'backendError',
};

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function crc32c(bytes: Buffer): string {
  const c = new CRC32C();
  c.update(bytes);
  return c.toString();
}

function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('base64');
}

/** Lexicographic order of UTF-8 bytes, as the API lists (not JavaScript's UTF-16 order). */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A `multipart/related` upload: the JSON metadata part, then the media part. */
function parseMultipart(body: Buffer, contentType: string): { metadata: Record<string, unknown>; media: Buffer; mediaType: string | null } {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) throw new HttpError(400, 'multipart upload without a boundary');
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, start);
    if (next === -1) break;
    // each part: CRLF, headers, CRLF CRLF, content, CRLF
    parts.push(body.subarray(start + 2, next - 2));
    at = next;
  }
  const split = (part: Buffer) => {
    const end = part.indexOf('\r\n\r\n');
    return { headers: part.subarray(0, end).toString('utf8'), content: part.subarray(end + 4) };
  };
  if (parts.length !== 2) throw new HttpError(400, `multipart upload with ${parts.length} parts, not 2`);
  const meta = split(parts[0]!);
  const media = split(parts[1]!);
  return {
    metadata: JSON.parse(meta.content.toString('utf8')) as Record<string, unknown>,
    media: media.content,
    mediaType: /content-type:\s*([^\r\n]+)/i.exec(media.headers)?.[1]?.trim() ?? null,
  };
}

/** `items(name,generation),nextPageToken` -> the top-level fields, and the fields of each item. */
function parseFields(fields: string): { top: Set<string>; item: Set<string> | null } {
  const top = new Set<string>();
  let item: Set<string> | null = null;
  for (const m of fields.matchAll(/([A-Za-z]+)(?:\(([^)]*)\))?/g)) {
    top.add(m[1]!);
    if (m[1] === 'items' && m[2] !== undefined) item = new Set(m[2].split(',').map((f) => f.trim()));
  }
  return { top, item };
}

function pick(o: Record<string, unknown>, keys: Set<string> | null): Record<string, unknown> {
  return keys ? Object.fromEntries(Object.entries(o).filter(([k]) => keys.has(k))) : o;
}

export async function startGcsDouble(opts: { buckets?: string[] } = {}): Promise<GcsDouble> {
  const buckets = new Map<string, Map<string, StoredObject>>((opts.buckets ?? ['ccai-test-bucket']).map((b) => [b, new Map()]));
  const requests: LoggedRequest[] = [];
  const faults: Array<{ kind: RequestKind; status: number }> = [];
  const hooks: Array<{ kind: RequestKind; fn: () => void }> = [];
  let corrupt = 0;
  let lastGeneration = 0;
  let base = '';

  const nextGeneration = (): string => {
    lastGeneration = Math.max(Date.now() * 1000, lastGeneration + 1);
    return String(lastGeneration);
  };
  const bucketOf = (name: string): Map<string, StoredObject> => {
    const b = buckets.get(name);
    if (!b) throw new HttpError(404, 'The specified bucket does not exist.');
    return b;
  };
  const objectOf = (bucket: string, name: string, generation?: string): StoredObject => {
    const o = bucketOf(bucket).get(name);
    if (!o || (generation !== undefined && generation !== o.generation)) {
      throw new HttpError(404, `No such object: ${bucket}/${name}`);
    }
    return o;
  };
  const store = (bucket: string, name: string, bytes: Buffer, contentType: string): StoredObject => {
    const now = new Date().toISOString();
    const previous = bucketOf(bucket).get(name);
    const o: StoredObject = {
      bucket,
      name,
      generation: nextGeneration(),
      metageneration: '1',
      bytes,
      contentType,
      updated: now,
      timeCreated: previous?.timeCreated ?? now,
    };
    bucketOf(bucket).set(name, o);
    return o;
  };
  const resource = (o: StoredObject): Record<string, unknown> => {
    const path = `b/${o.bucket}/o/${encodeURIComponent(o.name)}`;
    return {
      kind: 'storage#object',
      id: `${o.bucket}/${o.name}/${o.generation}`,
      selfLink: `${base}/storage/v1/${path}`,
      mediaLink: `${base}/download/storage/v1/${path}?generation=${o.generation}&alt=media`,
      name: o.name,
      bucket: o.bucket,
      generation: o.generation,
      metageneration: o.metageneration,
      contentType: o.contentType,
      storageClass: 'STANDARD',
      size: String(o.bytes.length),
      md5Hash: md5(o.bytes),
      crc32c: crc32c(o.bytes),
      etag: Buffer.from(`${o.generation}/${o.metageneration}`).toString('base64'),
      timeCreated: o.timeCreated,
      updated: o.updated,
      timeStorageClassUpdated: o.timeCreated,
    };
  };
  /** `ifGenerationMatch` against the live object (absent: generation 0). */
  const checkGeneration = (current: StoredObject | undefined, wanted: string | undefined, what: string) => {
    if (wanted === undefined) return;
    if ((current?.generation ?? '0') !== wanted) {
      throw new HttpError(412, `At least one of the pre-conditions you specified did not hold (${what}).`);
    }
  };

  function route(method: string, path: string): { kind: RequestKind | 'other'; bucket: string | null; name: string | null; dest?: { bucket: string; name: string } } {
    const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path);
    if (upload && method === 'POST') return { kind: 'upload', bucket: decodeURIComponent(upload[1]!), name: null };
    const json = path.replace(/^\/storage\/v1(?=\/)/, '');
    const rewrite = /^\/b\/([^/]+)\/o\/([^/]+)\/rewriteTo\/b\/([^/]+)\/o\/([^/]+)$/.exec(json);
    if (rewrite && method === 'POST') {
      return {
        kind: 'rewrite',
        bucket: decodeURIComponent(rewrite[1]!),
        name: decodeURIComponent(rewrite[2]!),
        dest: { bucket: decodeURIComponent(rewrite[3]!), name: decodeURIComponent(rewrite[4]!) },
      };
    }
    const object = /^\/b\/([^/]+)\/o\/([^/]+)$/.exec(json);
    if (object) {
      const kind = method === 'DELETE' ? 'delete' : method === 'GET' ? 'metadata' : 'other';
      return { kind, bucket: decodeURIComponent(object[1]!), name: decodeURIComponent(object[2]!) };
    }
    const list = /^\/b\/([^/]+)\/o$/.exec(json);
    if (list && method === 'GET') return { kind: 'list', bucket: decodeURIComponent(list[1]!), name: null };
    return { kind: 'other', bucket: null, name: null };
  }

  async function handle(req: IncomingMessage, res: ServerResponse, log: LoggedRequest): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const q = Object.fromEntries(url.searchParams);
    const r = route(req.method ?? 'GET', url.pathname);
    if (r.kind === 'metadata' && q.alt === 'media') r.kind = 'media';
    Object.assign(log, { kind: r.kind, bucket: r.bucket, name: r.name, query: q, range: req.headers.range ?? null });
    kindOf.set(res, r.kind);
    const body = await readBody(req);

    const fault = faults.findIndex((f) => f.kind === r.kind);
    if (fault !== -1) {
      const { status } = faults.splice(fault, 1)[0]!;
      throw new HttpError(status, `injected ${status} (${REASONS[status] ?? 'error'})`);
    }

    switch (r.kind) {
      case 'list': {
        const objects = bucketOf(r.bucket!);
        const max = Math.min(Number(q.maxResults ?? MAX_RESULTS) || MAX_RESULTS, MAX_RESULTS);
        const after = q.pageToken ? Buffer.from(q.pageToken, 'base64url').toString('utf8') : null;
        const names = [...objects.keys()]
          .filter((n) => n.startsWith(q.prefix ?? ''))
          .filter((n) => q.startOffset === undefined || byteOrder(n, q.startOffset) >= 0)
          .filter((n) => q.endOffset === undefined || byteOrder(n, q.endOffset) < 0)
          .filter((n) => after === null || byteOrder(n, after) > 0)
          .sort(byteOrder);
        const page = names.slice(0, max);
        const answer: Record<string, unknown> = { kind: 'storage#objects' };
        const fields = q.fields ? parseFields(q.fields) : null;
        if (page.length > 0) answer.items = page.map((n) => pick(resource(objects.get(n)!), fields?.item ?? null));
        if (names.length > max) answer.nextPageToken = Buffer.from(page.at(-1)!).toString('base64url');
        return send(res, 200, fields ? pick(answer, fields.top) : answer);
      }
      case 'metadata':
        return send(res, 200, resource(objectOf(r.bucket!, r.name!, q.generation)));
      case 'media': {
        const o = objectOf(r.bucket!, r.name!, q.generation);
        let bytes = o.bytes;
        let status = 200;
        const headers: Record<string, string> = {
          'content-type': o.contentType,
          'x-goog-hash': `crc32c=${crc32c(o.bytes)},md5=${md5(o.bytes)}`,
          'x-goog-generation': o.generation,
          'x-goog-metageneration': o.metageneration,
          'x-goog-stored-content-encoding': 'identity',
          'x-goog-stored-content-length': String(o.bytes.length),
          etag: resource(o).etag as string,
          'last-modified': new Date(o.updated).toUTCString(),
        };
        const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
        if (range) {
          const start = Number(range[1]);
          const end = Math.min(range[2] ? Number(range[2]) : o.bytes.length - 1, o.bytes.length - 1);
          if (start >= o.bytes.length) throw new HttpError(416, 'The requested range cannot be satisfied.');
          bytes = o.bytes.subarray(start, end + 1);
          status = 206;
          headers['content-range'] = `bytes ${start}-${end}/${o.bytes.length}`;
        }
        if (corrupt > 0 && bytes.length > 0) {
          corrupt--;
          bytes = Buffer.from(bytes);
          bytes[0] = bytes[0]! ^ 0xff;
        }
        headers['content-length'] = String(bytes.length);
        runHook(res);
        res.writeHead(status, headers);
        res.end(bytes);
        return;
      }
      case 'upload': {
        const objects = bucketOf(r.bucket!);
        let name = q.name;
        let bytes = body;
        let contentType = req.headers['content-type'] ?? 'application/octet-stream';
        if (q.uploadType === 'multipart') {
          const m = parseMultipart(body, contentType);
          name = (m.metadata.name as string | undefined) ?? name;
          bytes = m.media;
          contentType = (m.metadata.contentType as string | undefined) ?? m.mediaType ?? 'application/octet-stream';
        } else if (q.uploadType !== 'media') {
          throw new HttpError(400, `uploadType=${q.uploadType ?? '(none)'} is not implemented by the double: save with { resumable: false }`);
        }
        if (!name) throw new HttpError(400, 'Required parameter: name');
        checkGeneration(objects.get(name), q.ifGenerationMatch, `ifGenerationMatch=${q.ifGenerationMatch}`);
        return send(res, 200, resource(store(r.bucket!, name, bytes, contentType)));
      }
      case 'rewrite': {
        const source = objectOf(r.bucket!, r.name!, q.sourceGeneration);
        if (q.ifSourceGenerationMatch !== undefined && q.ifSourceGenerationMatch !== source.generation) {
          throw new HttpError(412, 'At least one of the pre-conditions you specified did not hold (ifSourceGenerationMatch).');
        }
        const dest = r.dest!;
        checkGeneration(bucketOf(dest.bucket).get(dest.name), q.ifGenerationMatch, `ifGenerationMatch=${q.ifGenerationMatch}`);
        const copy = store(dest.bucket, dest.name, Buffer.from(source.bytes), source.contentType);
        return send(res, 200, {
          kind: 'storage#rewriteResponse',
          totalBytesRewritten: String(copy.bytes.length),
          objectSize: String(copy.bytes.length),
          done: true,
          resource: resource(copy),
        });
      }
      case 'delete': {
        const objects = bucketOf(r.bucket!);
        const o = objectOf(r.bucket!, r.name!, q.generation);
        checkGeneration(o, q.ifGenerationMatch, `ifGenerationMatch=${q.ifGenerationMatch}`);
        objects.delete(o.name);
        runHook(res);
        res.writeHead(204);
        res.end();
        return;
      }
      default:
        throw new HttpError(404, `Not Found (the double does not implement ${req.method} ${url.pathname})`);
    }
  }

  function send(res: ServerResponse, status: number, body: unknown): void {
    if (status < 300) runHook(res);
    const json = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(json) });
    res.end(json);
  }

  const kindOf = new WeakMap<ServerResponse, RequestKind | 'other'>();
  function runHook(res: ServerResponse): void {
    const i = hooks.findIndex((h) => h.kind === kindOf.get(res));
    if (i !== -1) hooks.splice(i, 1)[0]!.fn();
  }

  const server = createServer((req, res) => {
    const log: LoggedRequest = { kind: 'other', method: req.method ?? 'GET', bucket: null, name: null, query: {}, range: null, status: 0 };
    requests.push(log);
    res.on('finish', () => (log.status = res.statusCode));
    handle(req, res, log).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof Error ? err.message : String(err);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      send(res, status, { error: { code: status, message, errors: [{ message, domain: 'global', reason: REASONS[status] ?? 'error' }] } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    put(bucket, name, bytes, o = {}) {
      if (!buckets.has(bucket)) buckets.set(bucket, new Map());
      return store(bucket, name, Buffer.from(bytes), o.contentType ?? 'application/octet-stream');
    },
    get: (bucket, name) => buckets.get(bucket)?.get(name),
    names: (bucket, prefix = '') => [...(buckets.get(bucket)?.keys() ?? [])].filter((n) => n.startsWith(prefix)).sort(byteOrder),
    remove: (bucket, name) => buckets.get(bucket)?.delete(name) ?? false,
    requests,
    failNext(kind, n, status) {
      for (let i = 0; i < n; i++) faults.push({ kind, status });
    },
    corruptNext(n) {
      corrupt += n;
    },
    beforeAnswer(kind, fn) {
      hooks.push({ kind, fn });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
