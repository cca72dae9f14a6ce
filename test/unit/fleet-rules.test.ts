import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryStore } from '../../functions/adapters/memory-store.ts';
import { DeadlineExceededError, UpstreamUnavailableError } from '../../functions/core/errors.ts';
import { AuthenticatingElsewhereError, Fleet, KeyRefused, type Authenticated, type FleetOptions } from '../../functions/core/fleet.ts';
import { StoreUnavailableError, type StoredState, type TokenStore } from '../../functions/core/token-store.ts';
import type { Token } from '../../functions/core/token.ts';
import { fakeClock, HOUR } from '../support/clock.ts';

// The edges of each rule of core/fleet.ts, one record at a time: the store is a memory store whose
// record each test writes directly, wrapped to record what the fleet asked of it.
const T0 = Date.parse('2026-11-22T10:00:00.000Z');
const LEASE_MS = 10_000;
const token = (id: string, expiresAt: number): Token => ({ id, expiresAt, tenant: null, defaultRegion: null, catalog: [] });
const EMPTY: StoredState = { revision: 1, token: null, identity: null, confirmedAt: null, unreadable: false, lease: null, backoff: null };

function setup(record: Partial<StoredState> | null, options: Partial<FleetOptions> = {}) {
  const clock = fakeClock(T0);
  const memory = memoryStore();
  if (record) memory.records.set('p', { ...EMPTY, ...record });
  const asked = { reads: 0, acquire: [] as unknown[], fail: [] as unknown[], publish: [] as unknown[] };
  const store: TokenStore = {
    ...memory,
    read: (profile) => (asked.reads++, memory.read(profile)),
    acquire: (profile, input) => (asked.acquire.push(input), memory.acquire(profile, input)),
    fail: (profile, input) => (asked.fail.push(input), memory.fail(profile, input)),
    publish: (profile, input) => (asked.publish.push(input), memory.publish(profile, input)),
  };
  const sleeps: number[] = [];
  let afterSleep = () => {};
  const guards: Array<string | null> = [];
  const fleet = new Fleet({
    store,
    owner: 'me',
    now: clock.now,
    sleep: async (ms) => (sleeps.push(ms), await clock.sleep(ms), afterSleep()),
    random: () => 0.5,
    leaseMs: LEASE_MS,
    backoffFor: () => ({ reason: 'rate-limited', ms: 7_000 }),
    ...options,
  });
  /** Identity: a new 24-hour token ('fresh') after 300 ms. */
  const authenticate = async (guard: { refusedKey: string | null }): Promise<Authenticated> => {
    guards.push(guard.refusedKey);
    await clock.sleep(300);
    return { token: token('fresh', clock.now() + 24 * HOUR), identity: 'id-1' };
  };
  const request = (minTtl = 300, deadline = T0 + 8_000) => ({ minTtl, deadline, knownIdentity: null });
  /** Runs `fn` after each of the fleet's sleeps: another instance writing while this one waits. */
  const onSleep = (fn: () => void) => void (afterSleep = fn);
  return { clock, memory, store, asked, sleeps, guards, fleet, authenticate, request, onSleep };
}
const storeDown = () => new StoreUnavailableError('kms', 'KMS Decrypt AccessDenied');

