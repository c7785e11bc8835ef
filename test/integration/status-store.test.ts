// The status store against real Redis: events recorded together (one script call per turn of
// the event loop, split past 256) land in order, with the latest in the hash and a capped
// history, exactly as events recorded one by one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectClient } from '../../src/store/redis.ts';
import { StatusStore } from '../../src/store/status-store.ts';
import type { SessionState } from '../../src/store/status-store.ts';
import { TEST_REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/env.ts';

describe('StatusStore', () => {
  const prefix = uniquePrefix('status');
  let redis: Awaited<ReturnType<typeof connectClient>>;
  before(async () => {
    redis = await connectClient(TEST_REDIS_URL);
  });
  after(async () => {
    redis.disconnect();
    await dropPrefix(prefix);
  });

  const event = (state: SessionState, reason: string) => ({ state, version: '2026-03-23T20:16:58.000Z', ticket: null, reason, code: null, source: 'test', jobId: null });

  it('keeps the events of one turn in the order they were recorded, the last one latest', async () => {
    const store = new StatusStore(redis, prefix);
    await Promise.all([store.record('call-1', event('queued', 'first')), store.record('call-1', event('delivered', 'second'))]);
    const s = await store.get('call-1');
    assert.equal(s?.latest.state, 'delivered');
    assert.equal(s?.latest.reason, 'second');
    assert.equal(s?.latest.ticket, null);
    assert.deepEqual(
      s?.history.map((e) => e.reason),
      ['second', 'first'],
    );
  });

  it('news of an older version (unlessNewer) goes into the history only', async () => {
    const store = new StatusStore(redis, prefix);
    await store.record('call-2', { ...event('delivered', 'newer'), version: '2026-03-24T10:00:00.000Z' });
    await store.record('call-2', { ...event('failed', 'old bounce'), version: '2026-03-23T20:16:58.000Z' }, { unlessNewer: true });
    let s = await store.get('call-2');
    assert.equal(s?.latest.reason, 'newer');
    assert.deepEqual(s?.history.map((e) => e.reason), ['old bounce', 'newer']);
    await store.record('call-2', { ...event('failed', 'same-version bounce'), version: '2026-03-24T10:00:00.000Z' }, { unlessNewer: true });
    s = await store.get('call-2');
    assert.equal(s?.latest.reason, 'same-version bounce');
  });

  it('writes hundreds of events at once (more than one script call) and caps each history at 50', async () => {
    const store = new StatusStore(redis, prefix);
    const writes: Array<Promise<void>> = [];
    for (let i = 0; i < 600; i++) writes.push(store.record(`call-${100 + (i % 10)}`, event(i % 2 ? 'delivered' : 'queued', `n${i}`)));
    await Promise.all(writes);
    for (let k = 0; k < 10; k++) {
      const s = await store.get(`call-${100 + k}`);
      assert.equal(s?.latest.reason, `n${590 + k}`);
      assert.equal(s?.history.length, 50);
      assert.equal(s?.history[0]?.reason, `n${590 + k}`);
      assert.equal(s?.history[49]?.reason, `n${590 + k - 49 * 10}`);
    }
    assert.ok((await redis.ttl(`${prefix}:status:call-100`)) > 29 * 86_400, 'expires in 30 days');
    assert.ok((await redis.ttl(`${prefix}:status:call-100:events`)) > 29 * 86_400);
  });

  it('fails every event of a call that cannot be written', async () => {
    const closed = await connectClient(TEST_REDIS_URL);
    const store = new StatusStore(closed, prefix);
    closed.disconnect();
    await assert.rejects(Promise.all([store.record('call-9', event('queued', 'a')), store.record('call-9', event('queued', 'b'))]));
  });
});
