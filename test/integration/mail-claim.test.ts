// The e-mail target's claim on a version being sent (src/store/mail-store.ts), against the real
// Redis: a lease renewed while the send is in flight, so a claim left by a process that died
// lapses within the lease (and the next attempt knows the earlier one was interrupted), while
// a live holder's claim is never taken over. Leases of a fraction of a second; every wait is
// several leases long, or polls.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { MailStore } from '../../src/store/mail-store.ts';
import type { SessionVersion } from '../../src/store/mail-store.ts';
import { TEST_REDIS_URL, dropPrefix, uniquePrefix, waitFor } from '../helpers/env.ts';

const LEASE_MS = 600;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('the e-mail claim (a lease)', () => {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  const prefixes: string[] = [];
  const store = () => {
    const prefix = uniquePrefix('mailclaim');
    prefixes.push(prefix);
    return new MailStore(redis, prefix, { claimLeaseMs: LEASE_MS });
  };
  const v1Ms = Date.parse('2026-03-23T20:16:58Z');
  const v2Ms = Date.parse('2026-03-23T21:02:10Z');
  const id = (ms: number) => `<ccai.call-1418.${ms}@contact.example.com>`;
  const version = (ms: number): SessionVersion => ({ ticketId: '500ak000024vx4uAAA', sessionKey: 'call-1418', ms });
  const record = (ms: number) => ({ sessionKey: 'call-1418', version: new Date(ms).toISOString(), ticketId: '500ak000024vx4uAAA', jobId: null, sentAt: new Date().toISOString() });

  after(async () => {
    for (const p of prefixes) await dropPrefix(p);
    redis.disconnect();
  });

  it('a claim whose holder died lapses after the lease: the next attempt takes it over, told the earlier one was interrupted', async () => {
    const s = store();
    assert.deepEqual(await s.claim(id(v1Ms), version(v1Ms)), { state: 'claimed', interrupted: false });
    // the holder "dies": it never renews. Within the lease, another attempt is told to wait.
    const early = await s.claim(id(v1Ms), version(v1Ms));
    assert.equal(early.state, 'sending');
    assert.ok(early.state === 'sending' && early.leaseLeftMs > 0 && early.leaseLeftMs <= LEASE_MS, `lease left: ${JSON.stringify(early)}`);
    assert.equal(await s.sent(id(v1Ms)), null, 'a version being sent is not sent');
    // after the lease: taken over (not a 15-minute wait), and said to be an interrupted one
    const taken = await waitFor('the claim lapses', async () => {
      const c = await s.claim(id(v1Ms), version(v1Ms));
      return c.state === 'claimed' ? c : null;
    }, 10 * LEASE_MS, 50);
    assert.deepEqual(taken, { state: 'claimed', interrupted: true });
    // the new holder's claim is live in its turn
    assert.equal((await s.claim(id(v1Ms), version(v1Ms))).state, 'sending');
  });

  it("a live holder's claim is renewed past the lease and not taken over; once sent, it reads as sent", async () => {
    const s = store();
    const mine = version(v1Ms);
    assert.equal((await s.claim(id(v1Ms), mine)).state, 'claimed');
    let lost = false;
    const hold = s.holdClaim(id(v1Ms), mine, () => (lost = true));
    try {
      // three leases long, another attempt (of this version, and of a newer one) keeps waiting
      const until = Date.now() + 3 * LEASE_MS;
      while (Date.now() < until) {
        const other = await s.claim(id(v1Ms), version(v1Ms));
        assert.equal(other.state, 'sending', 'not taken over while renewed');
        assert.equal((await s.claim(id(v2Ms), version(v2Ms))).state, 'busy', 'one version of a session at a time');
        await sleep(LEASE_MS / 6);
      }
    } finally {
      hold.stop();
    }
    assert.equal(lost, false);
    await s.markSent(id(v1Ms), record(v1Ms), mine);
    const again = await s.claim(id(v1Ms), version(v1Ms));
    assert.equal(again.state, 'sent');
    assert.equal((await s.sent(id(v1Ms)))?.sessionKey, 'call-1418');
    // the session's lock went with the mark: the newer version is free at once
    assert.deepEqual(await s.claim(id(v2Ms), version(v2Ms)), { state: 'claimed', interrupted: false });
  });

  it('another version of the session waits only while the holder lives: its lock lapses with the lease', async () => {
    const s = store();
    assert.equal((await s.claim(id(v1Ms), version(v1Ms))).state, 'claimed');
    assert.equal((await s.claim(id(v2Ms), version(v2Ms))).state, 'busy');
    // v1's holder died: v2 goes after the lease, as a first attempt of its own
    const v2 = version(v2Ms);
    const c = await waitFor('the lock lapses', async () => {
      const r = await s.claim(id(v2Ms), v2);
      return r.state === 'busy' ? null : r;
    }, 10 * LEASE_MS, 50);
    assert.deepEqual(c, { state: 'claimed', interrupted: false });
    await s.markSent(id(v2Ms), record(v2Ms), v2);
    // v1 run again: the newer version is on the ticket
    assert.deepEqual(await s.claim(id(v1Ms), version(v1Ms)), { state: 'superseded', newestMs: v2Ms });
  });

  it('an attempt whose claim was taken over can neither renew nor release the new holder\'s', async () => {
    const s = store();
    const old = version(v1Ms);
    assert.equal((await s.claim(id(v1Ms), old)).state, 'claimed');
    const next = version(v1Ms);
    await waitFor('taken over', async () => (await s.claim(id(v1Ms), next)).state === 'claimed', 10 * LEASE_MS, 50);
    // the old attempt comes back to life (it froze, it was not dead)
    let lost = false;
    const hold = s.holdClaim(id(v1Ms), old, () => (lost = true));
    await waitFor('the old attempt learns it lost the claim', async () => lost, 10 * LEASE_MS, 20);
    hold.stop();
    await s.release(id(v1Ms), old);
    assert.equal((await s.claim(id(v1Ms), version(v1Ms))).state, 'sending', 'the new holder still holds it');
    // a holder that missed its renewals while nobody took over takes its lease back
    await sleep(2 * LEASE_MS);
    const nextHold = s.holdClaim(id(v1Ms), next, () => assert.fail('not lost: nobody took it over'));
    try {
      await sleep(LEASE_MS);
      assert.equal((await s.claim(id(v1Ms), version(v1Ms))).state, 'sending', 'renewed');
    } finally {
      nextHold.stop();
    }
  });
});
