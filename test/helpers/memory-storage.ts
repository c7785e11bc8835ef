// A RemoteStorage in memory, for the remote-source pipeline's own tests (the real adapters, a
// bucket and an SFTP folder, are tested against their servers in gcs-source and sftp-source
// tests). It keeps versions as a bucket does (a rewrite is a new generation), lists in name
// order in pages, and records every read, so a test can say what was downloaded.
import type { ReadOutcome, RemoteEntry, RemoteStorage } from '../../src/sources/remote/storage.ts';

interface Obj {
  bytes: Uint8Array;
  generation: number;
  contentType: string | null;
  updated: string;
}

export class MemoryStorage implements RemoteStorage {
  readonly label: string;
  readonly objects = new Map<string, Obj>();
  /** names read (downloaded), in order */
  readonly reads: string[] = [];
  /** names put away, with how */
  readonly finished: Array<{ name: string; outcome: 'processed' | 'rejected' }> = [];
  after: 'leave' | 'move' | 'delete' = 'leave';
  pageSize = 100;
  private generation = 1000;

  constructor(label = 'mem://bucket/') {
    this.label = label;
  }

  put(name: string, content: string | Uint8Array, contentType: string | null = null): RemoteEntry {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    this.objects.set(name, { bytes, generation: ++this.generation, contentType, updated: new Date().toISOString() });
    return this.entry(name)!;
  }

  entry(name: string): RemoteEntry | null {
    const o = this.objects.get(name);
    return o ? { name, version: String(o.generation), size: o.bytes.length, updated: o.updated, contentType: o.contentType } : null;
  }

  async *list(): AsyncIterable<RemoteEntry[]> {
    const names = [...this.objects.keys()].sort();
    for (let i = 0; i < names.length; i += this.pageSize) {
      yield names.slice(i, i + this.pageSize).map((n) => this.entry(n)!);
    }
  }

  async stat(name: string): Promise<RemoteEntry | null> {
    return this.entry(name);
  }

  async read(entry: RemoteEntry, maxBytes: number): Promise<ReadOutcome> {
    const o = this.objects.get(entry.name);
    if (!o || String(o.generation) !== entry.version) return { gone: true };
    this.reads.push(entry.name);
    if (o.bytes.length > maxBytes) return { tooLarge: true, head: o.bytes.subarray(0, 4096) };
    return { bytes: o.bytes };
  }

  async finish(entry: RemoteEntry, outcome: 'processed' | 'rejected'): Promise<void> {
    this.finished.push({ name: entry.name, outcome });
    const o = this.objects.get(entry.name);
    // a generation precondition, as on a bucket: a rewrite meanwhile is never lost
    if (this.after === 'leave' || !o || String(o.generation) !== entry.version) return;
    this.objects.delete(entry.name);
    if (this.after === 'move') this.moved.set(`${outcome}/${entry.name}`, o);
  }

  readonly moved = new Map<string, Obj>();

  async close(): Promise<void> {}
}
