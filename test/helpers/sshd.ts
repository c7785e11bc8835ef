// A real SFTP server for tests: Debian's OpenSSH sshd, run rootless from a fresh temp dir on a
// free loopback port (`sshd -D -e -f DIR/sshd_config`), with its own host key, authorized_keys
// and pid file, serving SFTP with `internal-sftp`. Key login only works (see below); the files
// served are the temp dir's, at the same paths (no chroot).
//
// Unprivileged: as root, sshd would need /run/sshd and a privilege-separation user; run as an
// ordinary user it needs neither, and can log in only that same user. So as root the server
// runs as `nobody` (setpriv drops to 65534 before exec: the child we hold IS sshd, leading its
// own process group, so stopping it stops the per-connection children too) and the tests log in
// as nobody; as anyone else it runs as, and logs in, that user.
//
// `UsePAM yes`: without PAM, sshd refuses accounts whose password field is locked (nobody's is
// `*` in /etc/shadow: "User nobody not allowed because account is locked"); with PAM the
// account check passes. A password login cannot succeed: an unprivileged sshd checks passwords
// through PAM's unix_chkpwd, which checks only its own user's, and nobody has none. Password
// authentication is on all the same, so a refused password can be tested.
//
// `.ci/run` installs openssh-server when /usr/sbin/sshd is missing; without it the tests fail
// with the command to run (never skipped).
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, stopChild } from './env.ts';

export const SSHD = '/usr/sbin/sshd';
const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 15_000;

