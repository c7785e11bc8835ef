// The status store against real Redis: events recorded together (one script call per turn of
// the event loop, split past 256) land in order, with the latest in the hash and a capped
// history, exactly as events recorded one by one. Then what the admin console reads, written
// by the same calls: the index by time, the ticket sets, the activity counters, and the
// searches over them. Those tests record on a clock of their own and derive what they expect
// from what they recorded.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectClient } from '../../src/store/redis.ts';
import { StatusStore } from '../../src/store/status-store.ts';
import type { SessionPage, SessionQuery, SessionState, StatusEvent, StatusStoreOptions } from '../../src/store/status-store.ts';
import { TEST_REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/env.ts';

describe('StatusStore', () => {
  const prefix = uniquePrefix('status');
  let redis: Awaited<ReturnType<typeof connectClient>>;
  before(async () => {
    redis = await connectClient(TEST_REDIS_URL);
  });
  const prefixes = [prefix];
  after(async () => {
    redis.disconnect();
    for (const p of prefixes) await dropPrefix(p);
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

  // --- what the admin console reads -------------------------------------------------------

  const T0 = Date.parse('2026-03-24T10:00:30.000Z');
  const DAY = 86_400_000;

  /** A store on a prefix of its own (an index of its own), recording on a clock the test moves, and a log of what it recorded. */
  function consoleStore(opts: StatusStoreOptions & { ttlDays?: number } = {}) {
    const p = uniquePrefix('console');
    prefixes.push(p);
    const clock = { now: T0 };
    const store = new StatusStore(redis, p, opts.ttlDays ?? 30, { now: () => clock.now, ...opts });
    const log: Array<{ session: string; ms: number; latest: boolean; event: Omit<StatusEvent, 'at'> }> = [];
    /** records at the clock's time; `latest: false` for news the store should keep as history only */
    const record = (session: string, e: Partial<Omit<StatusEvent, 'at'>> & { state: SessionState }, o: { unlessNewer?: boolean; latest?: boolean } = {}) => {
      const event = { version: '2026-03-23T20:16:58.000Z', ticket: null, reason: null, code: null, source: 'test', jobId: null, ...e };
      log.push({ session, ms: clock.now, latest: o.latest ?? true, event });
      return store.record(session, event, { unlessNewer: o.unlessNewer });
    };
    /** each session's latest recorded event, newest first (ties: the greater key first, as Redis orders them) */
    const latest = () => {
      const by = new Map<string, (typeof log)[number]>();
      for (const l of log) if (l.latest) by.set(l.session, l);
      return [...by.values()].sort((a, b) => b.ms - a.ms || (a.session < b.session ? 1 : -1));
    };
    return { store, clock, record, log, latest, prefix: p };
  }

  /** Every page of a search, following `next`. */
  async function allPages(store: StatusStore, q: Omit<SessionQuery, 'cursor'>): Promise<SessionPage[]> {
    const pages: SessionPage[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.search({ ...q, cursor });
      pages.push(page);
      cursor = page.next ?? undefined;
      assert.ok(pages.length < 1000, 'the pages end');
    } while (cursor);
    return pages;
  }

  const STATES: SessionState[] = ['queued', 'delivered', 'retrying', 'failed', 'rejected', 'skipped'];
  const codeFor = (state: SessionState, i: number) => (state === 'failed' ? (i % 2 ? 'TARGET_NOT_FOUND' : 'TARGET_DELETED') : state === 'retrying' ? 'TARGET_BUSY' : state === 'rejected' ? 'INPUT_NOT_JSON' : null);

  it('indexes each session by the time of its latest event: newest first, a time range inclusive at both ends', async () => {
    const { store, clock, record, latest, prefix: p } = consoleStore();
    for (let i = 0; i < 20; i++) {
      clock.now = T0 + i * 1_000;
      await record(`call-${i}`, { state: 'queued' });
    }
    clock.now = T0 + 60_000;
    await record('call-3', { state: 'delivered' });
    const expected = latest();
    assert.equal(expected[0]?.session, 'call-3', 'the session recorded last is the newest');
    const index = await redis.zrevrange(`${p}:status:index`, 0, -1, 'WITHSCORES');
    const pairs = [];
    for (let i = 0; i < index.length; i += 2) pairs.push([index[i], Number(index[i + 1])]);
    assert.deepEqual(
      pairs,
      expected.map((l) => [l.session, l.ms]),
    );
    const all = await store.search({ limit: 100 });
    assert.deepEqual(
      all.items.map((s) => [s.session, s.state, Date.parse(s.at)]),
      expected.map((l) => [l.session, l.event.state, l.ms]),
    );
    assert.deepEqual([all.scanned, all.next, all.truncated], [expected.length, null, false]);
    const from = T0 + 5_000;
    const to = T0 + 9_000;
    const ranged = await store.search({ from, to, limit: 100 });
    assert.deepEqual(
      ranged.items.map((s) => s.session),
      expected.filter((l) => l.ms >= from && l.ms <= to).map((l) => l.session),
    );
    assert.deepEqual(
      ranged.items.map((s) => s.session),
      ['call-9', 'call-8', 'call-7', 'call-6', 'call-5'],
      'both ends included',
    );
    // a page that ends where the range ends says so
    assert.equal((await store.search({ from, to, limit: ranged.items.length })).next, null);
    const first = await store.search({ limit: expected.length - 1 });
    assert.ok(first.next);
    assert.deepEqual(
      (await store.search({ limit: 5, cursor: first.next })).items.map((s) => s.session),
      [expected.at(-1)!.session],
    );
  });

  it('searches by state and code, newest first, a page at a time through `next`, past the scan bound and through sessions of one millisecond', async () => {
    const { store, clock, record, latest } = consoleStore({ scanBound: 10 });
    for (let i = 0; i < 60; i++) {
      clock.now = T0 + i * 1_000;
      const state = STATES[i % STATES.length]!;
      await record(`call-${1000 + i}`, { state, code: codeFor(state, i) });
    }
    // a batch: 30 sessions in one turn, all in one millisecond
    clock.now = T0 + 30_500;
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const state = STATES[i % 4]!;
        return record(`chat-${i}`, { state, code: codeFor(state, i) });
      }),
    );
    const queries: Array<Omit<SessionQuery, 'cursor'>> = [
      { state: 'failed', limit: 4 },
      { state: 'failed', code: 'TARGET_NOT_FOUND', limit: 3 },
      { code: 'TARGET_BUSY', limit: 2 },
      { state: 'queued', from: T0 + 20_000, to: T0 + 40_000, limit: 3 },
      { limit: 7 },
    ];
    for (const q of queries) {
      const want = latest()
        .filter((l) => (!q.state || l.event.state === q.state) && (!q.code || l.event.code === q.code) && l.ms >= (q.from ?? -Infinity) && l.ms <= (q.to ?? Infinity))
        .map((l) => l.session);
      assert.ok(want.length > q.limit, `${JSON.stringify(q)}: more matches than a page`);
      const pages = await allPages(store, q);
      const got = pages.flatMap((pg) => pg.items.map((s) => s.session));
      assert.deepEqual(got, want, JSON.stringify(q));
      for (const pg of pages) {
        assert.ok(pg.items.length <= q.limit);
        assert.ok(pg.scanned <= 10, 'never past the bound');
        if (pg.truncated) assert.ok(pg.items.length < q.limit && pg.next, 'truncated: fewer than a page, and a way on');
      }
      const inRange = latest().filter((l) => l.ms >= (q.from ?? -Infinity) && l.ms <= (q.to ?? Infinity)).length;
      assert.equal(
        pages.reduce((n, pg) => n + pg.scanned, 0),
        inRange,
        'each entry of the range looked at once',
      );
      if (q.state) assert.ok(pages.some((pg) => pg.truncated), `${JSON.stringify(q)}: the bound was reached`);
    }
    await assert.rejects(store.search({ limit: 5, cursor: 'not-a-cursor' }), RangeError);
  });

  it('searches a ticket’s sessions: those whose latest event is on it, by state, a page at a time', async () => {
    const { store, clock, record, latest, prefix: p } = consoleStore();
    const A = '500ak000024vx4uAAA';
    const B = '500ak00001nkg4MAAQ';
    for (let i = 0; i < 9; i++) {
      clock.now = T0 + i * 1_000;
      await record(`call-${i}`, { state: i % 3 ? 'delivered' : 'failed', code: i % 3 ? null : 'TARGET_BUSY', ticket: i < 7 ? A : B });
    }
    // call-2 moves on to B: still in A's set, no longer A's
    clock.now = T0 + 20_000;
    await record('call-2', { state: 'queued', ticket: B });
    const on = (t: string, state?: SessionState) =>
      latest()
        .filter((l) => l.event.ticket === t && (!state || l.event.state === state))
        .map((l) => l.session);
    assert.deepEqual(
      (await store.search({ ticket: A, limit: 50 })).items.map((s) => s.session),
      on(A),
    );
    assert.ok(!on(A).includes('call-2'));
    const pages = await allPages(store, { ticket: A, limit: 2 });
    assert.deepEqual(
      pages.flatMap((pg) => pg.items.map((s) => s.session)),
      on(A),
    );
    assert.ok(pages.length > 2 && pages.every((pg) => !pg.truncated));
    assert.deepEqual(
      (await store.search({ ticket: A, state: 'failed', limit: 50 })).items.map((s) => s.session),
      on(A, 'failed'),
    );
    const b = await store.search({ ticket: B, limit: 50 });
    assert.deepEqual(
      b.items.map((s) => s.session),
      on(B),
    );
    assert.equal(b.items.find((s) => s.session === 'call-2')?.state, 'queued');
    assert.ok((await redis.ttl(`${p}:status:ticket:${A}`)) > 29 * 86_400, 'the ticket set expires with the status');
  });

  it('reads a ticket with more sessions than the scan bound that far, and says it was cut short', async () => {
    const { store, clock, record, prefix: p } = consoleStore({ scanBound: 10 });
    for (let i = 0; i < 25; i++) {
      clock.now = T0 + i * 1_000;
      await record(`call-${3000 + i}`, { state: 'delivered', ticket: 'BUSY' });
    }
    const r = await store.search({ ticket: 'BUSY', limit: 50 });
    assert.equal(r.scanned, 10);
    assert.equal(r.items.length, 10);
    assert.equal(r.truncated, true);
    const all = await new StatusStore(redis, p, 30, { scanBound: 100 }).search({ ticket: 'BUSY', limit: 50 });
    assert.equal(all.items.length, 25);
    assert.equal(all.truncated, false);
  });

  it('leaves out a session whose hash has expired, and drops it from the index', async () => {
    const { store, clock, record, latest, prefix: p } = consoleStore();
    for (let i = 0; i < 5; i++) {
      clock.now = T0 + i * 1_000;
      await record(`call-${i}`, { state: 'delivered' });
    }
    await redis.pexpire(`${p}:status:call-2`, 1);
    await new Promise((r) => setTimeout(r, 20));
    const page = await store.search({ limit: 10 });
    assert.deepEqual(
      page.items.map((s) => s.session),
      latest()
        .map((l) => l.session)
        .filter((s) => s !== 'call-2'),
    );
    assert.equal(page.scanned, 5, 'looked at, then left out');
    assert.equal(await redis.zscore(`${p}:status:index`, 'call-2'), null);
    assert.equal(await redis.zcard(`${p}:status:index`), 4);
  });

  it('counts activity per minute and hour by state, and codes per hour, batches included', async () => {
    const { store, clock, record, log } = consoleStore();
    const at = async (ms: number, n: number, session: (i: number) => string) => {
      clock.now = ms;
      // one turn: a batch (past 256, two script calls)
      await Promise.all(
        Array.from({ length: n }, (_, i) => {
          const state = STATES[i % STATES.length]!;
          return record(session(i), { state, code: codeFor(state, i) });
        }),
      );
    };
    await at(T0 - 25 * 3_600_000, 12, (i) => `call-${i}`); // a day ago and more: not counted
    await at(T0 - 3 * 3_600_000, 30, (i) => `call-${i}`);
    await at(T0 - 61 * 60_000, 7, (i) => `chat-${i}`); // just over an hour ago: the day, not the hour
    await at(T0 - 59 * 60_000, 9, (i) => `chat-${i}`);
    await at(T0 - 5 * 60_000, 20, (i) => `call-${i}`);
    await at(T0, 600, (i) => `call-${i % 200}`);
    // news about an older version: history only, not counted
    clock.now = T0;
    await record('chat-1', { state: 'delivered', version: '2026-03-24T10:00:00.000Z' });
    await record('chat-1', { state: 'failed', code: 'TARGET_BOUNCED', version: '2026-03-20T10:00:00.000Z' }, { unlessNewer: true, latest: false });

    const got = await store.activity(T0);
    const minute0 = Math.floor(T0 / 60_000);
    const hour0 = Math.floor(T0 / 3_600_000);
    const add = (to: Record<string, number>, k: string) => (to[k] = (to[k] ?? 0) + 1);
    const perMinute = Array.from({ length: 60 }, (_, i) => ({ minute: new Date((minute0 - 59 + i) * 60_000).toISOString(), counts: {} as Record<string, number> }));
    const lastHour: Record<string, number> = {};
    const lastDay: Record<string, number> = {};
    const codes: Record<string, number> = {};
    for (const l of log.filter((x) => x.latest)) {
      const m = Math.floor(l.ms / 60_000) - (minute0 - 59);
      if (m >= 0 && m < 60) {
        add(perMinute[m]!.counts, l.event.state);
        add(lastHour, l.event.state);
      }
      if (Math.floor(l.ms / 3_600_000) > hour0 - 24) {
        add(lastDay, l.event.state);
        if (l.event.code) add(codes, l.event.code);
      }
    }
    assert.deepEqual(got.perMinute, perMinute);
    assert.deepEqual(got.lastHour, lastHour);
    assert.deepEqual(got.lastDay, lastDay);
    assert.deepEqual(got.codesLastDay, codes);
    assert.equal(
      Object.values(got.lastHour).reduce((a, b) => a + b, 0),
      600 + 20 + 9 + 1,
      'the batch counted whole',
    );
    assert.equal(got.codesLastDay.TARGET_BOUNCED, undefined, 'history only: not counted');
    assert.equal(got.perMinute.length, 60);
  });

  it('trims index entries older than the status TTL', async () => {
    const { store, clock, record, prefix: p } = consoleStore({ ttlDays: 30 });
    clock.now = T0 - 31 * DAY;
    await record('call-1', { state: 'delivered' });
    clock.now = T0 - 29 * DAY;
    await record('call-2', { state: 'delivered' });
    assert.deepEqual(await redis.zrevrange(`${p}:status:index`, 0, -1), ['call-2', 'call-1'], 'call-1 still within 30 days of the clock then');
    clock.now = T0;
    await record('call-3', { state: 'queued' });
    assert.deepEqual(await redis.zrevrange(`${p}:status:index`, 0, -1), ['call-3', 'call-2']);
    assert.deepEqual(
      (await store.search({ limit: 10 })).items.map((s) => s.session),
      ['call-3', 'call-2'],
    );
  });

  it('news of an older version (unlessNewer, history only) moves nothing: index, ticket set, counters', async () => {
    const { store, clock, record, prefix: p } = consoleStore();
    clock.now = T0;
    await record('call-2', { state: 'delivered', version: '2026-03-24T10:00:00.000Z', ticket: 'T1' });
    clock.now = T0 + 5 * 60_000;
    await record('call-2', { state: 'failed', code: 'TARGET_BOUNCED', version: '2026-03-23T20:16:58.000Z', ticket: 'T2' }, { unlessNewer: true, latest: false });
    assert.equal(Number(await redis.zscore(`${p}:status:index`, 'call-2')), T0);
    assert.equal(await redis.exists(`${p}:status:ticket:T2`), 0);
    const a = await store.activity(T0 + 5 * 60_000);
    assert.deepEqual([a.lastHour, a.codesLastDay], [{ delivered: 1 }, {}]);
    assert.equal((await store.search({ limit: 5, state: 'failed' })).items.length, 0);
    // the same version's news is the latest
    clock.now = T0 + 6 * 60_000;
    await record('call-2', { state: 'failed', code: 'TARGET_BOUNCED', version: '2026-03-24T10:00:00.000Z', ticket: 'T1' }, { unlessNewer: true });
    assert.equal(Number(await redis.zscore(`${p}:status:index`, 'call-2')), T0 + 6 * 60_000);
    assert.deepEqual(
      (await store.search({ limit: 5, state: 'failed' })).items.map((s) => s.session),
      ['call-2'],
    );
    assert.deepEqual((await store.activity(T0 + 6 * 60_000)).codesLastDay, { TARGET_BOUNCED: 1 });
  });
});
