// Claims in the inbox folder: how one of several workers sharing a folder takes a file alone.
//
// A worker claims a file before it reads it by renaming it, in the same folder, to
// `.<name>.ccai-claimed-<time>-<owner>`: `time` is when (base-36 ms), `owner` is random per
// inbox (per process), so two claims never share a name. rename(2) within one file system is
// atomic: of two workers renaming one file, one succeeds and the other gets ENOENT, which only
// means "someone else has it". A claim is a dot-file, which no inbox reads (older versions
// neither). A claim is held for one file's read and submit (milliseconds), then the claimed
// file is renamed into processed/ or rejected/ under its own name, or given back to its name.
//
// Giving back (a claim that turned out not to be ours to finish: the file changed, reads as
// an upload in progress, is not metadata, or its worker died) must never replace a file that
// took the name meanwhile (CCAI Platform writing the session again): a new hard link is made
// under the name (link(2) fails with EEXIST rather than replace), then the claim is unlinked;
// when the name is taken, `name.1`, `name.2` ... On a file system or a file where hard links
// are refused (protected_hardlinks for a file of another user, some FUSE and SMB mounts) the
// name is looked at and then renamed to, which leaves a window of microseconds.
import { randomBytes } from 'node:crypto';
import { access, link, lstat, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

const MARK = '.ccai-claimed-';
const CLAIM = /^\.(.+)\.ccai-claimed-([0-9a-z]+)-([0-9a-z]+)$/;

/** A claim's owner: random per inbox, so that two workers' claims never share a name. */
export function newOwner(): string {
  return randomBytes(4).toString('hex');
}

export function claimName(name: string, atMs: number, owner: string): string {
  return `.${name}${MARK}${Math.floor(atMs).toString(36)}-${owner}`;
}

/** What a claimed name says: the file's own name, when and by whom it was claimed; null for any other name. */
export function parseClaim(name: string): { original: string; claimedAtMs: number; owner: string } | null {
  if (!name.includes(MARK)) return null;
  const m = CLAIM.exec(name);
  if (!m) return null;
  const at = parseInt(m[2]!, 36);
  return Number.isSafeInteger(at) ? { original: m[1]!, claimedAtMs: at, owner: m[3]! } : null;
}

/** The claim could not be made because the claimed name would be too long for the file system. */
export const NAME_TOO_LONG = Symbol('name too long to claim');

/**
 * Claims dir/name for `owner`: the claimed name, null when the file is gone (another worker
 * claimed it first, or it was removed), or NAME_TOO_LONG.
 */
export async function claimFile(dir: string, name: string, owner: string): Promise<string | null | typeof NAME_TOO_LONG> {
  const claimed = claimName(name, Date.now(), owner);
  try {
    await rename(join(dir, name), join(dir, claimed));
    return claimed;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENAMETOOLONG') return NAME_TOO_LONG;
    throw err;
  }
}

/** link(2) refused for this file or on this file system (not "the name is taken", not "the file is gone"). */
const NO_LINK = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

/**
 * Moves `from` to dir/name, or dir/name.1, name.2 ... whichever is free: never over another
 * file. Returns the path it is now at, or null when `from` is gone (someone else moved it).
 */
export async function placeNoReplace(from: string, dir: string, name: string): Promise<string | null> {
  let linkable = true;
  for (let i = 0; ; i++) {
    const to = join(dir, i === 0 ? name : `${name}.${i}`);
    if (linkable) {
      try {
        await link(from, to);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (code === 'ENOENT') return null;
        if (code === 'EEXIST') {
          // already there: a give-back cut short between its link and its unlink
          if (await sameFile(from, to)) return (await unlinkGone(from), to);
          continue;
        }
        if (!NO_LINK.has(code)) throw err;
        linkable = false;
        i -= 1; // this name again, without a link
        continue;
      }
      await unlinkGone(from);
      return to;
    }
    if (await exists(to)) continue;
    try {
      await rename(from, to);
      return to;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([lstat(a).catch(() => null), lstat(b).catch(() => null)]);
  return x !== null && y !== null && x.dev === y.dev && x.ino === y.ino;
}

async function unlinkGone(path: string): Promise<void> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