export interface Sshd {
  host: string;
  port: number;
  /** the account the server runs as and the tests log in as */
  user: string;
  /** the server's host key fingerprint, as `ssh-keygen -lf` prints it (SHA256:…) */
  fingerprint: string;
  /** a client private key (OpenSSH format, Ed25519) whose public half is in authorized_keys */
  clientKey: string;
  /** a folder served, owned by the server's account: the same path on this machine and on the server */
  root: string;
  /** `sftp://user@127.0.0.1:port/<root>/<folder>` */
  url(folder?: string): string;
  /** A folder under root (created, owned by the account), for one test. */
  folder(name: string): string;
  /** Writes a file (owned by the account), with its modification time when given. */
  write(path: string, content: string | Uint8Array, mtime?: Date): void;
  /** A new client key of the given type (ssh-keygen -t), authorized unless told; its private key text. */
  newClientKey(type: 'ed25519' | 'rsa' | 'ecdsa', opts?: { authorize?: boolean; pem?: boolean }): string;
  /** The pids of the per-connection sshd processes (children of the listener; each has children of its own). */
  sessions(): number[];
  /** Kills every session's processes (SIGKILL): each client sees its connection drop. */
  dropConnections(): Promise<void>;
  /** Stops the server (connections and listener); the files stay. */
  halt(): Promise<void>;
  /** Starts it again on the same port, with the same keys and files. */
  resume(): Promise<void>;
  /** What sshd has logged since it (last) started (`-e`: its stderr; LogLevel VERBOSE). */
  log(): string;
  /** Stops it and removes its temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

interface Account {
  user: string;
  uid?: number;
  gid?: number;
}

// If the test process ends without stop(), do not leave an sshd behind.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

export async function startSshd(): Promise<Sshd> {
  if (!existsSync(SSHD)) {
    throw new Error(`${SSHD} is missing: \`apt-get install openssh-server\` (Debian/Ubuntu); .ci/run does this on a fresh machine`);
  }
  const account = runAsAccount();
  // Short path: nothing here is a socket, but sshd logs and error messages stay readable.
  const dir = mkdtempSync(join(tmpdir(), 'ccai-sshd-'));
  const own = (p: string) => {
    if (account.uid !== undefined) chownSync(p, account.uid, account.gid!);
  };
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ccai-test-host', '-f', join(dir, 'host_ed25519')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ccai-test-client', '-f', join(dir, 'client')]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client.pub')));
    mkdirSync(join(dir, 'data'));
    for (const p of [dir, join(dir, 'data'), join(dir, 'authorized_keys'), join(dir, 'host_ed25519'), join(dir, 'host_ed25519.pub')]) own(p);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  // `256 SHA256:… ccai-test-host (ED25519)`
  const fingerprint = execFileSync('ssh-keygen', ['-lf', join(dir, 'host_ed25519.pub')], { encoding: 'utf8' }).split(' ')[1]!;
  const clientKey = readFileSync(join(dir, 'client'), 'utf8');
  const root = join(dir, 'data');

  let port = 0;
  let child: ChildProcess | undefined;
  let stderr = '';
  let keys = 0;

  const launch = async (): Promise<void> => {
    writeFileSync(join(dir, 'sshd_config'), config(dir, port));
    own(join(dir, 'sshd_config'));
    stderr = '';
    const setpriv = account.uid !== undefined ? ['setpriv', `--reuid=${account.uid}`, `--regid=${account.gid}`, '--clear-groups'] : [];
    const argv = [...setpriv, SSHD, '-D', '-e', '-f', join(dir, 'sshd_config')];
    const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    c.stderr?.on('data', (d) => (stderr += d));
    let running = true;
    c.once('exit', () => (running = false));
    c.once('error', (err) => (stderr += String(err)));
    live.add(c);
    c.once('exit', () => live.delete(c));
    child = c;
    try {
      await waitReady(port, () => running, START_TIMEOUT_MS);
    } catch (err) {
      await stopChild(c, 'SIGKILL');
      throw new StartError(`sshd did not start on ${HOST}:${port}: ${(err as Error).message}\n${stderr}`, /Address already in use|Bind to port/i.test(stderr));
    }
  };

  const halt = async (): Promise<void> => {
    if (!child) return;
    // the per-connection processes first: each session has its own process group
    for (const pid of childrenOf(child.pid!).flatMap(withDescendants)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await stopChild(child, 'SIGTERM', { timeoutMs: 5_000 });
    child = undefined;
  };

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    // the port is picked before sshd binds it; another process may take it in between
    port = await freePort();
    try {
      await launch();
      lastError = undefined;
      break;
    } catch (err) {
      lastError = err;
      if (!(err instanceof StartError) || !err.retryable) break;
    }
  }
  if (lastError) {
    rmSync(dir, { recursive: true, force: true });
    throw lastError;
  }

  let stopping: Promise<void> | undefined;
  const sshd: Sshd = {
    host: HOST,
    get port() {
      return port;
    },
    user: account.user,
    fingerprint,
    clientKey,
    root,
    url(folder = '') {
      const path = join(root, folder).split('/').map(encodeURIComponent).join('/');
      return `sftp://${encodeURIComponent(account.user)}@${HOST}:${port}${path}`;
    },
    folder(name) {
      const p = join(root, name);
      mkdirSync(p, { recursive: true });
      own(p);
      return p;
    },
    write(path, content, mtime) {
      const p = path.startsWith('/') ? path : join(root, path);
      // folders made on the way belong to the account too (it must be able to change them)
      const made = mkdirSync(dirname(p), { recursive: true });
      if (made) for (let d = dirname(p); d.length >= made.length; d = dirname(d)) own(d);
      writeFileSync(p, content);
      own(p);
      if (mtime) utimesSync(p, mtime, mtime);
    },
    newClientKey(type, opts = {}) {
      const file = join(dir, `client-${type}-${++keys}`);
      execFileSync('ssh-keygen', ['-q', '-t', type, ...(opts.pem ? ['-m', 'PEM'] : []), '-N', '', '-C', 'ccai-test-client', '-f', file]);
      if (opts.authorize !== false) writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${file}.pub`), { flag: 'a' });
      return readFileSync(file, 'utf8');
    },
    sessions() {
      if (!child?.pid) return [];
      return childrenOf(child.pid);
    },
    async dropConnections() {
      // a session is a monitor ([priv]), the process holding the connection (user@notty) and
      // internal-sftp's: all of it goes, as when the server crashes
      for (const pid of sshd.sessions().flatMap(withDescendants)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      // wait until the listener has reaped them, so that sessions() is empty again
      const until = Date.now() + 5_000;
      while (sshd.sessions().length > 0 && Date.now() < until) await sleep(20);
    },
    halt,
    async resume() {
      await launch();
    },
    log: () => stderr,
    stop: () =>
      (stopping ??= (async () => {
        await halt();
        rmSync(dir, { recursive: true, force: true });
      })()),
  };
  return sshd;
}

class StartError extends Error {
  retryable: boolean;
  constructor(message: string, retryable: boolean) {
    super(message);
    this.retryable = retryable;
  }
}

function config(dir: string, port: number): string {
  return `# written by test/helpers/sshd.ts
Port ${port}
ListenAddress ${HOST}
HostKey ${dir}/host_ed25519
PidFile ${dir}/sshd.pid
AuthorizedKeysFile ${dir}/authorized_keys
# the account nobody's password field is locked: PAM passes its account check (see above)
UsePAM yes
# the temp dir's modes are not checked: it is not a real home
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication yes
Subsystem sftp internal-sftp
AllowTcpForwarding no
X11Forwarding no
PermitTTY no
PrintMotd no
# tests open many connections at once; failed logins are tried on purpose
MaxStartups 100
MaxAuthTries 10
LogLevel VERBOSE
`;
}

/** Root runs sshd as nobody; anyone else runs it as themselves. */
function runAsAccount(): Account {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) return { user: userInfo().username };
  const nobody = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === 'nobody');
  if (!nobody) throw new Error('startSshd: there is no `nobody` user to run sshd as');
  return { user: 'nobody', uid: Number(nobody[2]), gid: Number(nobody[3]) };
}

/** The children of a process, from /proc (the listener forks one per connection). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    /* the process is gone */
  }
  return out;
}

/** A process and all its descendants. */
function withDescendants(pid: number): number[] {
  return [pid, ...childrenOf(pid).flatMap(withDescendants)];
}

/** Ready = the port answers with an SSH identification line. */
async function waitReady(port: number, alive: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!alive()) throw new Error('the sshd process exited');
    try {
      await probe(port);
      return;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(50);
  }
  throw new Error(`not ready after ${timeoutMs} ms (${last})`);
}

function probe(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: HOST, port });
    let buf = '';
    const done = (err?: Error) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error('no SSH banner')), 3_000);
    sock.setEncoding('utf8');
    sock.on('error', (err) => done(err));
    sock.on('close', () => done(new Error('closed before the SSH banner')));
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.startsWith('SSH-2.0-')) done();
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
