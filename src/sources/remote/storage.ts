// A remote folder the worker reads metadata files from: a Cloud Storage bucket (sources/gcs/) or
// an SFTP folder (sources/sftp/). Each adapter lists, reads and puts away; what to do with
// each object (classify, submit, keep a rejected one, remember it) is src/pipeline/remote-intake.ts,
// the same for both.

/** One object (file) under the source's root, at one version. */
export interface RemoteEntry {
  /** its name relative to the root (the prefix, the folder): `2026/03/metadata-1418.json` */
  name: string;
  /**
   * what changes when the object is rewritten: Cloud Storage's generation; on SFTP
   * `${size}:${mtime}` (a rewrite changes one of them)
   */
  version: string;
  size: number;
  /** last modification, ISO */
  updated: string;
  /** the content type the storage knows, if any (recordings are audio/…) */
  contentType?: string | null;
}

export type ReadOutcome =
  /** the bytes of this version */
  | { bytes: Uint8Array }
  /** over the size limit: only the first bytes were read (to tell a recording from a bad file) */
  | { tooLarge: true; head: Uint8Array }
  /** this version is no longer there (rewritten or deleted meanwhile): nothing to do */
  | { gone: true };

export interface RemoteStorage {
  /** `gs://bucket/prefix/` or `sftp://user@host:22/path/`: names the source in logs, status and reports (never a secret) */
  readonly label: string;
  /** everything under the root, page by page (memory stays flat however many objects) */
  list(): AsyncIterable<RemoteEntry[]>;
  /** one object's current version, or null when it is not there (a notification's object) */
  stat?(name: string): Promise<RemoteEntry | null>;
  /**
   * makes the entry this worker's before it is read, when the storage needs that (SFTP with
   * `move`: an atomic rename into a claimed name); null when another worker took it first
   */
  claim?(entry: RemoteEntry): Promise<RemoteEntry | null>;
  read(entry: RemoteEntry, maxBytes: number): Promise<ReadOutcome>;
  /**
   * the entry is accounted for: leave it, move it (processed/ or rejected/) or delete it, as
   * the settings say, never losing a version written meanwhile (a generation precondition)
   */
  finish(entry: RemoteEntry, outcome: 'processed' | 'rejected'): Promise<void>;
  close(): Promise<void>;
}
