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
import { ImapFlow } from 'imapflow';
import type { Logger } from '../../logger.ts';
import type { MailDisposition } from '../../pipeline/mail-intake.ts';
import type { ImapSettings } from './imap-url.ts';

export const DONE_KEYWORD = '$CcaiDone';
export const REJECTED_KEYWORD = '$CcaiRejected';

export interface FolderState {
  uidValidity: string;
  lastUid: number;
}

export interface MailboxStateStore {
  get(account: string, folder: string): Promise<FolderState | null>;
  /** lastUid only moves up; a different uidValidity starts the folder over */
  advance(account: string, folder: string, uidValidity: string, uid: number): Promise<void>;
  reset(account: string, folder: string, uidValidity: string): Promise<void>;
  saveHealth(account: string, health: FolderHealth): Promise<void>;
}

export interface FolderHealth {
  folder: string;
  state: 'connecting' | 'watching' | 'reconnecting' | 'stopped';
  connected: boolean;
  /** the server supports IDLE (else only the poll finds new mail) */
  idle: boolean | null;
  /** the last time the folder was read successfully: the watchdog's measure */
  lastOkAt: string | null;
  lastError: string | null;
  reconnects: number;
  uidValidity: string | null;
  lastUid: number;
  handled: number;
}

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
  state: MailboxStateStore;
  /** the message's work (documents queued, status recorded); throws when it cannot be done now (Redis down) */
  handle(source: string, size: number, raw: Buffer): Promise<MailDisposition>;
  tooLarge(source: string, size: number): Promise<MailDisposition>;
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

/** How long a folder may go unread before /healthz and `status` call it not answering. */
export function staleAfterMs(pollMs: number): number {
  return 3 * pollMs + 60_000;
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

  constructor(deps: MailboxDeps, folder: string) {
    this.deps = deps;
    this.folder = folder;
    this.log = deps.log.child({ folder });
    this.h = { folder, state: 'connecting', connected: false, idle: null, lastOkAt: null, lastError: null, reconnects: 0, uidValidity: null, lastUid: 0, handled: 0 };
  }

  start(): void {
    this.loop = this.run();
  }

  /** No successful read for three poll intervals and a minute: the watchdog could not bring it back. */
  healthy(): boolean {
    const last = this.h.lastOkAt ? Date.parse(this.h.lastOkAt) : this.startedAt;
    return this.closed || Date.now() - last < staleAfterMs(this.deps.pollMs);
  }

  settled(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.kick();
    });
  }

  private async run(): Promise<void> {
    const { settings } = this.deps;
    const first = this.deps.reconnectMs ?? 1_000;
    let backoff = first;
    while (!this.closed) {
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
        maxIdleTime: Math.min(this.deps.pollMs, 5 * 60_000),
        disableAutoIdle: !this.deps.idle,
      });
      this.client = client;
      const dropped = new Promise<void>((resolve) => client.once('close', () => resolve()));
      client.on('error', (err: Error) => {
        this.h.lastError = err.message;
      });
      let poll: NodeJS.Timeout | null = null;
      let watchdog: NodeJS.Timeout | null = null;
      try {
        this.h.state = 'connecting';
        await client.connect();
        for (const f of [this.deps.processedFolder, this.deps.rejectedFolder]) {
          if (f) await client.mailboxCreate(f).catch(() => undefined); // exists already: fine
        }
        const box = await client.mailboxOpen(this.folder);
        await this.checkUidValidity(String(box.uidValidity));
        this.h.connected = true;
        this.connectedAt = Date.now();
        this.h.idle = this.deps.idle && client.capabilities.has('IDLE');
        this.h.state = 'watching';
        this.log.info({ idle: this.h.idle, lastUid: this.h.lastUid }, 'mailbox connected');
        backoff = first;
        client.on('exists', () => this.kick());
        this.kick();
        // the poll: new mail on servers without IDLE, and the watchdog's heartbeat on all
        poll = setInterval(() => this.kick(), this.deps.pollMs);
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
        this.log.warn({ err: (err as Error).message }, 'mailbox connection failed');
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
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeUp = null;
      backoff = Math.min(backoff * 2, 60_000);
    }
    this.h.state = 'stopped';
    this.h.connected = false;
  }

  /** A read has succeeded within the watchdog's time. */
  private answering(): boolean {
    const last = Math.max(this.h.lastOkAt ? Date.parse(this.h.lastOkAt) : 0, this.connectedAt);
    return Date.now() - last < this.deps.watchdogMs;
  }

  private async checkUidValidity(uidValidity: string): Promise<void> {
    const { state, settings } = this.deps;
    const saved = await state.get(settings.account, this.folder);
    if (saved && saved.uidValidity !== uidValidity) {
      this.log.warn({ was: saved.uidValidity, now: uidValidity }, 'UIDVALIDITY changed: the server renumbered the folder; reading it again (handled messages are recognised)');
    }
    if (!saved || saved.uidValidity !== uidValidity) await state.reset(settings.account, this.folder, uidValidity);
    this.uidValidity = uidValidity;
    this.h.uidValidity = uidValidity;
    this.h.lastUid = saved && saved.uidValidity === uidValidity ? saved.lastUid : 0;
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
    // `N:*` always includes the newest message, even below N: filter.
    const found = (await client.search({ uid: `${lastUid + 1}:*` }, { uid: true })) || [];
    const uids = found.filter((u) => u > lastUid).sort((a, b) => a - b).slice(0, MAX_PER_PASS);
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
      if (!m.flags.has(DONE_KEYWORD)) {
        let d: MailDisposition;
        if (m.size > this.deps.maxMessageBytes) {
          d = await this.deps.tooLarge(source, m.size);
        } else {
          const full = await client.fetchOne(String(m.uid), { uid: true, source: true }, { uid: true });
          if (!full || !full.source) continue; // expunged meanwhile
          d = await this.deps.handle(source, m.size, full.source);
        }
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
    if (found.length > uids.length + 1) this.again = true; // more than one pass's worth
  }

  /** Marks or moves the message, now that its work is done. */
  private async settle(client: ImapFlow, uid: number, d: MailDisposition): Promise<void> {
    if (d.action === 'leave') return;
    const range = String(uid);
    const flags = d.action === 'done' ? ['\\Seen', DONE_KEYWORD] : [REJECTED_KEYWORD];
    // Servers that allow no keywords of ours still take \Seen.
    const ok = await client.messageFlagsAdd(range, flags, { uid: true }).catch(() => false);
    if (!ok && d.action === 'done') await client.messageFlagsAdd(range, ['\\Seen'], { uid: true });
    const to = d.action === 'done' ? this.deps.processedFolder : this.deps.rejectedFolder;
    if (to && to !== this.folder) await client.messageMove(range, to, { uid: true });
  }

  private async saveHealth(): Promise<void> {
    await this.deps.state.saveHealth(this.deps.settings.account, { ...this.h }).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeUp?.();
    await this.running?.catch(() => undefined);
    this.client?.close();
    await this.loop;
    this.h.state = 'stopped';
    await this.saveHealth();
    this.release();
  }
}
