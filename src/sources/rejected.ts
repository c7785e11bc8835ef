// Keeping what could not be processed: the original bytes, untouched, and beside them a
// `.reason.json` sidecar saying which file, which field and why. Nothing is ever deleted.
import { createHash } from 'node:crypto';
import { access, copyFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { InputProblem } from '../domain/types.ts';

export interface RejectionReason {
  source: string;
  code: string;
  field: string | null;
  message: string;
  session: string | null;
  rejectedAt: string;
}

export function reasonFor(source: string, problem: InputProblem, session: string | null): RejectionReason {
  return {
    source,
    code: problem.code,
    field: problem.field ?? null,
    message: problem.message,
    session,
    rejectedAt: new Date().toISOString(),
  };
}

function safeName(name: string): string {
  const cleaned = basename(name).replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120);
  return cleaned || 'document';
}

/**
 * Stores a copy of rejected bytes in `dir` with its sidecar; returns the stored path. `null`
 * bytes (an e-mail too large to download, still in the mailbox) leave the sidecar alone.
 */
export async function keepRejectedCopy(dir: string, reason: RejectionReason, bytes: Uint8Array | { path: string } | null, ext = ''): Promise<string> {
  await mkdir(dir, { recursive: true });
  const stamp = reason.rejectedAt.replace(/[:.]/g, '-');
  const digest = createHash('sha256').update(reason.source).update(stamp).digest('hex').slice(0, 8);
  // two documents of one e-mail may share a name and a millisecond: never overwrite, take the next name
  const target = await freeName(dir, `${stamp}-${digest}-${safeName(reason.source)}${ext}`);
  if (bytes === null) {
    /* only the reason */
  } else if ('path' in bytes) await copyFile(bytes.path, target);
  else await writeFile(target, bytes, { flag: 'wx' });
  await writeSidecar(target, reason);
  return target;
}

/**
 * Moves a rejected file into `dir` (same file system) with its sidecar, as `name` (its own name
 * when it is read under another, such as an inbox claim); returns the new path.
 */
export async function moveRejected(path: string, dir: string, reason: RejectionReason, name = basename(path)): Promise<string> {
  await mkdir(dir, { recursive: true });
  const target = await freeName(dir, name);
  await writeSidecar(target, reason);
  await rename(path, target);
  return target;
}

export async function writeSidecar(path: string, reason: RejectionReason): Promise<void> {
  await writeFile(`${path}.reason.json`, `${JSON.stringify(reason, null, 2)}\n`);
}

/** `name`, or `name.1`, `name.2` ... whichever does not exist yet in dir (nor its `.reason.json`). */
export async function freeName(dir: string, name: string): Promise<string> {
  const exists = (p: string) => access(p).then(() => true, () => false);
  for (let i = 0; ; i++) {
    const candidate = join(dir, i === 0 ? name : `${name}.${i}`);
    if (!(await exists(candidate)) && !(await exists(`${candidate}.reason.json`))) return candidate;
  }
}
