// A real IMAP server for tests: Debian's Dovecot, run rootless from a fresh temp dir on a free
// loopback port, with the minimal config that `config()` below writes. Any user name logs in
// with the static password `secret`; each user's Maildir lives under the temp dir.
//
// As root the master runs as `nobody` (spawned with that uid/gid, which is what
// `runuser -u nobody -- dovecot -F -c DIR/dovecot.conf` does, minus the extra runuser process
// in between, so the child we hold IS the Dovecot master). As any other user it runs as that
// user. `.ci/run` installs Dovecot (`apt-get install dovecot-imapd`) when it is missing.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { stopChild } from './env.ts';

export interface DovecotMessage {
  uid: number;
  flags: string[];
  subject: string | undefined;
  messageId: string | undefined;
}

export interface Dovecot {
  host: string;
  port: number;
  /** The static password every user logs in with. */
  password: string;
  /** `imap://user:secret@127.0.0.1:port/INBOX` (folder defaults to INBOX; each `/`-separated segment is URI-encoded). */
  url(user: string, folder?: string): string;
  /** Appends a raw RFC 5322 message through a short-lived imapflow client. */
  /** `received`: the server's arrival date of the message (INTERNALDATE) */
  append(user: string, folder: string, raw: string | Buffer, flags?: string[], received?: Date): Promise<void>;
  /** Every message in the folder (read-only, does not touch \Seen), sorted by UID. `\Recent` (a per-session flag) is left out of `flags`. */
  list(user: string, folder: string): Promise<DovecotMessage[]>;
  /** Creates the folder; creating an existing folder is not an error. */
  createFolder(user: string, folder: string): Promise<void>;
  /** Kills every active IMAP session (`doveadm kick`): connected clients see the server drop them. */
  dropConnections(): Promise<void>;
  /** Stops Dovecot and removes its temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const PASSWORD = 'secret';
const START_TIMEOUT_MS = 15_000;

// If the test process ends without stop(), do not leave a Dovecot behind.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGTERM');
});

/** Starts a private Dovecot. `users` get their mailbox (INBOX) created up front. */
export async function startDovecot(opts: { users?: string[] } = {}): Promise<Dovecot> {
  const bin = await which('dovecot');
  if (!bin) {
    throw new Error('dovecot is not installed: `apt-get install dovecot-imapd` (Debian/Ubuntu); .ci/run does this on a fresh machine');
  }
  const account = runAsAccount();
  let lastError: unknown;
  // The free port is picked before Dovecot binds it; another process may take it in between,
  // so a failed start is retried on a new port.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(bin, account, opts.users ?? []);
    } catch (err) {
      lastError = err;
      if (!(err instanceof StartError) || !err.retryable) break;
    }
  }
  throw lastError;
}

class StartError extends Error {
  retryable: boolean;
  constructor(message: string, retryable: boolean) {
    super(message);
    this.retryable = retryable;
  }
}

interface Account {
  user: string;
  group: string;
  /** Set when we are root and must drop to `nobody`. */
  uid?: number;
  gid?: number;
}

/** Root runs Dovecot as nobody:nogroup; anyone else runs it as themselves. */
function runAsAccount(): Account {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) {
    const me = userInfo();
    return { user: me.username, group: groupName(me.gid) ?? String(me.gid) };
  }
  const nobody = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === 'nobody');
  if (!nobody) throw new Error('startDovecot: there is no `nobody` user to run Dovecot as');
  const gid = Number(nobody[3]);
  return { user: 'nobody', group: groupName(gid) ?? 'nogroup', uid: Number(nobody[2]), gid };
}

function groupName(gid: number): string | undefined {
  try {
    return readFileSync('/etc/group', 'utf8')
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => Number(f[2]) === gid && f[0])?.[0];
  } catch {
    return undefined;
  }
}

function config(dir: string, port: number, account: Account): string {
  return `protocols = imap
listen = ${HOST}
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests try wrong passwords on purpose: answer at once instead of after the default 2 s.
auth_failure_delay = 0
default_login_user = ${account.user}
default_internal_user = ${account.user}
default_internal_group = ${account.group}
passdb {
  driver = static
  args = password=${PASSWORD}
}
userdb {
  driver = static
  args = uid=${account.user} gid=${account.group} home=${dir}/mail/%n
}
mail_location = maildir:~/Maildir
service imap-login {
  chroot =
  inet_listener imap {
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
  # No auth penalty: after a failed login Dovecot otherwise delays every later login from the
  # same IP (all of ours are 127.0.0.1) by 2 to 15 s.
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth-worker {
  user = $default_internal_user
}
`;
}

