// The real Pub/Sub emulator for tests: the one that ships with the Google Cloud CLI on these
// machines (a Java 17 program), started on a free loopback port and stopped after the test,
// as the Dovecot tests do with Dovecot. Clients reach it through PUBSUB_EMULATOR_HOST
// (`emulator.host`). Topics, subscriptions and published messages are made through its REST
// API (the emulator answers HTTP/1.1 JSON beside gRPC), so the helper does not depend on the
// client library the code under test uses.
//
// The launcher (`bin/cloud-pubsub-emulator`, a shell script) execs java, which may start
// helpers of its own: it is spawned detached, as the leader of its own process group, and
// stopChild signals the whole group.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort, stopChild } from './env.ts';

export const PUBSUB_EMULATOR_BIN = process.env.PUBSUB_EMULATOR_BIN ?? '/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator';
const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 30_000;

export interface PulledMessage {
  ackId: string;
  messageId: string;
  attributes: Record<string, string>;
  data: string;
  deliveryAttempt?: number;
}

export interface PubsubEmulator {
  /** `127.0.0.1:PORT`: the value for PUBSUB_EMULATOR_HOST */
  host: string;
  projectId: string;
  /** how long the emulator took from spawn to answering, ms */
  startMs: number;
  /** A pull subscription on a topic (made when missing); returns their full names. */
  createSubscription(topic: string, subscription: string, opts?: { ackDeadlineSeconds?: number }): Promise<{ topic: string; subscription: string }>;
  createTopic(topic: string): Promise<string>;
  /** Publishes one message (attributes as Cloud Storage sets them); returns its message id. */
  publish(topic: string, attributes: Record<string, string>, data?: string): Promise<string>;
  /** One synchronous pull, as another subscriber would (the messages are leased, not acked). */
  pull(subscription: string, maxMessages?: number): Promise<PulledMessage[]>;
  stop(): Promise<void>;
}

/** Starts a private emulator. Missing binary: fails with how to get it (never skipped). */
export async function startPubsubEmulator(opts: { projectId?: string } = {}): Promise<PubsubEmulator> {
  if (!existsSync(PUBSUB_EMULATOR_BIN)) {
    throw new Error(
      `the Pub/Sub emulator is not installed at ${PUBSUB_EMULATOR_BIN}: it ships with the Google Cloud CLI ` +
        '(component pubsub-emulator, Debian package google-cloud-cli-pubsub-emulator) and needs Java 17; ' +
        'set PUBSUB_EMULATOR_BIN to its cloud-pubsub-emulator launcher if it is elsewhere',
    );
  }
  let lastError: unknown;
  // the free port is picked before the emulator binds it: another process may take it first
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(opts.projectId ?? 'ccai-test-project');
    } catch (err) {
      lastError = err;
      if (!/BindException|Address already in use/i.test((err as Error).message)) break;
    }
  }
  throw lastError;
}

async function startOnce(projectId: string): Promise<PubsubEmulator> {
  const port = await freePort();
  const started = Date.now();
  const child = spawn(PUBSUB_EMULATOR_BIN, [`--host=${HOST}`, `--port=${port}`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // it logs every request: keep the tail only, for the message of a failed start
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString('utf8')).slice(-8_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', (err) => keep(Buffer.from(String(err))));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= stopChild(child, 'SIGTERM', { timeoutMs: 10_000 }).then(() => undefined));
  // if the test process ends without stop(), do not leave a JVM behind
  const onExit = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  process.once('exit', onExit);

  const base = `http://${HOST}:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exited) {
      process.removeListener('exit', onExit);
      throw new Error(`the Pub/Sub emulator exited before it answered on ${HOST}:${port}:\n${output}`);
    }
    const ok = await fetch(`${base}/`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      process.removeListener('exit', onExit);
      throw new Error(`the Pub/Sub emulator did not answer on ${HOST}:${port} within ${START_TIMEOUT_MS} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const startMs = Date.now() - started;

  const call = async (method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${base}/v1/${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`Pub/Sub emulator ${method} ${path}: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
  const topicName = (t: string) => `projects/${projectId}/topics/${t}`;
  const subscriptionName = (s: string) => (s.startsWith('projects/') ? s : `projects/${projectId}/subscriptions/${s}`);

  const emulator: PubsubEmulator = {
    host: `${HOST}:${port}`,
    projectId,
    startMs,
    async createTopic(topic) {
      await call('PUT', topicName(topic));
      return topicName(topic);
    },
    async createSubscription(topic, subscription, o = {}) {
      await emulator.createTopic(topic).catch((err: Error) => {
        if (!/ 409 /.test(err.message)) throw err; // the topic is there already
      });
      await call('PUT', subscriptionName(subscription), { topic: topicName(topic), ackDeadlineSeconds: o.ackDeadlineSeconds ?? 10 });
      return { topic: topicName(topic), subscription: subscriptionName(subscription) };
    },
    async publish(topic, attributes, data = '') {
      const r = await call('POST', `${topicName(topic)}:publish`, { messages: [{ data: Buffer.from(data).toString('base64'), attributes }] });
      return (r.messageIds as string[])[0]!;
    },
    async pull(subscription, maxMessages = 10) {
      const r = await call('POST', `${subscriptionName(subscription)}:pull`, { maxMessages, returnImmediately: true });
      const received = (r.receivedMessages ?? []) as Array<{ ackId: string; deliveryAttempt?: number; message: { messageId: string; attributes?: Record<string, string>; data?: string } }>;
      return received.map((m) => ({
        ackId: m.ackId,
        messageId: m.message.messageId,
        attributes: m.message.attributes ?? {},
        data: Buffer.from(m.message.data ?? '', 'base64').toString('utf8'),
        ...(m.deliveryAttempt !== undefined ? { deliveryAttempt: m.deliveryAttempt } : {}),
      }));
    },
    async stop() {
      await stop();
      process.removeListener('exit', onExit);
    },
  };
  return emulator;
}
