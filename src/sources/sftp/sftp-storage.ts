// The SFTP folder CCAI Platform writes its files into, as a RemoteStorage
// (sources/remote/storage.ts): list it, claim a file, read it, put it away. What to do with each
// file (settle, classify, submit, the ledger, the lease) is the poller's and remote-intake's,
// the same for a bucket; this file only talks to the server.
//
// - One connection per storage, opened at start (so a wrong host key, account, key or folder
//   is known then) and again whenever it drops: the first attempt at once, then with backoff
//   (1 s doubling to a minute); until the next attempt is due a request fails at once with the
//   last error, so a server that is down is not hammered. A request cut off by a lost
//   connection is sent once more on a new one when that is safe (a listing is not: its
//   directory handle died with the connection, and the sweep is reported incomplete).
// - Never two requests at once on the connection: every call goes through one promise chain
//   (`serial`), a listing's reads too, between the pages the caller works on.
// - The folder only, not its sub-folders: CCAI Platform writes every file of a session (the
//   metadata, recordings, transcripts, media) into the one folder set in its portal
//   (docs/session-metadata.md, "How it reaches us"), and processed/ and rejected/ live beside
//   them. Regular files only: links are not followed, dot-files (uploads such as `.x.part`),
//   claims and uploads in progress (`.part`, `.filepart`, `.tmp`) are not handed on.
// - A listing reads the folder with a directory handle, one READDIR at a time (OpenSSH answers
//   about 100 names each), and hands on pages of PAGE_SIZE: memory stays flat however many files.
// - `version` is `${size}:${mtimeMs}`. SFTP v3 times are whole seconds: a rewrite of the same
//   size within the same second looks the same, which the poller's settle time (longer than a
//   second) covers.
// - SFTP_AFTER=move: a file is claimed before it is read, by renaming it in its folder to
//   `<name>.ccai-claimed-<time>-<owner>` (sftp-names.ts). A rename is atomic and the server
//   refuses it when the file is gone (OpenSSH links the new name and unlinks the old one; of two
//   workers renaming one file, exactly one unlink succeeds): the loser gets null. A claim whose
//   worker died before finishing is given back to its name by any listing once it is older
//   than `claimStaleMs` (10 minutes), and taken again (the queue's job id makes that harmless).
//   finish() then renames it into processed/ or rejected/ beside it, under its own name, or
//   `name.1`, `name.2` when that is taken: never over another file.
import { randomBytes } from 'node:crypto';
import SftpClient from 'ssh2-sftp-client';
import type { SftpAttrs, SftpCallbackError, SftpDirEntry, SftpSession } from 'ssh2-sftp-client';
import { SyncError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { ReadOutcome, RemoteEntry, RemoteStorage } from '../remote/storage.ts';
import { fingerprintOf, hostKeyRefused, keyTypeOf, parseHostKeys } from './host-key.ts';
import { SFTP_STATUS, fromSftpError, isConnectionLoss, isNoSuchFile } from './sftp-errors.ts';
import { childPath, claimName, clashName, originalName, parseClaim, skipReason, versionOf } from './sftp-names.ts';
import type { ParsedSftpUrl } from './sftp-url.ts';

export interface SftpSettings {
  url: ParsedSftpUrl;
  /** PEM (or OpenSSH) private key text, read by the caller from SFTP_PRIVATE_KEY_FILE */
  privateKey: string | null;
  password: string | null;
  /** SFTP_HOST_KEY: `SHA256:…`, or several, comma-separated (host-key.ts) */
  hostKey: string;
  after: 'leave' | 'move' | 'delete';
  /** TCP connect, SSH handshake and login together (default 20 s) */
  connectTimeoutMs?: number;
  /** a claim older than this is given back to its name (its worker died); default 10 minutes */
  claimStaleMs?: number;
}

/** Entries per page of list(). */
export const PAGE_SIZE = 1000;
/** What read() keeps of a file over the size limit. */
export const HEAD_BYTES = 4096;
export const DEFAULT_CLAIM_STALE_MS = 10 * 60_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
/** A connection that stops answering (a server or a firewall gone silent) is known after about a minute. */
const KEEPALIVE_MS = 15_000;
const KEEPALIVE_COUNT = 4;
const BACKOFF_MIN_MS = 1_000;
const BACKOFF_MAX_MS = 60_000;
/** A request with no answer by then (the server stuck, its keepalives still answered) cuts the connection. */
const REQUEST_TIMEOUT_MS = 120_000;
/** Bytes asked for per READ request (about what OpenSSH sends in one answer), so each request is timed alone. */
const READ_CHUNK = 256 * 1024;
/** How long close() waits for the request under way before cutting the connection. */
const CLOSE_WAIT_MS = 10_000;
/** Numbered names tried in processed/ or rejected/ before giving up. */
const MAX_CLASH = 1000;

const GONE: ReadOutcome = { gone: true };

/** Opens the storage: connects, checks the host key and the login, and that the folder can be listed. */
export async function openSftpStorage(settings: SftpSettings, log: Logger): Promise<RemoteStorage> {
  const { host, port, label } = settings.url;
  const hostKeys = parseHostKeys(settings.hostKey, { host, port });
  if (typeof hostKeys === 'string') throw new SyncError('CONFIG_INVALID', `SFTP_HOST_KEY: ${hostKeys}`);
  if (!settings.privateKey && !settings.password) {
    throw new SyncError('CONFIG_INVALID', `SFTP: ${label}: set SFTP_PRIVATE_KEY_FILE or SFTP_PASSWORD_FILE (or SFTP_PASSWORD): there is nothing to log in with`);
  }
  const storage = new SftpStorage(settings, hostKeys, log.child({ source: label }));
  try {
    await storage.checkFolder();
  } catch (err) {
    await storage.close();
    throw err;
  }
  return storage;
}

/** One live connection: the client, its SFTP session, and whether it has been lost since. */
interface Live {
  client: SftpClient;
  sftp: SftpSession;
  lost: boolean;
}

/**
 * One SFTP request as a promise. Never sent on a connection known to be lost: ssh2 would register
 * it and wait for ever (its channel is closed, nobody answers); the close events set `lost`
 * before any request cut off by the close can be retried. A request the server does not answer
 * within REQUEST_TIMEOUT_MS (a stuck server that still answers keepalives) fails as a lost
 * connection, which op() cuts.
 */
function req<T = void>(l: Live, send: (cb: (err: SftpCallbackError, value: T) => void) => void): Promise<T> {
  if (l.lost) return Promise.reject(new Error('Not connected: the connection was lost'));
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(Object.assign(new Error(`no answer in ${REQUEST_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })), REQUEST_TIMEOUT_MS);
    try {
      send((err, value) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(value);
      });
    } catch (err) {
      clearTimeout(timer);
      reject(err);
    }
  });
}

function isRegular(a: SftpAttrs): a is SftpAttrs & { mode: number; size: number; mtime: number } {
  return a.mode !== undefined && (a.mode & 0o170000) === 0o100000 && a.size !== undefined && a.mtime !== undefined;
}

function entryOf(name: string, a: SftpAttrs & { size: number; mtime: number }): RemoteEntry {
  return { name, version: versionOf(a.size, a.mtime), size: a.size, updated: new Date(a.mtime * 1000).toISOString(), contentType: null };
}

/** The attributes of a path (not following a link), or null when nothing is there. */
async function lstatOrNull(l: Live, path: string): Promise<SftpAttrs | null> {
  try {
    return await req<SftpAttrs>(l, (cb) => l.sftp.lstat(path, cb));
  } catch (err) {
    if (isNoSuchFile(err)) return null;
    throw err;
  }
}

/** Up to `n` bytes from the start of an open file (fewer at its end), READ_CHUNK at a time, one request after another. */
async function readUpTo(l: Live, handle: Buffer, n: number): Promise<Buffer> {
  const buf = Buffer.alloc(n);
  let off = 0;
  while (off < n) {
    const got = await req<number>(l, (cb) => l.sftp.read(handle, buf, off, Math.min(READ_CHUNK, n - off), off, cb));
    if (got === 0) break;
    off += got;
  }
  return off === n ? buf : buf.subarray(0, off);
}

/** The connection, opened on demand, with backoff after failed attempts. */
class Connection {
  private readonly settings: SftpSettings;
  private readonly hostKeys: readonly string[];
  private readonly log: Logger;
  private live: Live | null = null;
  private failures = 0;
  private retryAt = 0;
  private lastError: SyncError | null = null;
  private closing = false;

  constructor(settings: SftpSettings, hostKeys: readonly string[], log: Logger) {
    this.settings = settings;
    this.hostKeys = hostKeys;
    this.log = log;
  }

  /** The live connection, or a new one; throws (a SyncError) when none can be had now. */
  async get(): Promise<Live> {
    if (this.live && !this.live.lost) return this.live;
    this.live = null;
    const wait = this.retryAt - Date.now();
    if (wait > 0 && this.lastError) {
      throw new SyncError(this.lastError.code, `${this.lastError.message} (next attempt in ${Math.ceil(wait / 1000)} s)`, { cause: this.lastError });
    }
    try {
      this.live = await this.connect();
    } catch (err) {
      const e = fromSftpError(err);
      this.failures += 1;
      this.retryAt = Date.now() + Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (this.failures - 1));
      this.lastError = e;
      this.log.warn({ code: e.code, err: e.message, attempt: this.failures }, 'SFTP connection failed');
      throw e;
    }
    if (this.failures > 0) this.log.info({ after: this.failures }, 'SFTP connection back');
    this.failures = 0;
    this.retryAt = 0;
    this.lastError = null;
    return this.live;
  }

  /** The connection is of no more use (it was lost under a request): cut it; the next get() opens another. */
  drop(live: Live): void {
    live.lost = true;
    if (this.live === live) this.live = null;
    try {
      live.client.client.destroy();
    } catch {
      /* already gone */
    }
  }

  /** Whether `live` is still the connection in use. */
  current(live: Live): boolean {
    return this.live === live && !live.lost;
  }

  async close(): Promise<void> {
    this.closing = true;
    const live = this.live;
    this.live = null;
    if (!live) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)));
    await Promise.race([live.client.end().catch(() => undefined), late]);
    clearTimeout(timer);
    this.drop(live);
  }

  private async connect(): Promise<Live> {
    const { url, privateKey, password } = this.settings;
    // what the server presented and the first raw error (ssh2-sftp-client's own error loses
    // ssh2's `level`, which tells a refused login from a network failure)
    const seen: { key?: { fingerprint: string; type: string }; error?: Error } = {};
    const quiet = (what: string) => (err?: Error) => this.log.debug({ err: err?.message }, `SFTP client: ${what}`);
    // without these callbacks the client prints every error, end and close on the console
    const client = new SftpClient('ccai-crm-sync', { error: quiet('error'), end: quiet('end'), close: quiet('close') });
    client.on('error', (err) => (seen.error ??= err));
    if (password) {
      // servers that take passwords only through keyboard-interactive (PAM) ask with a prompt
      client.on('keyboard-interactive', (_name, _instructions, _lang, prompts, finish) => finish(prompts.map(() => password)));
    }
    let sftp: SftpSession;
    try {
      sftp = await client.connect({
        host: url.host,
        port: url.port,
        username: url.user,
        ...(privateKey ? { privateKey } : {}),
        ...(password ? { password, tryKeyboard: true } : {}),
        hostVerifier: (key: Buffer) => {
          seen.key = { fingerprint: fingerprintOf(key), type: keyTypeOf(key) };
          return this.hostKeys.includes(seen.key.fingerprint);
        },
        readyTimeout: this.settings.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        keepaliveInterval: KEEPALIVE_MS,
        keepaliveCountMax: KEEPALIVE_COUNT,
      });
    } catch (err) {
      try {
        client.client.destroy();
      } catch {
        /* never connected */
      }
      if (seen.key && !this.hostKeys.includes(seen.key.fingerprint)) throw hostKeyRefused(seen.key, this.hostKeys, url.host, url.port);
      throw fromSftpError(seen.error ?? err, `connecting to ${url.host}:${url.port} as ${url.user}`);
    }
    // one small request, then its answer, over and over: without this, Nagle's algorithm and the
    // server's delayed ACK hold each request back ~40 ms
    client.client.setNoDelay(true);
    const live: Live = { client, sftp, lost: false };
    const lost = () => {
      if (live.lost) return;
      live.lost = true;
      if (this.live === live) this.live = null;
      if (!this.closing) this.log.warn('SFTP connection closed: the next request opens a new one');
    };
    client.on('close', lost);
    // the SFTP channel ends before the client closes: mark it then, so that no request is
    // sent on it in between (ssh2 would wait for its answer for ever)
    sftp.on('end', lost);
    sftp.on('close', lost);
    // an SFTP protocol error ends the session; unheard, it would be thrown
    sftp.on('error', (err: Error) => {
      this.log.debug({ err: err.message }, 'SFTP session error');
      lost();
    });
    return live;
  }
}

class SftpStorage implements RemoteStorage {
  readonly label: string;
  private readonly settings: SftpSettings;
  private readonly log: Logger;
  private readonly conn: Connection;
  private readonly claimStaleMs: number;
  /** names claims carry: random per storage, so two workers' claims never share a name */
  private readonly owner = randomBytes(4).toString('hex');
  /** stale claims that could not be given back (their name was taken again): warned about once */
  private readonly stuck = new Set<string>();
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(settings: SftpSettings, hostKeys: readonly string[], log: Logger) {
    this.settings = settings;
    this.label = settings.url.label;
    this.log = log;
    this.conn = new Connection(settings, hostKeys, log);
    this.claimStaleMs = settings.claimStaleMs ?? DEFAULT_CLAIM_STALE_MS;
  }

  private path(name: string): string {
    return childPath(this.settings.url.path, name);
  }

  /** Runs `fn` after every call before it has settled: one request at a time on the connection. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * One step on the connection, alone on it. When the connection is lost under it, it is cut,
   * and `again` (the same step, or one that first looks at what the lost request did) runs
   * once on a new connection; `again: null` reports the loss instead.
   */
  private op<T>(doing: string, fn: (live: Live) => Promise<T>, again: ((live: Live) => Promise<T>) | null = fn): Promise<T> {
    return this.serial(async () => {
      if (this.closed) throw new SyncError('INTERNAL', `SFTP: ${this.label} is closed`);
      const live = await this.conn.get();
      try {
        return await fn(live);
      } catch (err) {
        if (err instanceof SyncError) throw err;
        if (!isConnectionLoss(err) && !live.lost) throw fromSftpError(err, doing);
        this.conn.drop(live);
        if (!again) throw fromSftpError(err, doing);
        this.log.warn({ err: (err as Error).message }, `SFTP connection lost while ${doing}: trying again on a new connection`);
        const fresh = await this.conn.get();
        try {
          return await again(fresh);
        } catch (err2) {
          if (err2 instanceof SyncError) throw err2;
          if (isConnectionLoss(err2) || fresh.lost) this.conn.drop(fresh);
          throw fromSftpError(err2, doing);
        }
      }
    });
  }

  /** At start: the folder is there and can be listed. */
  async checkFolder(): Promise<void> {
    const root = this.settings.url.path;
    await this.op(`opening the folder ${root}`, async (l) => {
      const handle = await req<Buffer>(l, (cb) => l.sftp.opendir(root, cb));
      await req(l, (cb) => l.sftp.close(handle, cb));
    });
  }

  async *list(): AsyncGenerator<RemoteEntry[]> {
    const root = this.settings.url.path;
    const doing = `listing ${root}`;
    const opened = await this.op(doing, async (l) => ({ live: l, handle: await req<Buffer>(l, (cb) => l.sftp.opendir(root, cb)) }));
    const { live, handle } = opened;
    try {
      let page: RemoteEntry[] = [];
      for (;;) {
        const batch = await this.op(
          doing,
          async (l) => {
            // the handle belongs to the connection that opened it
            if (l !== live) throw new SyncError('SOURCE_UNAVAILABLE', `SFTP: the connection was lost while ${doing}: the listing is incomplete`);
            try {
              return await req<SftpDirEntry[]>(l, (cb) => l.sftp.readdir(handle, cb));
            } catch (err) {
              if ((err as { code?: unknown }).code === SFTP_STATUS.EOF) return null;
              throw err;
            }
          },
          null,
        );
        if (batch === null) break;
        for (const item of batch) {
          const entry = await this.consider(item);
          if (!entry) continue;
          page.push(entry);
          if (page.length === PAGE_SIZE) {
            yield page;
            page = [];
          }
        }
      }
      if (page.length > 0) yield page;
    } finally {
      await this.serial(async () => {
        if (this.conn.current(live)) await req(live, (cb) => live.sftp.close(handle, cb)).catch(() => undefined);
      });
    }
  }

  /** A folder entry as a RemoteEntry, or null when it is not handed on (giving back a stale claim). */
  private async consider(item: SftpDirEntry): Promise<RemoteEntry | null> {
    const why = skipReason(item.filename);
    if (why === 'claimed') {
      const claim = parseClaim(item.filename)!;
      if (isRegular(item.attrs) && Date.now() - claim.claimedAtMs >= this.claimStaleMs) {
        await this.op(`giving back ${item.filename}`, (l) => this.giveBack(l, item.filename, 'stale'));
      }
      return null;
    }
    if (why !== null || !isRegular(item.attrs)) return null;
    return entryOf(item.filename, item.attrs);
  }

  /**
   * Renames a claimed file back to its own name, to be listed (and taken) again. Not when that
   * name is taken: CCAI Platform wrote the session again meanwhile, and the newer file is the one
   * to read; the claimed one stays, with one warning.
   */
  private async giveBack(l: Live, claimed: string, why: 'stale' | 'changed'): Promise<void> {
    const original = originalName(claimed);
    try {
      await req(l, (cb) => l.sftp.rename(this.path(claimed), this.path(original), cb));
      this.log.info({ file: original, claimed, why }, why === 'stale' ? 'SFTP: a claim whose worker did not finish is given back' : 'SFTP: a claimed file changed: given back to be read again');
    } catch (err) {
      if (isNoSuchFile(err)) return; // given back or finished by someone else
      if (!this.stuck.has(claimed)) {
        this.stuck.add(claimed);
        this.log.warn({ file: original, claimed, err: (err as Error).message }, 'SFTP: a claimed file cannot be given back (its name is taken again, by a newer file?): left as it is');
      }
    }
  }

  stat(name: string): Promise<RemoteEntry | null> {
    return this.op(`looking at ${name}`, async (l) => {
      const a = await lstatOrNull(l, this.path(name));
      return a && isRegular(a) ? entryOf(name, a) : null;
    });
  }

  claim(entry: RemoteEntry): Promise<RemoteEntry | null> {
    if (this.settings.after !== 'move' || parseClaim(entry.name)) return Promise.resolve(entry);
    const claimed = claimName(entry.name, Date.now(), this.owner);
    const from = this.path(entry.name);
    const to = this.path(claimed);
    const rename = async (l: Live): Promise<RemoteEntry | null> => {
      try {
        await req(l, (cb) => l.sftp.rename(from, to, cb));
        return { ...entry, name: claimed };
      } catch (err) {
        if (isNoSuchFile(err)) return null; // another worker took it, or it was deleted
        throw err;
      }
    };
    // the connection was lost under the rename: it may have been done, only its answer lost
    const recover = async (l: Live): Promise<RemoteEntry | null> => ((await lstatOrNull(l, to)) ? { ...entry, name: claimed } : rename(l));
    return this.op(`claiming ${entry.name}`, rename, recover);
  }

  read(entry: RemoteEntry, maxBytes: number): Promise<ReadOutcome> {
    const path = this.path(entry.name);
    return this.op(`reading ${entry.name}`, async (l) => {
      let handle: Buffer;
      try {
        handle = await req<Buffer>(l, (cb) => l.sftp.open(path, 'r', cb));
      } catch (err) {
        if (isNoSuchFile(err)) return GONE;
        throw err;
      }
      let outcome: ReadOutcome;
      let changed = false;
      try {
        const before = await req<SftpAttrs>(l, (cb) => l.sftp.fstat(handle, cb));
        if (!isRegular(before) || versionOf(before.size, before.mtime) !== entry.version) {
          changed = true;
          outcome = GONE;
        } else if (before.size > maxBytes) {
          outcome = { tooLarge: true, head: await readUpTo(l, handle, Math.min(HEAD_BYTES, before.size)) };
        } else {
          // one byte more than it should hold: a file still growing is caught here too
          const bytes = await readUpTo(l, handle, before.size + 1);
          const after = await req<SftpAttrs>(l, (cb) => l.sftp.fstat(handle, cb));
          changed = bytes.length !== before.size || !isRegular(after) || versionOf(after.size, after.mtime) !== entry.version;
          outcome = changed ? GONE : { bytes };
        }
      } finally {
        await req(l, (cb) => l.sftp.close(handle, cb)).catch(() => undefined);
      }
      // a claimed file written again (an upload that was still going): back under its name, where the next listing sees its new version
      if (changed && parseClaim(entry.name)) await this.giveBack(l, entry.name, 'changed');
      return outcome;
    });
  }

  async finish(entry: RemoteEntry, outcome: 'processed' | 'rejected'): Promise<void> {
    const after = this.settings.after;
    if (after === 'leave') return;
    const from = this.path(entry.name);
    /** true when the file there is still the version that was read (a rewrite meanwhile is left alone, to be read) */
    const unchanged = async (l: Live): Promise<boolean> => {
      const now = await lstatOrNull(l, from);
      if (!now) return false; // already moved or deleted (a retry after a lost answer, or someone else)
      if (isRegular(now) && versionOf(now.size, now.mtime) === entry.version) return true;
      if (parseClaim(entry.name)) await this.giveBack(l, entry.name, 'changed');
      else this.log.info({ file: entry.name }, 'SFTP: written again since it was read: left for the next poll');
      return false;
    };

    if (after === 'delete') {
      await this.op(`deleting ${entry.name}`, async (l) => {
        if (!(await unchanged(l))) return;
        try {
          await req(l, (cb) => l.sftp.unlink(from, cb));
        } catch (err) {
          if (!isNoSuchFile(err)) throw err;
        }
      });
      return;
    }

    const folder = childPath(this.settings.url.path, outcome);
    const name = originalName(entry.name);
    await this.op(`moving ${entry.name} to ${outcome}/`, async (l) => {
      if (!(await unchanged(l))) return;
      let made = false;
      for (let i = 0; i < MAX_CLASH; i++) {
        const to = childPath(folder, clashName(name, i));
        // never over another file, even on a server whose rename would replace it
        if (await lstatOrNull(l, to)) continue;
        try {
          await req(l, (cb) => l.sftp.rename(from, to, cb));
          return;
        } catch (err) {
          if (isNoSuchFile(err)) {
            if (!(await lstatOrNull(l, from))) return; // gone meanwhile
            if (made) throw err;
            await this.makeFolder(l, folder);
            made = true;
            i -= 1; // the same name again, now that the folder is there
            continue;
          }
          // taken between the look and the rename
          if ((err as { code?: unknown }).code === SFTP_STATUS.FAILURE && (await lstatOrNull(l, to))) continue;
          throw err;
        }
      }
      throw new SyncError('SOURCE_UNAVAILABLE', `SFTP: ${outcome}/ already holds ${name} and ${MAX_CLASH - 1} numbered copies of it: not moved`);
    });
  }

  /** processed/ or rejected/, created when missing (another worker may create it at the same moment). */
  private async makeFolder(l: Live, folder: string): Promise<void> {
    try {
      await req(l, (cb) => l.sftp.mkdir(folder, cb));
      this.log.info({ folder }, 'SFTP: folder created');
    } catch (err) {
      const there = await lstatOrNull(l, folder);
      if (!there || there.mode === undefined || (there.mode & 0o170000) !== 0o040000) throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // the request under way ends first (bounded: a silent server is cut)
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.tail, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
    await this.conn.close();
  }
}