async function startOnce(bin: string, account: Account, users: string[]): Promise<Dovecot> {
  // Short path: the sockets live under DIR/run and a UNIX socket path must stay under 108 bytes.
  const dir = mkdtempSync(join(tmpdir(), 'ccai-dovecot-'));
  const conf = join(dir, 'dovecot.conf');
  const port = await freePort();
  for (const sub of ['run', 'state', 'mail']) mkdirSync(join(dir, sub));
  writeFileSync(conf, config(dir, port, account));
  if (account.uid !== undefined && account.gid !== undefined) {
    for (const p of [dir, conf, join(dir, 'run'), join(dir, 'state'), join(dir, 'mail')]) chownSync(p, account.uid, account.gid);
  }

  let stderr = '';
  const child = spawn(bin, ['-F', '-c', conf], {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(account.uid !== undefined ? { uid: account.uid, gid: account.gid } : {}),
  });
  child.stderr?.on('data', (d) => (stderr += d));
  let running = true;
  child.once('exit', () => (running = false));
  child.once('error', (err) => (stderr += String(err)));
  live.add(child);
  child.once('exit', () => live.delete(child));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      // the master stops its services and disconnects the clients; SIGKILL after 5 s
      await stopChild(child, 'SIGTERM', { timeoutMs: 5_000 });
      rmSync(dir, { recursive: true, force: true });
    })());

  try {
    await waitReady(port, () => running, START_TIMEOUT_MS);
  } catch (err) {
    const log = readLog(dir);
    await stop();
    const bindFailed = /Address already in use|bind\(/i.test(log + stderr);
    throw new StartError(`Dovecot did not start on ${HOST}:${port}: ${(err as Error).message}\n${stderr}${log}`, bindFailed);
  }

  const client = async (user: string): Promise<ImapFlow> => {
    const c = new ImapFlow({ host: HOST, port, secure: false, auth: { user, pass: PASSWORD }, logger: false, disableAutoIdle: true });
    c.on('error', () => {}); // a dropped connection surfaces as a rejected command instead
    await c.connect();
    return c;
  };
  const withClient = async <T>(user: string, fn: (c: ImapFlow) => Promise<T>): Promise<T> => {
    const c = await client(user);
    try {
      return await fn(c);
    } finally {
      await c.logout().catch(() => c.close());
    }
  };

  const dovecot: Dovecot = {
    host: HOST,
    port,
    password: PASSWORD,
    url(user, folder = 'INBOX') {
      const path = folder.split('/').map(encodeURIComponent).join('/');
      return `imap://${encodeURIComponent(user)}:${PASSWORD}@${HOST}:${port}/${path}`;
    },
    async append(user, folder, raw, flags, received) {
      await withClient(user, async (c) => {
        const res = await c.append(folder, raw, flags, received);
        if (!res) throw new Error(`APPEND to ${folder} for ${user} failed`);
      });
    },
    async list(user, folder) {
      return withClient(user, async (c) => {
        const box = await c.mailboxOpen(folder, { readOnly: true });
        if (!box.exists) return [];
        const all = await c.fetchAll('1:*', { uid: true, flags: true, envelope: true });
        return all
          .map((m) => ({ uid: m.uid, flags: [...(m.flags ?? [])].filter((f) => f !== '\\Recent').sort(), subject: m.envelope?.subject, messageId: m.envelope?.messageId }))
          .sort((a, b) => a.uid - b.uid);
      });
    },
    async createFolder(user, folder) {
      await withClient(user, async (c) => {
        await c.mailboxCreate(folder);
      });
    },
    async dropConnections() {
      // doveadm talks to this instance through the sockets named in our config. It exits
      // non-zero when nobody was connected, which is fine.
      await run('doveadm', ['-c', conf, 'kick', '*']).catch(() => undefined);
    },
    stop,
  };

  try {
    for (const user of users) await withClient(user, (c) => c.mailboxOpen('INBOX').then(() => undefined));
  } catch (err) {
    await stop();
    throw err;
  }
  return dovecot;
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'dovecot.log'), 'utf8');
  } catch {
    return '';
  }
}

/** Ready = the port accepts a connection and `LOGIN probe secret` is answered OK. */
async function waitReady(port: number, alive: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!alive()) throw new Error('the dovecot process exited');
    try {
      await probeLogin(port);
      return;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(50);
  }
  throw new Error(`not ready after ${timeoutMs} ms (${last})`);
}

function probeLogin(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: HOST, port });
    let buf = '';
    let sent = false;
    const done = (err?: Error) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error('LOGIN probe timed out')), 3_000);
    sock.setEncoding('utf8');
    sock.on('error', (err) => done(err));
    sock.on('close', () => done(new Error('closed before LOGIN completed')));
    sock.on('data', (d: string) => {
      buf += d;
      if (!sent && /^\* OK/m.test(buf)) {
        sent = true;
        sock.write(`p1 LOGIN probe ${PASSWORD}\r\np2 LOGOUT\r\n`);
      }
      const m = /^p1 (OK|NO|BAD)[^\r\n]*/m.exec(buf);
      if (m) done(m[1] === 'OK' ? undefined : new Error(m[0]));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function which(cmd: string): Promise<string | undefined> {
  // dovecot lives in /usr/sbin, which is not on every user's PATH.
  const path = [process.env.PATH ?? '', '/usr/sbin', '/usr/local/sbin', '/sbin'].join(':');
  return new Promise((resolve) => {
    execFile('sh', ['-c', `command -v ${cmd}`], { env: { ...process.env, PATH: path } }, (err, stdout) => resolve(err ? undefined : stdout.trim() || undefined));
  });
}

function run(cmd: string, args: string[]): Promise<string> {
  const path = [process.env.PATH ?? '', '/usr/sbin', '/usr/local/sbin', '/sbin'].join(':');
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: { ...process.env, PATH: path }, timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
