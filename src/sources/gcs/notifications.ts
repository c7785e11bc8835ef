// The bucket's notifications: a Pub/Sub pull subscription on the topic the bucket publishes
// OBJECT_FINALIZE to (`gcloud storage buckets notifications create`), so a new or rewritten
// object is taken within seconds instead of at the next sweep. The sweep stays the safety net:
// a notification can be lost (none is sent while the topic is misconfigured, a message expires
// after the subscription's retention), and objects from before the notification existed are
// only listed.
//
// - Streaming pull (`subscription.on('message')`), one stream, at most MAX_MESSAGES held at once:
//   each message costs a stat and a download, and the fleet's workers share the subscription
//   (each message goes to one of them), so a small window spreads the work.
// - A message is acked only when `onObject` says 'ack': the object's job is safely queued, or
//   the object recorded as skipped or rejected. 'nack' (or a throw) nacks it: Pub/Sub delivers
//   it again (to this worker or another). While `onObject` runs, the client extends the
//   message's ack deadline itself. Delivered twice (Pub/Sub delivers at least once): the
//   ledger knows the object's generation and the second delivery is acked at once.
// - Only OBJECT_FINALIZE matters (a new object, or a new generation of one); OBJECT_DELETE,
//   OBJECT_ARCHIVE and OBJECT_METADATA_UPDATE are acked and ignored. The attributes (eventType,
//   bucketId, objectId, objectGeneration) say all we need, so the payload format may be
//   JSON_API_V1 or NONE.
// - PUBSUB_EMULATOR_HOST (`127.0.0.1:8085`) is honoured by the client itself: plain gRPC there,
//   no credentials. Otherwise Application Default Credentials, as for the bucket.
import { Duration, PubSub, SubscriptionCloseBehaviors } from '@google-cloud/pubsub';
import type { Message, Subscription } from '@google-cloud/pubsub';
import { SyncError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { fromPubsubError } from './gcs-errors.ts';

/** What a finalize notification says of the object. */
export interface ObjectNotice {
  bucket: string;
  /** the full object name in the bucket (not relative to a prefix) */
  name: string;
  generation: string;
  eventType: string;
}

export interface GcsNotifications {
  /** Stops taking messages, lets those in hand finish (30 s at most), then closes the connection. */
  close(): Promise<void>;
  health(): { lastMessageAt: string | null; lastError: string | null };
}

/** Messages held at once by one worker (flow control). */
const MAX_MESSAGES = 10;
/** How long close() waits for the messages in hand before it nacks them (they come back). */
const CLOSE_WAIT_S = 30;
/** After the stream ended for good (no such subscription, no permission): first retry, and the longest wait. */
const REOPEN_MIN_MS = 1_000;
const REOPEN_MAX_MS = 60_000;

const SUBSCRIPTION_PATH = /^projects\/([^/]+)\/subscriptions\/([^/]+)$/;

/**
 * Starts pulling the subscription. `settings.subscription` is the full name
 * (`projects/P/subscriptions/S`), built by the caller from GCS_SUBSCRIPTION and GCP_PROJECT.
 */
export function startGcsNotifications(
  settings: { subscription: string },
  onObject: (n: ObjectNotice) => Promise<'ack' | 'nack'>,
  log: Logger,
): GcsNotifications {
  const path = SUBSCRIPTION_PATH.exec(settings.subscription);
  if (!path) {
    throw new SyncError('CONFIG_INVALID', `GCS_SUBSCRIPTION must name a subscription as projects/PROJECT/subscriptions/NAME (or NAME with GCP_PROJECT): got "${settings.subscription}"`);
  }
  // the project from the name, so that the client never has to discover one (no metadata
  // server on a laptop or in the tests)
  const pubsub = new PubSub({ projectId: path[1]! });
  const subscription: Subscription = pubsub.subscription(settings.subscription, {
    flowControl: { maxMessages: MAX_MESSAGES, allowExcessMessages: false },
    streamingOptions: { maxStreams: 1 },
    closeOptions: { behavior: SubscriptionCloseBehaviors.WaitForProcessing, timeout: Duration.from({ seconds: CLOSE_WAIT_S }) },
  });
  const where = settings.subscription;
  let lastMessageAt: string | null = null;
  let lastError: string | null = null;
  let closed = false;
  let reopenMs = REOPEN_MIN_MS;
  let reopenTimer: NodeJS.Timeout | null = null;

  async function handle(message: Message): Promise<void> {
    lastMessageAt = new Date().toISOString();
    // a message came: the stream works (again)
    lastError = null;
    reopenMs = REOPEN_MIN_MS;
    const a = message.attributes ?? {};
    if (a.eventType !== 'OBJECT_FINALIZE') {
      log.debug({ subscription: where, eventType: a.eventType, object: a.objectId }, 'bucket notification ignored (not OBJECT_FINALIZE)');
      message.ack();
      return;
    }
    if (!a.bucketId || !a.objectId || !a.objectGeneration) {
      // not a Cloud Storage notification (someone else publishes on the topic): it would come
      // back for ever; the sweep finds whatever it was about
      log.warn({ subscription: where, messageId: message.id, attributes: Object.keys(a) }, 'a message without bucketId, objectId and objectGeneration on the subscription: acked and ignored');
      message.ack();
      return;
    }
    const notice: ObjectNotice = { bucket: a.bucketId, name: a.objectId, generation: a.objectGeneration, eventType: a.eventType };
    let answer: 'ack' | 'nack';
    try {
      answer = await onObject(notice);
    } catch (err) {
      log.warn({ subscription: where, object: notice.name, generation: notice.generation, err: (err as Error).message }, 'bucket notification not handled; it comes back');
      answer = 'nack';
    }
    if (answer === 'ack') message.ack();
    else message.nack();
  }

  function reopenLater(): void {
    if (closed || reopenTimer) return;
    const delay = reopenMs;
    reopenMs = Math.min(reopenMs * 2, REOPEN_MAX_MS);
    reopenTimer = setTimeout(() => {
      reopenTimer = null;
      if (closed || subscription.isOpen) return;
      log.info({ subscription: where }, 'reopening the bucket notifications subscription');
      subscription.open();
    }, delay);
    reopenTimer.unref();
  }

  subscription.on('message', (message: Message) => void handle(message));
  subscription.on('error', (err: unknown) => {
    // The client retries what passes (UNAVAILABLE, DEADLINE_EXCEEDED, ...) by itself and says
    // nothing; what reaches here ended the stream: no such subscription, no permission.
    const e = fromPubsubError(err, `subscription ${where}`);
    lastError = `${e.code}: ${e.message}`;
    log.warn({ subscription: where, code: e.code, err: e.message }, 'bucket notifications stopped; retrying (the sweep still finds every object)');
  });
  // the stream closes after such an error: open it again, with backoff, until close()
  subscription.on('close', () => reopenLater());

  return {
    async close() {
      if (closed) return;
      closed = true;
      if (reopenTimer) clearTimeout(reopenTimer);
      await subscription.close().catch((err: unknown) => log.debug({ err: (err as Error).message }, 'closing the subscription'));
      await pubsub.close().catch((err: unknown) => log.debug({ err: (err as Error).message }, 'closing the Pub/Sub client'));
    },
    health: () => ({ lastMessageAt, lastError }),
  };
}
