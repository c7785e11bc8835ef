// Files and folders as a source: list what a path names, read a document without loading
// anything over the size limit into memory.
import { constants } from 'node:fs';
import type { Dirent, Stats } from 'node:fs';
import { open, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { InputProblem } from '../domain/types.ts';

/**
 * One entry of what a path names. Every file named or found gets exactly one: a file to read,
 * or the reason it is not read (`skip`: found in a folder and not a document to read, not an
 * error; `error`: cannot be read, an error the admin must see).
 */
export type Listed =
  /**
   * `path`: as named or found (what a result names); `read`: the file to read, the link's
   * target resolved once when `path` is a link (a link retargeted afterwards changes nothing);
   * `discovered`: found inside a folder given, rather than named
   */
  | { kind: 'file'; path: string; read: string; discovered: boolean }
  | { kind: 'skip'; path: string; reason: string }
  | { kind: 'error'; path: string; reason: string };

/**
 * What a path names: itself, or every entry below a folder (sorted). A named path is followed
 * if it is a link. Inside a folder:
 * - names starting with a dot are hidden: skipped, a hidden folder as one entry;
 * - links to files are followed while their target stays inside the folder given and is not
 *   hidden there itself (in a dot-folder, or a dot-file: the reason it would get found where it
 *   is); a link that leaves it, a broken link and a link loop are skipped with the reason;
 * - links to folders are never followed (their targets inside are read where they are; a link
 *   above itself would loop), so the walk cannot loop; a folder reached twice (a bind mount)
 *   is read once;
 * - FIFOs, sockets and devices are skipped and never opened (opening a FIFO blocks).
 * Never throws: a path that cannot be read is an `error` entry.
 */
export async function listInputs(path: string): Promise<Listed[]> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (err) {
    return [{ kind: 'error', path, reason: (await brokenLink(path, err)) ?? `cannot read ${path} (${codeOf(err)})` }];
  }
  if (st.isFile()) return [{ kind: 'file', path, read: await realpath(path).catch(() => path), discovered: false }];
  if (!st.isDirectory()) return [{ kind: 'error', path, reason: `not a regular file (${kindOf(st)}): not read` }];
  const out: Listed[] = [];
  const root = await realpath(path).catch(() => null);
  if (root === null) return [{ kind: 'error', path, reason: `cannot read the folder ${path}` }];
  await walk(path, root, new Set(), out);
  return out;
}

async function walk(dir: string, root: string, visited: Set<string>, out: Listed[]): Promise<void> {
  let entries: Dirent[];
  try {
    const st = await stat(dir);
    const id = `${st.dev}:${st.ino}`;
    if (visited.has(id)) {
      out.push({ kind: 'skip', path: dir, reason: 'a folder already read under another name (a bind mount?): not read again' });
      return;
    }
    visited.add(id);
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    out.push({ kind: 'error', path: dir, reason: `cannot read the folder ${dir} (${codeOf(err)})` });
    return;
  }
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const p = join(dir, e.name);
    const skip = (reason: string) => out.push({ kind: 'skip', path: p, reason });
    // editors' lock files, `.DS_Store`, uploads in progress (`.name.part`), `.git`: not documents
    if (e.name.startsWith('.')) skip(e.isDirectory() ? HIDDEN_FOLDER : HIDDEN_FILE);
    else if (e.isDirectory()) await walk(p, root, visited, out);
    else if (e.isFile()) out.push({ kind: 'file', path: p, read: p, discovered: true });
    else if (e.isSymbolicLink()) out.push(await followLink(p, root));
    else skip(`not a regular file (${kindOf(e)}): not read`);
  }
}

/** A link found in the folder `root` (a real path): the file it leads to, or why not. */
async function followLink(link: string, root: string): Promise<Listed> {
  const skip = (reason: string): Listed => ({ kind: 'skip', path: link, reason });
  let target: string;
  let st: Stats;
  try {
    target = await realpath(link);
    st = await stat(target);
  } catch (err) {
    const code = codeOf(err);
    if (code === 'ELOOP') return skip('a link loop (a link that leads back to itself): not followed');
    const broken = await brokenLink(link, err);
    if (broken) return skip(broken);
    return { kind: 'error', path: link, reason: `cannot follow the link ${link} (${code})` };
  }
  const inside = target === root || target.startsWith(root + sep);
  if (st.isDirectory()) {
    const here = await realpath(dirname(link));
    if (here === target || here.startsWith(target + sep)) return skip('a link to a folder above it (a loop): not followed');
    if (inside) return skip(`a link to a folder in the folder given (${relative(root, target)}): not followed, its files are read where they are`);
    return skip(`a link to a folder outside the folder given (to ${target}): not followed; name it on the command line to read it`);
  }
  // nothing outside the folder given is read (nor copied into rejected/) unless named
  if (!inside) return skip(`a link that leaves the folder (to ${target}): not followed; name it on the command line to read it`);
  if (!st.isFile()) return skip(`a link to something that is not a regular file (${kindOf(st)}): not read`);
  // what the walk would not read where it is, a link does not read either
  const hidden = hiddenIn(relative(root, target));
  if (hidden) return skip(hidden);
  // the target, resolved now, is what is read: a link retargeted in the meantime is not followed again
  return { kind: 'file', path: link, read: target, discovered: true };
}

const HIDDEN_FOLDER = 'hidden folder (name starts with a dot): not searched';
const HIDDEN_FILE = 'hidden file (name starts with a dot)';

/** The walk's reason for not reading a file at `rel` (relative to the folder given), or null. */
function hiddenIn(rel: string): string | null {
  const parts = rel.split(sep);
  if (parts.slice(0, -1).some((p) => p.startsWith('.'))) return HIDDEN_FOLDER;
  return parts.at(-1)?.startsWith('.') ? HIDDEN_FILE : null;
}

/** `a broken link (to X, which does not exist)` when `path` is a link whose target is missing. */
async function brokenLink(path: string, err: unknown): Promise<string | null> {
  if (codeOf(err) !== 'ENOENT') return null;
  const to = await readlink(path).catch(() => null);
  return to === null ? null : `a broken link (to ${to}, which does not exist)`;
}

/** What an entry that is not a regular file is, in words: `a FIFO`, `a symbolic link` (a Dirent or lstat's Stats). */
export function kindOf(s: Stats | Dirent): string {
  if (s.isSymbolicLink()) return 'a symbolic link';
  if (s.isFIFO()) return 'a FIFO';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isDirectory()) return 'a folder';
  return 'an unknown kind of file';
}

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? 'error';
}

export type ReadResult =
  | { ok: true; bytes: Uint8Array }
  /** `head`: the first bytes, when the file was too large to read whole (to tell a recording from a bad document) */
  | { ok: false; problem: InputProblem; head?: Uint8Array };

const HEAD_BYTES = 4096;

/**
 * Reads a file, refusing (without reading it) one over maxBytes, or one that is not a regular
 * file: opened non-blocking, so that a FIFO put where a file was listed cannot hang the reader.
 */
export async function readDocument(path: string, maxBytes: number): Promise<ReadResult> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    const st = await fh.stat();
    if (!st.isFile()) {
      return { ok: false, problem: { code: 'INPUT_UNREADABLE', message: `not a regular file (${kindOf(st)}): not read` } };
    }
    const { size } = st;
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
