// The mailbox reader (imapflow): one connection per folder, new messages by UID in order.
// - The last UID handled and the folder's UIDVALIDITY are kept (MailboxStateStore, in Redis):
//   a restart or a second worker continues where the last one stopped; a new UIDVALIDITY
//   means the server renumbered the folder, so it is read again from the start, and messages
//   already handled are known by our keyword (or by their work: a queued document is a duplicate).
// - A message is marked (\Seen and $CcaiDone) or moved only after its work is safely done
//   (documents queued, status recorded); a crash in between only repeats idempotent work.
// - IDLE brings new messages at once; a poll every IMAP_POLL_MS is the fallback (servers
//   without IDLE) and the liveness check. The watchdog closes a connection that stopped
//   answering, and the loop reconnects with a NEW client (an imapflow client is not reusable),
//   with backoff.
// - Messages over the size limit are never downloaded.
// - One worker reads a folder at a time (a lease in Redis); the others stand by and take over
//   when the reader stops renewing it.
// - A message whose work fails for a reason that will pass (Redis down) is tried again on the
//   next read; one that keeps failing otherwise is kept with its reason and passed, so one bad
//   message never blocks the folder.
import { ImapFlow } from 'imapflow';
import type { SyncError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { MailDisposition } from '../../pipeline/mail-intake.ts';
import { fromImapError } from './imap-errors.ts';
import type { ImapSettings } from './imap-url.ts';
import { staleAfterMs } from '../../store/mailbox-state.ts';
import { redisErrorCode } from '../../store/redis-errors.ts';
import type { FolderHealth, MailboxStateStore } from '../../store/mailbox-state.ts';

export const DONE_KEYWORD = '$CcaiDone';
export const REJECTED_KEYWORD = '$CcaiRejected';

export interface MailboxDeps {
  settings: ImapSettings;
  pollMs: number;
  /** use IDLE when the server offers it */
  idle: boolean;
  /** a connection whose reads have not succeeded for this long is closed and replaced */
  watchdogMs: number;
  maxMessageBytes: number;
  processedFolder: string | null;
  rejectedFolder: string | null;
  /**
   * What the first read of a folder (nothing kept for it in Redis yet) takes: `all` of it,
   * only mail that arrives from now on (`new`), or mail the server received since a day
   * (`YYYY-MM-DD`, UTC). Later reads, and a renumbered folder, continue as always.
   */
  start: string;
  state: MailboxStateStore;
  /** the message's work (documents queued, status recorded); throws when it cannot be done now (Redis down) */
  handle(source: string, size: number, raw: Buffer): Promise<MailDisposition>;
  tooLarge(source: string, size: number): Promise<MailDisposition>;
  /** a message that kept failing for a reason that will not pass: keep it with the reason */
  unhandled(source: string, size: number, raw: Buffer, reason: string): Promise<MailDisposition>;
  onMail?: (d: MailDisposition) => void;
  log: Logger;
  /** first reconnect delay (doubles up to a minute); tests make it short */
  reconnectMs?: number;
}

export interface MailboxReader {
  health(): FolderHealth[];
  /** false when a folder has not been read for a long while: the watchdog could not bring it back */
  healthy(): boolean;
  /** resolves after every folder has completed one more read (tests, `run`) */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const MAX_PER_PASS = 500;
/** tries of a message that fails for a reason that will not pass, before it is kept aside */
const MAX_TRIES = 3;

/** A full disk, a read-only one, too many open files: words anywhere in the code and message, any case. */
const DISK_PASSES = ['ENOSPC', 'EROFS', 'EMFILE'];

/** Failures that pass by themselves (Redis, disk): the message waits for the next read, however long. */
export function isTransient(err: unknown): boolean {
  if ((err as { retryable?: unknown }).retryable === true) return true;
  if (redisErrorCode(err) === 'QUEUE_UNAVAILABLE') return true;
  const text = `${(err as { code?: unknown }).code ?? ''} ${(err as Error).message ?? ''}`.toLowerCase();
  return DISK_PASSES.some((words) => text.includes(words.toLowerCase()));
}

export function startMailbox(deps: MailboxDeps): MailboxReader {
  const readers = deps.settings.folders.map((f) => new FolderReader(deps, f));
  for (const r of readers) r.start();
  return {
    health: () => readers.map((r) => ({ ...r.h })),
    healthy: () => readers.every((r) => r.healthy()),
    settled: async () => {
      await Promise.all(readers.map((r) => r.settled()));
    },
    async close() {
      await Promise.all(readers.map((r) => r.close()));
    },
  };
}

class FolderReader {
  readonly h: FolderHealth;
  private readonly deps: MailboxDeps;
  private readonly folder: string;
  private readonly log: Logger;
  private client: ImapFlow | null = null;
  private closed = false;
  private loop: Promise<void> | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private uidValidity: string | null = null;
  private readonly startedAt = Date.now();
  private connectedAt = 0;
  private wakeUp: (() => void) | null = null;
  private waiters: Array<() => void> = [];
  private readonly owner = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  private readonly tries = new Map<number, number>();
  private warnedKeywords = false;

  constructor(deps: MailboxDeps, folder: string) {
    this.deps = deps;
    this.folder = folder;
    this.log = deps.log.child({ folder });
    this.h = {
      folder,
      state: 'connecting',
      connected: false,
      idle: null,
      keywords: null,
      staleAfterMs: staleAfterMs(deps.pollMs),
      lastOkAt: null,
      lastError: null,
      reconnects: 0,
      uidValidity: null,
      lastUid: 0,
      handled: 0,
    };
  }

  start(): void {
    this.loop = this.run();
  }

  /** No successful read for three poll intervals and a minute: the watchdog could not bring it back. */
  healthy(): boolean {
    if (this.closed || this.h.state === 'standby') return true;
    const last = this.h.lastOkAt ? Date.parse(this.h.lastOkAt) : this.startedAt;
    return Date.now() - last < this.h.staleAfterMs;
  }

  settled(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.kick();
    });
  }

  private async run(): Promise<void> {
    const { settings } = this.deps;
    const first = this.deps.reconnectMs ?? 1_000;
    let backoff = first;
    // the lease outlives a missed renewal or two; a reader that died loses it after this long
    const leaseMs = this.deps.watchdogMs + this.deps.pollMs;
    const lease = () => this.deps.state.lease(settings.account, this.folder, this.owner, leaseMs).catch(() => false);
    while (!this.closed) {
      if (!(await lease())) {
        if (this.h.state !== 'standby') this.log.info('another worker reads this folder; standing by');
        this.h.state = 'standby';
        await this.sleep(this.deps.pollMs);
        continue;
      }
      const loopback = ['127.0.0.1', 'localhost', '::1'].includes(settings.host);
      const client = new ImapFlow({
        host: settings.host,
        port: settings.port,
        secure: settings.secure,
        // imap:// to a remote server must upgrade with STARTTLS: never send the password in clear
        doSTARTTLS: settings.secure ? undefined : !loopback,
        auth: { user: settings.user, pass: settings.pass },
        logger: false,
        connectionTimeout: 30_000,
        socketTimeout: Math.max(60_000, 3 * this.deps.pollMs),
        disableAutoIdle: !this.deps.idle,
      });
      this.client = client;
      const dropped = new Promise<void>((resolve) => client.once('close', () => resolve()));
      client.on('error', (err: Error) => {
        this.h.lastError = err.message;
      });
      let poll: NodeJS.Timeout | null = null;
      let watchdog: NodeJS.Timeout | null = null;
      // Logging in and opening the folder, in our codes: the log says whose problem a failure
      // is (the IMAP settings, or a server that comes back), in the server's words.
      const refused: { err?: SyncError } = {};
      const imap = <T>(step: Promise<T>): Promise<T> =>
        step.catch((err: unknown) => {
          refused.err = fromImapError(err);
          throw err;
        });
      try {
        this.h.state = 'connecting';
        await imap(client.connect());
        for (const f of [this.deps.processedFolder, this.deps.rejectedFolder]) {
          // ALREADYEXISTS is fine; anything else shows when a MOVE there fails
          if (f) await client.mailboxCreate(f).catch((err: Error & { serverResponseCode?: string }) => {
            if (err.serverResponseCode !== 'ALREADYEXISTS') this.log.debug({ folder: f, err: err.message }, 'could not create folder');
          });
        }
        const box = await imap(client.mailboxOpen(this.folder));
        await this.checkUidValidity(String(box.uidValidity), client, Number(box.uidNext ?? 1));
        this.h.keywords = box.permanentFlags?.has('\\*') ?? false;
        if (!this.h.keywords && !this.warnedKeywords && !(this.deps.processedFolder && this.deps.rejectedFolder)) {
          this.warnedKeywords = true;
          this.log.warn('this folder keeps no keywords of ours: handled mail is only marked \\Seen and refused mail is not marked; set IMAP_PROCESSED_FOLDER and IMAP_REJECTED_FOLDER to move them instead');
        }
        this.h.connected = true;
        this.connectedAt = Date.now();
        this.h.idle = this.deps.idle && client.capabilities.has('IDLE');
        this.h.state = 'watching';
        this.log.info({ idle: this.h.idle, lastUid: this.h.lastUid }, 'mailbox connected');
        backoff = first;
        client.on('exists', () => this.kick());
        this.kick();
        // the poll: new mail on servers without IDLE, the watchdog's heartbeat, the lease's renewal
        poll = setInterval(() => {
          void lease().then((held) => {
            if (held) return this.kick();
            this.log.warn('the lease on this folder went to another worker; handing over');
            client.close();
          });
        }, this.deps.pollMs);
        watchdog = setInterval(() => {
          if (!this.answering()) {
            this.log.warn({ lastOkAt: this.h.lastOkAt }, 'mailbox stopped answering; reconnecting');
            this.h.lastError = `no successful read for ${this.deps.watchdogMs} ms`;
            client.close();
          }
        }, Math.min(this.deps.pollMs, this.deps.watchdogMs));
        await dropped;
      } catch (err) {
        this.h.lastError = (err as Error).message;
        const said = refused.err ? { code: refused.err.code, detail: refused.err.message } : {};
        this.log.warn({ err: (err as Error).message, ...said }, 'mailbox connection failed');
      } finally {
        if (poll) clearInterval(poll);
        if (watchdog) clearInterval(watchdog);
        this.h.connected = false;
        client.close();
        await this.running?.catch(() => undefined);
      }
      if (this.closed) break;
      this.h.reconnects++;
      this.h.state = 'reconnecting';
      void this.saveHealth();
      const delay = Math.round(backoff / 2 + (Math.random() * backoff) / 2);
      this.log.info({ inMs: delay, reconnects: this.h.reconnects }, 'mailbox reconnecting');
      await this.sleep(delay);
      backoff = Math.min(backoff * 2, 60_000);
    }
    this.h.state = 'stopped';
    this.h.connected = false;
    await this.deps.state.unlease(settings.account, this.folder, this.owner).catch(() => undefined);
  }

  /** Waits, unless close() comes first. */
  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wakeUp = null;
  }

  /** A read has succeeded within the watchdog's time. */
  private answering(): boolean {
    const last = Math.max(this.h.lastOkAt ? Date.parse(this.h.lastOkAt) : 0, this.connectedAt);
    return Date.now() - last < this.deps.watchdogMs;
  }

  private async checkUidValidity(uidValidity: string, client: ImapFlow, uidNext: number): Promise<void> {
    const { state, settings } = this.deps;
    const saved = await state.get(settings.account, this.folder);
    let lastUid = saved?.lastUid ?? 0;
    if (!saved || saved.uidValidity !== uidValidity) {
      // A first read, or the server renumbered the folder. Where to start is worked out first
      // and saved in one write: a read cut off in between starts over, never from UID 1.
      if (saved) this.log.warn({ was: saved.uidValidity, now: uidValidity }, 'UIDVALIDITY changed: the server renumbered the folder; reading it again (handled messages are recognised)');
      const start = this.deps.start;
      const since = saved ? (saved.since ?? null) : start === 'all' ? null : start === 'new' ? new Date().toISOString().slice(0, 10) : start;
      lastUid = !saved && start === 'new' ? uidNext - 1 : since ? await this.lastUidBefore(client, since, uidNext) : 0;
      if (lastUid > 0) {
        const left = await client.search({ uid: `1:${lastUid}` }, { uid: true });
        const count = Array.isArray(left) ? left.filter((u) => u <= lastUid).length : 0;
        this.log.info({ start: saved ? `since ${since}` : start, leftAlone: count, lastUid }, `${saved ? 'renumbered folder' : 'first read of this folder'}: ${count} message(s) from before ${since} are left alone (IMAP_START)`);
      }
      await state.reset(settings.account, this.folder, uidValidity, lastUid, since);
    }
    this.uidValidity = uidValidity;
    this.h.uidValidity = uidValidity;
    this.h.lastUid = lastUid;
  }

  /** The UID before the first message the server dates on or after `day` (all of them: uidNext - 1). */
  private async lastUidBefore(client: ImapFlow, day: string, uidNext: number): Promise<number> {
    const since = await client.search({ since: new Date(`${day}T00:00:00Z`) }, { uid: true });
    if (!Array.isArray(since)) throw new Error(`SEARCH SINCE in ${this.folder} failed`);
    return Math.max(0, (since.length > 0 ? since.reduce((a, b) => Math.min(a, b)) : uidNext) - 1);
  }

  /** Runs a read now, or right after the one under way. */
  private kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    const client = this.client;
    // not connected: waiters are served by the first read after (re)connecting, or by close()
    if (!client || !this.h.connected || this.closed) return;
    this.running = this.pass(client)
      .catch((err: Error) => {
        this.h.lastError = err.message;
        this.log.warn({ err: err.message }, 'mailbox read stopped; will try again');
      })
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.kick();
        } else {
          this.release();
        }
      });
  }

  private release(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }

  private async pass(client: ImapFlow): Promise<void> {
    const { state, settings } = this.deps;
    const uidValidity = this.uidValidity!;
    const saved = await state.get(settings.account, this.folder);
    const lastUid = saved && saved.uidValidity === uidValidity ? saved.lastUid : 0;
    const found = await client.search({ uid: `${lastUid + 1}:*` }, { uid: true });
    if (!Array.isArray(found)) throw new Error(`SEARCH in ${this.folder} failed`);
    // `N:*` always includes the newest message, even below N: filter.
    const fresh = found.filter((u) => u > lastUid).sort((a, b) => a - b);
    const uids = fresh.slice(0, MAX_PER_PASS);
    // Sizes and flags first, collected before acting (no other command inside a fetch loop).
    const metas: Array<{ uid: number; size: number; flags: Set<string> }> = [];
    if (uids.length) {
      for await (const m of client.fetch(uids.join(','), { uid: true, size: true, flags: true }, { uid: true })) {
        metas.push({ uid: m.uid, size: m.size ?? 0, flags: m.flags ?? new Set() });
      }
    }
    metas.sort((a, b) => a.uid - b.uid);
    for (const m of metas) {
      if (this.closed) break;
      const source = `imap:${this.folder}/${m.uid}`;
      const marked = m.flags.has(DONE_KEYWORD) ? 'done' : m.flags.has(REJECTED_KEYWORD) ? 'reject' : null;
      if (marked) {
        // handled in an earlier life (a new UIDVALIDITY, or a crash between marking and moving)
        await this.moveAside(client, m.uid, marked);
      } else {
        const d = await this.handleOne(client, m.uid, m.size, source);
        if (d === null) continue;
        await this.settle(client, m.uid, d);
        this.deps.onMail?.(d);
        this.h.handled++;
      }
      await state.advance(settings.account, this.folder, uidValidity, m.uid);
      this.h.lastUid = m.uid;
      this.h.lastOkAt = new Date().toISOString();
    }
    this.h.lastOkAt = new Date().toISOString();
    this.h.lastError = null;
    await this.saveHealth();
    if (fresh.length > uids.length) this.again = true; // more than one pass's worth
  }

  /** Downloads and hands over one message; null when it vanished meanwhile. */
  private async handleOne(client: ImapFlow, uid: number, size: number, source: string): Promise<MailDisposition | null> {
    if (size > this.deps.maxMessageBytes) return this.deps.tooLarge(source, size);
    const full = await client.fetchOne(String(uid), { uid: true, source: true }, { uid: true });
    if (!full || !full.source) {
      this.log.info({ uid }, 'message gone before it was read (expunged by another client)');
      return null;
    }
    try {
      const d = await this.deps.handle(source, size, full.source);
      this.tries.delete(uid);
      return d;
    } catch (err) {
      // Redis or the disk: the same message is tried again on the next read, however long it takes
      if (isTransient(err)) throw err;
      const n = (this.tries.get(uid) ?? 0) + 1;
      this.tries.set(uid, n);
      if (n < MAX_TRIES) throw err;
      this.tries.delete(uid);
      return this.deps.unhandled(source, size, full.source, `could not be handled (${n} tries): ${(err as Error).message}`);
    }
  }

  /** Marks or moves the message, now that its work is done. */
  private async settle(client: ImapFlow, uid: number, d: MailDisposition): Promise<void> {
    if (d.action === 'leave') return;
    const range = String(uid);
    // keywords only where the folder keeps them (imapflow drops the others without a word)
    const flags = d.action === 'done' ? ['\\Seen', ...(this.h.keywords ? [DONE_KEYWORD] : [])] : this.h.keywords ? [REJECTED_KEYWORD] : [];
    // imapflow answers false, rather than throwing, when the STORE did not go through. On a
    // dropped connection the message must not count as handled: it is read again after the
    // reconnect. A server that refuses the flags (a folder without the right to set them) is
    // not retried forever: the message is handled, only unmarked, and the log says so.
    if (flags.length && !(await client.messageFlagsAdd(range, flags, { uid: true }))) {
      if (!client.usable) throw new Error(`could not mark message ${uid}: the connection was lost`);
      this.log.warn({ uid, flags }, 'the server did not take the flags for a handled message; it stays unmarked');
    }
    await this.moveAside(client, uid, d.action);
  }

  private async moveAside(client: ImapFlow, uid: number, action: 'done' | 'reject'): Promise<void> {
    const to = action === 'done' ? this.deps.processedFolder : this.deps.rejectedFolder;
    if (!to || to === this.folder) return;
    const moved = await client.messageMove(String(uid), to, { uid: true });
    if (!moved) throw new Error(`could not move message ${uid} to ${to}`);
  }

  private async saveHealth(): Promise<void> {
    await this.deps.state.saveHealth(this.deps.settings.account, { ...this.h }).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeUp?.();
    // the connection first: a read hanging on a silent server must not hold up a shutdown
    // (the message it was on is read again by the next reader, idempotently)
    this.client?.close();
    await this.running?.catch(() => undefined);
    await this.loop;
    this.h.state = 'stopped';
    await this.saveHealth();
    this.release();
  }
}
