// The names the SFTP source gives and reads in the folder: which entries a listing hands on,
// the claimed name a file gets while one worker reads it, the free name in processed/ or
// rejected/. Pure.

/**
 * A claimed file: `<name>.ccai-claimed-<time>-<owner>` in the same folder (a rename within one
 * folder is atomic on every file system, and needs no folder created first). `time` is when it
 * was claimed (base 36 ms), so a claim whose worker died is known as stale by anyone; `owner`
 * names the storage that claimed it (random, per process), so two claims never share a name.
 */
const CLAIM_MARK = '.ccai-claimed-';
const CLAIM = /^(.+)\.ccai-claimed-([0-9a-z]+)-([0-9a-z]+)$/;

export function claimName(name: string, atMs: number, owner: string): string {
  return `${name}${CLAIM_MARK}${Math.floor(atMs).toString(36)}-${owner}`;
}

/** The original name and claim time of a claimed name, or null when the name is not a claim. */
export function parseClaim(name: string): { original: string; claimedAtMs: number; owner: string } | null {
  const m = CLAIM.exec(name);
  if (!m) return null;
  const at = parseInt(m[2]!, 36);
  return Number.isSafeInteger(at) ? { original: m[1]!, claimedAtMs: at, owner: m[3]! } : null;
}

/** The name a file had before it was claimed (itself when it was not). */
export function originalName(name: string): string {
  return parseClaim(name)?.original ?? name;
}

/**
 * Names of uploads in progress that clients write before renaming into place (WinSCP's
 * `.filepart`, curl's and others' `.part`, `.tmp`): never a finished file.
 */
const IN_PROGRESS = /\.(part|filepart|partial|tmp|temp|crdownload)$|~$/i;

/**
 * Why a folder entry is not handed on, or null when it is: dot-files (`.` and `..`, hidden
 * files, uploads such as `.name.part`), claims (another worker's, or stale ones, which the
 * storage gives back), uploads in progress. Sub-folders (processed/, rejected/) and links are
 * left out by their type, not their name.
 */
export function skipReason(name: string): 'dot-file' | 'claimed' | 'in-progress' | null {
  if (name.startsWith('.')) return 'dot-file';
  if (name.includes(CLAIM_MARK) && parseClaim(name)) return 'claimed';
  if (IN_PROGRESS.test(name)) return 'in-progress';
  return null;
}

/** `name`, then `name.1`, `name.2`, ...: the names tried in processed/ or rejected/ (as the inbox does). */
export function clashName(name: string, attempt: number): string {
  return attempt === 0 ? name : `${name}.${attempt}`;
}

/** A name inside a folder as the server reads it: `/srv/ccai` + `a.json`, `/` + `a.json`, `.` (the home) + `a.json`. */
export function childPath(folder: string, name: string): string {
  if (folder === '.') return name;
  return folder.endsWith('/') ? `${folder}${name}` : `${folder}/${name}`;
}

/** SFTP's version of a file: size and modification time (whole seconds in SFTP v3), `${size}:${mtimeMs}`. */
export function versionOf(size: number, mtimeSeconds: number): string {
  return `${size}:${mtimeSeconds * 1000}`;
}
