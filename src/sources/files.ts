// Files and folders as a source: list what a path names, read a document without loading
// anything over the size limit into memory.
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { InputProblem } from '../domain/types.ts';

/** Files a path names: itself, or every regular file below a folder (sorted, dot-files skipped). */
export async function listInputs(path: string): Promise<string[]> {
  const s = await stat(path);
  if (s.isFile()) return [path];
  if (!s.isDirectory()) return [];
  const out: string[] = [];
  const entries = await readdir(path, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(path, e.name);
    if (e.isDirectory()) out.push(...(await listInputs(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

export type ReadResult =
  | { ok: true; bytes: Uint8Array }
  /** `head`: the first bytes, when the file was too large to read whole (to tell a recording from a bad document) */
  | { ok: false; problem: InputProblem; head?: Uint8Array };

const HEAD_BYTES = 4096;

/** Reads a file, refusing (without reading it) one over maxBytes. */
export async function readDocument(path: string, maxBytes: number): Promise<ReadResult> {
  let fh;
  try {
    fh = await open(path, 'r');
    const { size } = await fh.stat();
    if (size > maxBytes) {
      const head = Buffer.alloc(Math.min(HEAD_BYTES, size));
      const { bytesRead } = await fh.read(head, 0, head.length, 0);
      return {
        ok: false,
        problem: { code: 'INPUT_TOO_LARGE', message: `the file is ${size} bytes, over the ${maxBytes}-byte limit (MAX_FILE_BYTES)` },
        head: head.subarray(0, bytesRead),
      };
    }
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const { bytesRead } = await fh.read(buf, off, size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return { ok: true, bytes: buf.subarray(0, off) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return { ok: false, problem: { code: 'INPUT_UNREADABLE', message: `cannot read the file (${code}: ${(err as Error).message})` } };
  } finally {
    await fh?.close();
  }
}