describe('Class: Fleet (peek)', () => {
  it('peeks at a fresh record: its token, identity and when Identity confirmed it, 0 when never', async () => {
    const t = token('held', T0 + 300_000);
    assert.deepEqual(await setup({ token: t, identity: 'id-1', confirmedAt: T0 - 5_000 }).fleet.peek('p', 300), { token: t, identity: 'id-1', confirmedAt: T0 - 5_000 });
    assert.deepEqual(await setup({ token: t, identity: 'id-1' }).fleet.peek('p', 300), { token: t, identity: 'id-1', confirmedAt: 0 });
  });

  it('peeks nothing when the token is short of minTtl, has no identity, or is absent', async () => {
    const t = token('held', T0 + 300_000);
    assert.equal(await setup({ token: t, identity: 'id-1' }).fleet.peek('p', 301), null);
    assert.equal(await setup({ token: t, identity: null }).fleet.peek('p', 300), null);
    assert.equal(await setup({ identity: 'id-1' }).fleet.peek('p', 300), null);
  });

  it('opens the circuit when the store fails: null, the reason as fallback, and no store call until it closes', async () => {
    const s = setup({ token: token('held', T0 + HOUR), identity: 'id-1' });
    s.store.read = async () => (s.asked.reads++, Promise.reject(storeDown()));
    assert.equal(s.fleet.fallback, null);
    assert.equal(await s.fleet.peek('p', 300), null);
    assert.equal(s.fleet.fallback, 'kms: KMS Decrypt AccessDenied');
    assert.deepEqual([await s.fleet.peek('p', 300), await s.fleet.holds('p', token('held', 0)), s.asked.reads], [null, null, 1]);
  });

  it('lets any other error of the store through, and keeps the circuit closed', async () => {
    const s = setup(null);
    const bug = new TypeError('bug in the adapter');
    s.store.read = async () => Promise.reject(bug);
    await assert.rejects(s.fleet.peek('p', 300), (e) => e === bug);
    await assert.rejects(s.fleet.holds('p', token('x', 0)), (e) => e === bug);
    await assert.rejects(s.fleet.obtain('p', s.request(), s.authenticate), (e) => e === bug);
    assert.deepEqual([s.fleet.fallback, s.guards], [null, []]);
  });
});

describe('Class: Fleet (holds)', () => {
  it('says whether the record holds this token: null without a record or when unreadable, false when it holds another or none', async () => {
    const mine = token('mine', T0 + HOUR);
    assert.equal(await setup(null).fleet.holds('p', mine), null);
    assert.equal(await setup({ token: mine, unreadable: true }).fleet.holds('p', mine), null);
    assert.equal(await setup({ token: mine, identity: 'id-1' }).fleet.holds('p', mine), true);
    assert.equal(await setup({ token: token('other', T0 + HOUR), identity: 'id-1' }).fleet.holds('p', mine), false);
    assert.equal(await setup({ revision: 3 }).fleet.holds('p', mine), false);
  });

  it('answers null and opens the circuit when the store fails', async () => {
    const s = setup(null);
    s.store.read = async () => Promise.reject(storeDown());
    assert.deepEqual([await s.fleet.holds('p', token('x', 0)), s.fleet.fallback], [null, 'kms: KMS Decrypt AccessDenied']);
  });

  it("reads the record for a flush even while the circuit is open, and lets the store's failure through (unknown is not none)", async () => {
    const held = token('held', T0 + HOUR);
    const s = setup({ token: held, identity: 'id-1' });
    const read = s.store.read;
    s.store.read = async () => Promise.reject(storeDown());
    await s.fleet.peek('p', 300);
    assert.equal(s.fleet.fallback, 'kms: KMS Decrypt AccessDenied', 'the circuit is open');
    await assert.rejects(s.fleet.record('p'), StoreUnavailableError);
    s.store.read = read;
    assert.deepEqual(await s.fleet.record('p'), { held: { token: held, identity: 'id-1' }, unreadable: false });
    assert.deepEqual(await setup({ token: held, unreadable: true }).fleet.record('p'), { held: null, unreadable: true });
  });

  it('drops the token the flush revoked, and only that one: another published since stays', async () => {
    const held = token('held', T0 + HOUR);
    const s = setup({ token: held, identity: 'id-1' });
    assert.equal(await s.fleet.drop('p', { token: token('held', T0 + 2 * HOUR), identity: 'id-1' }), false);
    assert.equal(await s.fleet.drop('p', { token: held, identity: 'id-2' }), false);
    assert.equal((await s.memory.read('p')).token?.id, 'held');
    assert.equal(await s.fleet.drop('p', { token: held, identity: 'id-1' }), true);
    assert.equal((await s.memory.read('p')).token, null);
  });
});

