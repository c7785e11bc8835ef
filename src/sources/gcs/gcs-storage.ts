// A Cloud Storage bucket (a prefix of it) as a RemoteStorage: CCAI Platform's "External
// Storage: Google Cloud Storage". What to do with each object is src/pipeline/remote-intake.ts;
// this file lists, reads and puts away, through @google-cloud/storage (only here and in
// notifications.ts: the rule sdk-gcs-only-in-gcs-source).
//
// - Credentials: Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, or the
//   platform's identity), looked up by the client at the first request. With
//   STORAGE_EMULATOR_HOST set (`http://127.0.0.1:PORT`) the client sends everything there,
//   unauthenticated, with no option of ours: the tests' double and local trials use that.
// - Names: an entry's `name` is the object name relative to the prefix (`2026/metadata-1.json`
//   under `gs://bucket/ccai/`), as RemoteEntry says, so that `label + name` is the object's
//   gs:// address; `entryName()` turns a notification's full object name into one, or null when
//   this source does not read that object.
// - Versions: an entry's `version` is the object's generation. It is read, copied and deleted
//   at that generation only, so an object CCAI rewrites meanwhile (a new generation) is never
//   lost: it is listed, notified and taken as a version of its own.
// - Retries: the client retries 408, 429, 5xx and dropped connections itself (3 times, 2 s
//   then doubling, jittered). Each of our calls is idempotent (reads, a copy of one pinned
//   generation, a delete with ifGenerationMatch), so all of them may be retried
//   (RetryAlways): by default the client would not retry the copy, and it marks the whole
//   client "no retries" while a copy is in flight, which a concurrent listing would inherit.
//   Downloads are the exception: when the client retries a download it throws an uncaught
//   ERR_STREAM_UNABLE_TO_PIPE (teeny-request 11 on Node 24, googleapis/google-cloud-node issue
//   8670, open), which would end the worker. So downloads go through a second client that
//   does not retry, and read() retries them itself, the same way.
import type { Readable } from 'node:stream';
import { IdempotencyStrategy, Storage } from '@google-cloud/storage';
import type { Bucket } from '@google-cloud/storage';
import { SyncError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { ReadOutcome, RemoteEntry, RemoteStorage } from '../remote/storage.ts';
import { fromGcsError } from './gcs-errors.ts';

export interface GcsSettings {
  bucket: string;
  /** '' (the whole bucket) or a folder path ending in '/' (`ccai/`) */
  prefix: string;
  /** what becomes of an object once taken: left, moved to processedPrefix, or deleted */
  after: 'leave' | 'move' | 'delete';
  /** where `move` puts what was taken (required with `move`); a folder path ending in '/' */
  processedPrefix: string | null;
  /** where a rejected object is moved (copied, with `leave`); null: it stays where it is */
  rejectedPrefix: string | null;
}

export interface GcsStorage extends RemoteStorage {
  readonly bucket: string;
  readonly prefix: string;
  /**
   * The entry name (relative to the prefix) of the object a notification names, or null when
   * this source does not read it: another bucket, outside the prefix, a folder placeholder
   * (`…/`), or under the processed or rejected prefix (our own moves notify too).
   */
  entryName(bucket: string, objectName: string): string | null;
  stat(name: string): Promise<RemoteEntry | null>;
}

/** The listing's page size: the API's maximum (fewer calls; a page is about 300 KB). */
const PAGE_SIZE = 1000;
/** What a head read takes of an object over the size limit: enough to tell a recording from JSON. */
export const HEAD_BYTES = 4096;
/** Downloads retried by read() (the client does not: see above), after 0.5 s, 1 s, 2 s and a jitter. */
const READ_RETRIES = 3;
const READ_RETRY_MS = 500;
/** Only what an entry needs (a partial response: a page of full resources is ~4 times larger). */
const LIST_FIELDS = 'items(name,generation,size,updated,contentType),nextPageToken';

/** An object resource as the JSON API answers it (the fields we read). */
interface ObjectResource {
  name: string;
  generation: string | number;
  size: string | number;
  updated: string;
  contentType?: string;
}

/** One range of names to list: `prefix`, from `startOffset` (inclusive) to `endOffset` (exclusive). */
interface ListRange {
  startOffset?: string;
  endOffset?: string;
}

/** The first name after every name that starts with `prefix` (`processed/` -> `processed0`). */
function pastPrefix(prefix: string): string {
  const last = prefix.codePointAt(prefix.length - 1)!;
  return prefix.slice(0, -1) + String.fromCodePoint(last + 1);
}

/** A folder path as the settings must give it: '' or `a/b/`, no leading '/'. */
function checkFolder(setting: string, value: string, mayBeEmpty: boolean): void {
  if (value === '' && mayBeEmpty) return;
  if (value === '' || !value.endsWith('/') || value.startsWith('/') || value.includes('//')) {
    throw new SyncError('CONFIG_INVALID', `${setting} must be a folder path like "ccai/" or "ccai/processed/" (ending in "/", no leading "/"): got "${value}"`);
  }
}

/** Opens the bucket and checks that it can be listed (credentials, roles, the bucket's name). */
export async function openGcsStorage(settings: GcsSettings, log: Logger): Promise<GcsStorage> {
  const { bucket: bucketName, prefix, after, processedPrefix, rejectedPrefix } = settings;
  checkFolder('GCS_PREFIX', prefix, true);
  if (processedPrefix !== null) checkFolder('GCS_PROCESSED_PREFIX', processedPrefix, false);
  if (rejectedPrefix !== null) checkFolder('GCS_REJECTED_PREFIX', rejectedPrefix, false);
  if (after === 'move' && processedPrefix === null) {
    throw new SyncError('CONFIG_INVALID', 'GCS_AFTER=move needs GCS_PROCESSED_PREFIX (where taken objects go, e.g. "ccai/processed/")');
  }
  for (const [setting, other] of [['GCS_PROCESSED_PREFIX', processedPrefix], ['GCS_REJECTED_PREFIX', rejectedPrefix]] as const) {
    // the same folder: a move would copy an object onto itself, then delete it; a folder
    // around it: a moved object could land back in the folder that is read
    if (other !== null && prefix.startsWith(other)) {
      throw new SyncError('CONFIG_INVALID', `${setting} ("${other}") must not contain GCS_PREFIX ("${prefix}"): put it beside the folder that is read, or inside it ("${prefix}processed/")`);
    }
  }
  // Moved objects land under these; when inside the prefix they are not listed (a listing of
  // the ranges around them: with `move`, processed/ only grows) and not taken when notified.
  const excluded = [processedPrefix, rejectedPrefix].filter((p): p is string => p !== null && p.startsWith(prefix)).sort();

  const storage = new Storage({ retryOptions: { idempotencyStrategy: IdempotencyStrategy.RetryAlways } });
  const bucket: Bucket = storage.bucket(bucketName);
  // downloads only: no retries inside the client (see above)
  const downloads: Bucket = new Storage({ retryOptions: { autoRetry: false } }).bucket(bucketName);
  const label = `gs://${bucketName}/${prefix}`;

  const covers = (objectName: string): boolean =>
    objectName.startsWith(prefix) && objectName.length > prefix.length && !objectName.endsWith('/') && !excluded.some((p) => objectName.startsWith(p));

  const toEntry = (o: ObjectResource): RemoteEntry => ({
    name: o.name.slice(prefix.length),
    version: String(o.generation),
    size: Number(o.size),
    updated: new Date(o.updated).toISOString(),
    contentType: o.contentType ?? null,
  });

  const ranges: ListRange[] = [];
  let from: string | undefined;
  for (const p of excluded) {
    // a rejected prefix inside the processed one (or the reverse) is already skipped
    if (from !== undefined && p < from) continue;
    ranges.push({ ...(from !== undefined ? { startOffset: from } : {}), endOffset: p });
    from = pastPrefix(p);
  }
  ranges.push(from !== undefined ? { startOffset: from } : {});

  async function* list(): AsyncGenerator<RemoteEntry[]> {
    for (const range of ranges) {
      let pageToken: string | undefined;
      do {
        let response: { items?: ObjectResource[]; nextPageToken?: string };
        try {
          const answer = await bucket.getFiles({
            prefix,
            ...range,
            autoPaginate: false,
            maxResults: PAGE_SIZE,
            fields: LIST_FIELDS,
            ...(pageToken !== undefined ? { pageToken } : {}),
          });
          response = (answer[2] ?? {}) as typeof response;
        } catch (err) {
          throw fromGcsError(err, `list ${label}`);
        }
        const page = (response.items ?? []).filter((o) => covers(o.name)).map(toEntry);
        if (page.length > 0) yield page;
        pageToken = response.nextPageToken;
      } while (pageToken);
    }
  }

  async function stat(name: string): Promise<RemoteEntry | null> {
    if (!covers(prefix + name)) return null;
    try {
      const [metadata] = await bucket.file(prefix + name).getMetadata();
      return toEntry(metadata as ObjectResource);
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw fromGcsError(err, `stat ${label}${name}`);
    }
  }

  async function readOnce(entry: RemoteEntry, maxBytes: number): Promise<ReadOutcome> {
    const file = downloads.file(prefix + entry.name, { generation: entry.version });
    if (entry.size > maxBytes) {
      // a ranged read: the client checks no hash on a part, and none is needed to sniff a type
      const head = await collect(file.createReadStream({ start: 0, end: HEAD_BYTES - 1 }), HEAD_BYTES);
      return { tooLarge: true, head: head.bytes.subarray(0, HEAD_BYTES) };
    }
    // the whole generation, its crc32c checked against x-goog-hash by the client
    const whole = await collect(file.createReadStream({ validation: 'crc32c' }), maxBytes);
    if (whole.over) return { tooLarge: true, head: whole.bytes.subarray(0, HEAD_BYTES) };
    return { bytes: whole.bytes };
  }

  async function read(entry: RemoteEntry, maxBytes: number): Promise<ReadOutcome> {
    const where = `read ${label}${entry.name}#${entry.version}`;
    for (let attempt = 0; ; attempt++) {
      try {
        return await readOnce(entry, maxBytes);
      } catch (err) {
        // this generation is gone (rewritten or deleted since it was listed): its successor, if
        // any, is listed or notified as a version of its own
        if (statusOf(err) === 404) return { gone: true };
        const e = fromGcsError(err, where);
        // what passes (429, 5xx, a dropped connection, a damaged transfer), as the client would
        if (e.code !== 'SOURCE_UNAVAILABLE' || attempt >= READ_RETRIES) throw e;
        log.debug({ source: label, object: entry.name, attempt: attempt + 1, err: e.message }, 'download failed; trying again');
        await sleep(READ_RETRY_MS * 2 ** attempt + Math.random() * READ_RETRY_MS);
      }
    }
  }

  /** Copies this generation to `destPrefix` + name; false when the generation is no longer there. */
  async function copyTo(entry: RemoteEntry, destPrefix: string): Promise<boolean> {
    try {
      await bucket.file(prefix + entry.name, { generation: entry.version }).copy(bucket.file(destPrefix + entry.name));
      return true;
    } catch (err) {
      if (statusOf(err) === 404) {
        log.info({ source: label, object: entry.name, generation: entry.version }, 'object not copied: this generation is gone (rewritten or deleted meanwhile)');
        return false;
      }
      throw fromGcsError(err, `copy ${label}${entry.name}#${entry.version} to gs://${bucketName}/${destPrefix}`);
    }
  }

  /** Deletes the object if it is still at this generation: a rewrite meanwhile (412) is left for its own turn. */
  async function removeIfSame(entry: RemoteEntry): Promise<void> {
    try {
      await bucket.file(prefix + entry.name, { preconditionOpts: { ifGenerationMatch: entry.version } }).delete();
    } catch (err) {
      const status = statusOf(err);
      if (status === 412) {
        log.info({ source: label, object: entry.name, generation: entry.version }, 'object not removed: rewritten since it was read; the new generation will be taken');
        return;
      }
      // gone already (deleted, or a retried delete that had gone through)
      if (status === 404) return;
      throw fromGcsError(err, `delete ${label}${entry.name}#${entry.version}`);
    }
  }

  async function finish(entry: RemoteEntry, outcome: 'processed' | 'rejected'): Promise<void> {
    if (outcome === 'rejected') {
      // Without GCS_REJECTED_PREFIX a rejected object stays where it is, whatever GCS_AFTER
      // says: its copy in DATA_DIR/rejected/ is on one machine, the bucket's is everyone's.
      if (rejectedPrefix === null) return;
      if ((await copyTo(entry, rejectedPrefix)) && after !== 'leave') await removeIfSame(entry);
      return;
    }
    if (after === 'leave') return;
    if (after === 'move' && !(await copyTo(entry, processedPrefix!))) return;
    await removeIfSame(entry);
  }

  const gcs: GcsStorage = {
    label,
    bucket: bucketName,
    prefix,
    entryName: (b, objectName) => (b === bucketName && covers(objectName) ? objectName.slice(prefix.length) : null),
    list,
    stat,
    read,
    finish,
    async close() {
      // the client keeps no connection of its own open between requests: nothing to close
    },
  };

  // One call that needs what every sweep needs (storage.objects.list on the bucket): a wrong
  // bucket, key or role is reported at start-up, not at the first sweep.
  try {
    await bucket.getFiles({ prefix, autoPaginate: false, maxResults: 1, fields: 'nextPageToken' });
  } catch (err) {
    throw fromGcsError(err, `list ${label}`);
  }
  log.debug({ source: label, after, processedPrefix, rejectedPrefix }, 'Cloud Storage source opened');
  return gcs;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The HTTP status of a client error (ApiError's code), if it has one. */
function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Reads a stream to its end, or until more than `limit` bytes came (then stops it: `over`). */
function collect(stream: Readable, limit: number): Promise<{ bytes: Buffer; over: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (over: boolean) => {
      if (done) return;
      done = true;
      resolve({ bytes: Buffer.concat(chunks), over });
    };
    stream.on('data', (chunk: Buffer) => {
      if (done) return;
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) {
        finish(true);
        stream.destroy();
      }
    });
    stream.on('end', () => finish(false));
    stream.on('error', (err: Error) => {
      if (!done) {
        done = true;
        reject(err);
      }
    });
  });
}
