// A real SMTP server for tests (the `smtp-server` package, same authors as nodemailer) that
// keeps every accepted message, raw and parsed with mailparser. Plain TCP on loopback, no TLS;
// AUTH PLAIN/LOGIN is offered without TLS when `auth` is set, and required then.
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import type { ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface SinkMessage {
  /** MAIL FROM address ('' for the null sender). */
  from: string;
  /** RCPT TO addresses, in order. */
  to: string[];
  raw: Buffer;
  parsed: ParsedMail;
  /** parameters of MAIL FROM (DSN: RET, ENVID) and of each RCPT TO (NOTIFY, ORCPT), as sent */
  mailArgs: Record<string, string>;
  rcptArgs: Array<Record<string, string>>;
}

export interface SmtpSink {
  port: number;
  /** `smtp://user:pass@127.0.0.1:port`, or `smtp://127.0.0.1:port` without auth. */
  url: string;
  /** Accepted messages, in the order their DATA completed. */
  messages: SinkMessage[];
  /** Resolves once at least `n` messages were accepted; rejects after `timeoutMs` (5 s). */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  /** Closes the server, cutting off clients that are still connected (pooled transports). */
  stop(): Promise<void>;
}

export interface SmtpSinkOptions {
  /** Require AUTH with these credentials (535 otherwise, 530 for MAIL FROM without AUTH). */
  auth?: { user: string; pass: string };
  /** Refuse larger messages with 552: advertised as SIZE, and enforced on the received bytes. */
  maxSize?: number;
  /** Return a reason to refuse a recipient with 550, or null to accept it. */
  rejectRcpt?: (addr: string) => string | null;
  /** Return a reason to refuse a message after its DATA with 554, or null to accept it. */
  rejectData?: (raw: Buffer) => string | null;
  /** Wait this long before answering a message's DATA (a slow server), or as long as it says for this message. */
  acceptDelayMs?: number | ((raw: Buffer) => number);
}

const HOST = '127.0.0.1';

function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

export async function startSmtpSink(opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: SinkMessage[] = [];
  const waiters = new Set<() => void>();
  const auth = opts.auth;

  const server = new SMTPServer({
    secure: false,
    logger: false,
    banner: 'ccai-crm-sync test sink',
    disabledCommands: auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: !auth,
    // offer DSN (RFC 3461) as Postfix and most relays do; smtp-server hides it by default
    hideDSN: false,
    allowInsecureAuth: true,
    ...(opts.maxSize ? { size: opts.maxSize } : {}),
    onAuth(a, _session, callback) {
      if (auth && a.username === auth.user && a.password === auth.pass) return callback(null, { user: a.username });
      callback(smtpError(535, 'Error: authentication failed'));
    },
    onRcptTo(address, _session, callback) {
      const reason = opts.rejectRcpt?.(address.address) ?? null;
      if (reason) return callback(smtpError(550, reason));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        // smtp-server trusts the client's declared SIZE; the received bytes decide.
        if (stream.sizeExceeded) {
          return callback(smtpError(552, `Error: message exceeds fixed maximum message size ${opts.maxSize}`));
        }
        const raw = Buffer.concat(chunks);
        const refused = opts.rejectData?.(raw) ?? null;
        if (refused) return callback(smtpError(554, refused));
        const ms = typeof opts.acceptDelayMs === 'function' ? opts.acceptDelayMs(raw) : (opts.acceptDelayMs ?? 0);
        const delay = new Promise<void>((r) => setTimeout(r, ms));
        delay.then(() => simpleParser(raw)).then(
          (parsed) => {
            const mailFrom = session.envelope.mailFrom;
            const args = (a: unknown) => (a && typeof a === 'object' ? (a as Record<string, string>) : {});
            messages.push({
              from: mailFrom ? mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              raw,
              parsed,
              mailArgs: mailFrom ? args(mailFrom.args) : {},
              rcptArgs: session.envelope.rcptTo.map((r) => args(r.args)),
            });
            for (const w of [...waiters]) w();
            callback(null, 'OK: message queued');
          },
          (err: Error) => callback(smtpError(451, `cannot parse message: ${err.message}`)),
        );
      });
    },
  });
  server.on('error', () => {}); // a client going away mid-session is not the sink's problem

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, HOST, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;
  const url = auth ? `smtp://${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.pass)}@${HOST}:${port}` : `smtp://${HOST}:${port}`;

  let stopped: Promise<void> | undefined;
  return {
    port,
    url,
    messages,
    waitFor(n, timeoutMs = 5_000) {
      if (messages.length >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (messages.length < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`SMTP sink: expected ${n} message(s) within ${timeoutMs} ms, got ${messages.length}`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // server.close() alone waits up to 30 s for idle (pooled) clients to leave.
        for (const conn of server.connections) {
          conn.send(421, 'Server shutting down');
          conn.close();
        }
      });
      return stopped;
    },
  };
}

/**
 * The settings of a CRM=email worker sending to `smtpUrl` (a sink) from our test domain to the
 * test helpdesk, with its own queue prefix and data folder. The real fixtures name Salesforce
 * Cases: their id goes on the body's first line (body-token).
 */
export function emailSettings(smtpUrl: string, prefix: string, dataDir: string, redisUrl: string): Record<string, string> {
  return {
    CRM: 'email',
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    DATA_DIR: dataDir,
    SMTP_URL: smtpUrl,
    MAIL_FROM: 'CCAI Sync <ccai@contact.example.com>',
    MAIL_TO: 'support@helpdesk.example.com',
    MAIL_TOKEN_STYLE: 'body-token',
  };
}