describe('Class: Fleet (obtain from the record)', () => {
  it('answers a fresh record with its token and identity, and an empty identity when the record names none', async () => {
    const held = token('held', T0 + HOUR);
    const answer = (record: Partial<StoredState>) => setup(record).fleet.obtain('p', { minTtl: 300, deadline: T0 + 8_000, knownIdentity: null }, async () => assert.fail('asked Identity'));
    assert.deepEqual(await answer({ token: held, identity: 'id-1' }), { token: held, identity: 'id-1', source: 'table', fallback: null });
    assert.deepEqual(await answer({ token: held }), { token: held, identity: '', source: 'table', fallback: null });
  });

  it('serves a short token Identity confirmed lately only while it still has 60 s, and never one it did not confirm', async () => {
    const floor = setup({ token: token('short', T0 + 60_000), identity: 'id-1', confirmedAt: T0 - 1_000 });
    const served = await floor.fleet.obtain('p', floor.request(), floor.authenticate);
    assert.deepEqual([served.token.id, served.degradedBecause], ['short', 'identity re-issued this token moments ago']);
    const under = setup({ token: token('short', T0 + 59_999), identity: 'id-1', confirmedAt: T0 - 1_000 });
    assert.equal((await under.fleet.obtain('p', under.request(), under.authenticate)).token.id, 'fresh');
    const unconfirmed = setup({ token: token('short', T0 + 120_000), identity: 'id-1', confirmedAt: null });
    assert.equal((await unconfirmed.fleet.obtain('p', unconfirmed.request(), unconfirmed.authenticate)).token.id, 'fresh');
  });

  it('never takes a record Identity did not confirm for one confirmed at time 0, even on a clock near the epoch', async () => {
    const s = setup({ token: token('short', 150_000), identity: 'id-1', confirmedAt: null }, { now: () => 30_000 });
    const answer = await s.fleet.obtain('p', { minTtl: 300, deadline: 38_000, knownIdentity: null }, async () => ({ token: token('fresh', 30_000 + HOUR), identity: 'id-1' }));
    assert.deepEqual([answer.token.id, answer.source], ['fresh', 'identity']);
  });

  it("answers the fleet's backoff as Retry-After in whole seconds, at least 1, and asks again when it ends", async () => {
    const backoff = (until: number, reason: 'unavailable' | 'rate-limited' = 'unavailable') => ({ backoff: { until, reason, refusedKey: null } });
    const during = setup(backoff(T0 + 15_001));
    await assert.rejects(during.fleet.obtain('p', during.request(), during.authenticate), (e: unknown) => {
      assert.ok(e instanceof UpstreamUnavailableError && !(e instanceof DeadlineExceededError));
      assert.deepEqual([e.message, e.retryAfterSeconds, e.retryAfterGiven, e.upstream], ['Rackspace Identity is unavailable (the fleet is backing off); try again shortly.', 16, true, 'identity']);
      return true;
    });
    const last = setup(backoff(T0 + 500, 'rate-limited'));
    await assert.rejects(last.fleet.obtain('p', last.request(), last.authenticate), (e: unknown) => e instanceof UpstreamUnavailableError && e.retryAfterSeconds === 1);
    const ended = setup(backoff(T0));
    assert.deepEqual([(await ended.fleet.obtain('p', ended.request(), ended.authenticate)).token.id, ended.guards], ['fresh', [null]]);
  });

  it("tells the holder a refused key's fingerprint until the refusal expires, without backing off", async () => {
    const refused = (until: number) => ({ backoff: { until, reason: 'refused' as const, refusedKey: 'fp-old' } });
    const live = setup(refused(T0 + 1));
    assert.equal((await live.fleet.obtain('p', live.request(), live.authenticate)).source, 'identity');
    const expired = setup(refused(T0));
    await expired.fleet.obtain('p', expired.request(), expired.authenticate);
    assert.deepEqual([live.guards, expired.guards], [['fp-old'], [null]]);
  });

  it('tries again from a fresh read when another instance wrote between its read and its lease', async () => {
    const s = setup(null);
    const acquire = s.store.acquire;
    let lost = false;
    s.store.acquire = async (profile, input) => (lost ? acquire(profile, input) : ((lost = true), s.asked.acquire.push(input), false));
    const answer = await s.fleet.obtain('p', s.request(), s.authenticate);
    assert.deepEqual([answer.token.id, s.guards.length, s.asked.acquire, s.asked.reads], ['fresh', 1, [{ owner: 'me', until: T0 + LEASE_MS, revision: 0 }, { owner: 'me', until: T0 + LEASE_MS, revision: 0 }], 2]);
  });
});

