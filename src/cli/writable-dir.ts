// Folders a command will write to are checked when it starts, so that a folder it may not
// write is one line naming the folder and the user, not a stack from the first write deep
// inside (the local CRM, a rejected copy, the inbox's processed/ folder).
import { closeSync, mkdirSync, openSync, unlinkSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { SyncError } from '../errors.ts';

const HINTS: Record<string, string> = {
  ENOTDIR: ' (a part of the path is a file, not a folder)',
  EEXIST: ' (it is a file, not a folder)',
  EROFS: ' (a read-only file system)',
};

/** Makes `dir` if it is missing (as before) and checks a file can be created in it; CONFIG_INVALID if not. */
export function ensureWritableDir(setting: string, dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    // access(W_OK) would say yes to root on a read-only mount and to ACL-less guesses:
    // creating a file is the real test
    const probe = join(dir, `.ccai-crm-sync-write-test-${process.pid}`);
    closeSync(openSync(probe, 'w'));
    unlinkSync(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new SyncError('CONFIG_INVALID', `${setting} ${dir} is not writable by ${currentUser()}: ${code}${HINTS[code] ?? ''}`, { cause: err });
  }
}

/** `user nobody (uid 65534)`; a uid with no name (common in containers) is shown alone. */
function currentUser(): string {
  const uid = process.getuid?.();
  let name: string | null = null;
  try {
    name = userInfo().username;
  } catch {
    /* no passwd entry for this uid */
  }
  if (uid === undefined) return name ? `user ${name}` : 'this user';
  return name ? `user ${name} (uid ${uid})` : `uid ${uid}`;
}