describe('Class: Fleet (leases)', () => {
  const lease = (owner: string, until: number) => ({ lease: { owner, until } });

  it("takes over at once a lease its own owner name left behind (a previous life of this instance)", async () => {
    const s = setup(lease('me', T0 + 5_000));
    assert.deepEqual([(await s.fleet.obtain('p', s.request(), s.authenticate)).source, s.sleeps], ['identity', []]);
  });

  it('takes a lease over at once only when its expiry is more than 5 minutes (the skew allowance) past', async () => {
    const dead = setup(lease('other', T0 - 300_001));
    assert.deepEqual([(await dead.fleet.obtain('p', dead.request(), dead.authenticate)).source, dead.sleeps], ['identity', []]);
    const edge = setup(lease('other', T0 - 300_000));
    assert.deepEqual([(await edge.fleet.obtain('p', edge.request(), edge.authenticate)).source, edge.sleeps], ['identity', [100]]);
  });

  it('polls every 100 ms by default (jittered by random) until 50 ms before its deadline and answers 503 with Retry-After when its lease ends, at most a lease period away', async () => {
    const far = setup(lease('other', T0 + HOUR));
    await assert.rejects(far.fleet.obtain('p', far.request(300, T0 + 1_000), far.authenticate), (e: unknown) => {
      assert.ok(e instanceof AuthenticatingElsewhereError && e instanceof DeadlineExceededError);
      assert.deepEqual([e.message, e.retryAfterSeconds, e.upstream], ['Rackspace Identity is unavailable (another instance is authenticating); try again shortly.', 10, 'identity']);
      return true;
    });
    assert.deepEqual([far.sleeps.length, new Set(far.sleeps)], [9, new Set([100])]);
    const lapsed = setup(lease('other', T0 - 1_000), { random: () => 0 });
    await assert.rejects(lapsed.fleet.obtain('p', lapsed.request(300, T0), lapsed.authenticate), (e: unknown) => e instanceof AuthenticatingElsewhereError && e.retryAfterSeconds === 1);
  });

  it('serves its valid token degraded rather than 503 when its time runs out waiting on another holder', async () => {
    const held = token('short', T0 + 120_000);
    const s = setup({ ...lease('other', T0 + 5_000), token: held, identity: 'id-1' });
    assert.deepEqual(await s.fleet.obtain('p', s.request(300, T0), s.authenticate), { token: held, identity: 'id-1', source: 'table', fallback: null, degradedBecause: 'another instance is authenticating' });
  });

  for (const [what, renewed] of [['renewed', { owner: 'other', until: T0 + 20_000 }], ['handed to another owner', { owner: 'third', until: T0 + 1_000 }]] as const) {
    it(`counts a takeover period of watching afresh when the lease is ${what}`, async () => {
      const s = setup(lease('other', T0 + 1_000), { pollMs: 1_000, takeoverMs: LEASE_MS });
      s.onSleep(() => s.clock.now() === T0 + 5_000 && s.memory.records.set('p', { ...EMPTY, revision: 2, lease: renewed }));
      let tookOverAt = 0;
      await s.fleet.obtain('p', s.request(300, T0 + 60_000), async () => ((tookOverAt = s.clock.now()), { token: token('t', T0 + HOUR), identity: 'id-1' }));
      assert.equal(tookOverAt, T0 + 15_000);
    });
  }
  it('forgets a lease it watched once it holds the lease itself, so the same lease written again (a clock behind) is watched afresh', async () => {
    const s = setup(lease('b', T0 + 1_000), { pollMs: 1_000, takeoverMs: LEASE_MS });
    const tookOver: number[] = [];
    const authenticate = async () => (tookOver.push(s.clock.now()), { token: token('t', T0 + HOUR), identity: 'id-1' });
    await s.fleet.obtain('p', s.request(300, T0 + 60_000), authenticate);
    s.memory.records.set('p', { ...EMPTY, revision: 9, lease: { owner: 'b', until: T0 + 1_000 } });
    await s.fleet.obtain('p', s.request(300, T0 + 60_000), authenticate);
    assert.deepEqual(tookOver, [T0 + 10_000, T0 + 20_000]);
  });

  it('stops counting itself the holder when its authentication ends, so a lease it could not release is taken over at once', async () => {
    const s = setup(null);
    s.store.fail = async () => Promise.reject(new TypeError('bug in the adapter'));
    await assert.rejects(s.fleet.obtain('p', s.request(), async () => Promise.reject(new Error('outage'))), /outage/);
    assert.equal((await s.memory.read('p')).lease?.owner, 'me');
    const answer = await s.fleet.obtain('p', s.request(), s.authenticate);
    assert.deepEqual([answer.source, s.sleeps], ['identity', []]);
  });
});

describe('Class: Fleet (what the holder writes)', () => {
  it('publishes the token with its identity and the time Identity answered', async () => {
    const s = setup(null);
    const answer = await s.fleet.obtain('p', s.request(), s.authenticate);
    assert.deepEqual(answer, { token: token('fresh', T0 + 300 + 24 * HOUR), identity: 'id-1', source: 'identity', fallback: null });
    assert.deepEqual(s.asked.publish, [{ owner: 'me', token: answer.token, identity: 'id-1', confirmedAt: T0 + 300 }]);
  });

  it("records a refusal for 24 h by default, Identity's failure for backoffFor's time, and otherwise releases the lease at once", async () => {
    const refusal = new Error('refused');
    const outage = new Error('outage');
    const fail = async (thrown: unknown, backoffFor: FleetOptions['backoffFor']) => {
      const s = setup(null, { backoffFor });
      await assert.rejects(s.fleet.obtain('p', s.request(), async () => (await s.clock.sleep(300), Promise.reject(thrown))), (e) => e === (thrown instanceof KeyRefused ? thrown.original : thrown));
      return s.asked.fail;
    };
    assert.deepEqual(await fail(new KeyRefused('fp-1', refusal), () => assert.fail('no backoff asked for a refusal')), [{ owner: 'me', backoff: { until: T0 + 300 + 24 * HOUR, reason: 'refused', refusedKey: 'fp-1' } }]);
    assert.deepEqual(await fail(outage, (e) => (e === outage ? { reason: 'rate-limited', ms: 7_000 } : null)), [{ owner: 'me', backoff: { until: T0 + 7_300, reason: 'rate-limited', refusedKey: null } }]);
    assert.deepEqual(await fail(outage, () => null), [{ owner: 'me', backoff: { until: T0 + 300, reason: 'unavailable', refusedKey: null } }]);
  });

  it('remembers a refusal for refusedMs when given', async () => {
    const s = setup(null, { refusedMs: 60_000 });
    await assert.rejects(s.fleet.obtain('p', s.request(), async () => Promise.reject(new KeyRefused('fp-1', new Error('refused')))));
    assert.deepEqual((await s.memory.read('p')).backoff, { until: T0 + 60_000, reason: 'refused', refusedKey: 'fp-1' });
  });

  it("still answers when writing the outcome fails; only the store's own failure opens the circuit", async () => {
    const published = setup(null);
    published.store.publish = async () => Promise.reject(storeDown());
    assert.deepEqual([(await published.fleet.obtain('p', published.request(), published.authenticate)).token.id, published.fleet.fallback], ['fresh', 'kms: KMS Decrypt AccessDenied']);
    const outage = new Error('outage');
    const failed = setup(null);
    failed.store.fail = async () => Promise.reject(storeDown());
    await assert.rejects(failed.fleet.obtain('p', failed.request(), async () => Promise.reject(outage)), (e) => e === outage);
    const other = setup(null);
    other.store.fail = async () => Promise.reject(new TypeError('bug in the adapter'));
    await assert.rejects(other.fleet.obtain('p', other.request(), async () => Promise.reject(outage)), (e) => e === outage);
    assert.deepEqual([failed.fleet.fallback, other.fleet.fallback], ['kms: KMS Decrypt AccessDenied', null]);
  });
});

describe('Class: Fleet (alone, while the circuit is open)', () => {
  it('authenticates without a refused key, names the fallback, and throws what Identity threw, a refusal unwrapped', async () => {
    const s = setup(null);
    s.store.read = async () => Promise.reject(storeDown());
    const first = await s.fleet.obtain('p', s.request(), s.authenticate);
    assert.deepEqual([first.source, first.fallback, s.guards], ['identity', 'kms: KMS Decrypt AccessDenied', [null]]);
    const refusal = new Error('refused');
    await assert.rejects(s.fleet.obtain('p', s.request(), async () => Promise.reject(new KeyRefused('fp', refusal))), (e) => e === refusal);
    const outage = new Error('outage');
    await assert.rejects(s.fleet.obtain('p', s.request(), async () => Promise.reject(outage)), (e) => e === outage);
  });
});
