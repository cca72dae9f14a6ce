import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryStore } from '../../functions/adapters/memory-store.ts';
import { CredentialsUnusableError, UpstreamUnavailableError } from '../../functions/core/errors.ts';
import { Fleet, KeyRefused, type Authenticated, type FleetOptions } from '../../functions/core/fleet.ts';
import { aloneTier } from '../../functions/core/shared-tier.ts';
import { StoreUnavailableError, type TokenStore } from '../../functions/core/token-store.ts';
import type { Token } from '../../functions/core/token.ts';
import { fakeClock, HOUR, MINUTE } from '../support/clock.ts';

const LEASE_MS = 10_000;
const token = (id: string, expiresAt: number): Token => ({ id, expiresAt, tenant: null, defaultRegion: null, catalog: [] });

/** One shared store and clock; `instance()` is a new execution environment (its own Fleet, maybe a skewed clock). */
function world() {
  const clock = fakeClock();
  const store = memoryStore();
  let calls = 0;
  let issued = 0;
  /** What Identity does: by default a new 24-hour token after 300 ms. */
  let identity = async (): Promise<Authenticated> => {
    calls++;
    await clock.sleep(300);
    return { token: token(`t${++issued}`, clock.now() + 24 * HOUR), identity: 'id-1' };
  };
  const instance = (options: { skewMs?: number; store?: TokenStore; owner?: string } & Partial<FleetOptions> = {}) => {
    const now = () => clock.now() + (options.skewMs ?? 0);
    return new Fleet({
      store: options.store ?? store,
      owner: options.owner ?? `i-${Math.random()}`,
      now,
      sleep: clock.sleep,
      random: () => 0.5,
      leaseMs: LEASE_MS,
      backoffFor: (error) => (error instanceof UpstreamUnavailableError ? { reason: 'unavailable', ms: error.retryAfterSeconds * 1000 } : null),
      ...options,
    });
  };
  const request = (minTtl = 300, skewMs = 0) => ({ minTtl, deadline: clock.now() + skewMs + 8_000, knownIdentity: null });
  return {
    clock,
    store,
    instance,
    request,
    authenticate: () => identity(),
    setIdentity: (fn: typeof identity) => void (identity = fn),
    calls: () => calls,
  };
}

describe('Class: Fleet', () => {
  describe('Method: obtain', () => {
    it('answers from the shared record without authenticating when it holds a fresh token', async () => {
      const w = world();
      const first = await w.instance().obtain('p', w.request(), w.authenticate);
      w.clock.advance(HOUR);
      const second = await w.instance().obtain('p', w.request(), w.authenticate);
      assert.deepEqual([first.source, second.source, second.token.id, w.calls()], ['identity', 'table', 't1', 1]);
    });

    it('lets one of 20 cold instances asking at once authenticate; the others wait for its token', async () => {
      const w = world();
      const answers = await Promise.all(Array.from({ length: 20 }, () => w.instance().obtain('p', w.request(), w.authenticate)));
      assert.equal(w.calls(), 1);
      assert.deepEqual(new Set(answers.map((a) => a.token.id)), new Set(['t1']));
      assert.deepEqual(answers.map((a) => a.source).sort(), ['identity', ...Array(19).fill('table')]);
    });

    it('renews a stale token through one holder, and never serves a token short of minTtl while Identity has not confirmed it lately', async () => {
      const w = world();
      await w.instance().obtain('p', w.request(), w.authenticate);
      w.clock.advance(24 * HOUR - 200_000);
      const renewed = await w.instance().obtain('p', w.request(300), w.authenticate);
      assert.deepEqual([renewed.source, renewed.token.id, w.calls()], ['identity', 't2', 2]);
    });

    it('serves a token Identity re-issued moments ago degraded, fleet-wide, instead of asking again (no loop)', async () => {
      const w = world();
      w.setIdentity(async () => ({ token: token('short', w.clock.now() + 30 * MINUTE), identity: 'id-1' }));
      await w.instance().obtain('p', w.request(3600), w.authenticate);
      w.clock.advance(10_000);
      const other = await w.instance().obtain('p', w.request(3600), w.authenticate);
      assert.deepEqual([other.source, other.degradedBecause, w.calls()], ['table', 'identity re-issued this token moments ago', 0]);
    });

    it('writes the holder\'s Identity failure as the fleet\'s backoff; during it nobody asks, even with a valid token (the memory cache degrades)', async () => {
      const w = world();
      await w.instance().obtain('p', w.request(), w.authenticate);
      w.clock.advance(24 * HOUR - 200_000);
      const outage = new UpstreamUnavailableError('Rackspace Identity is unavailable (HTTP 503)', 30, { upstream: 'identity' });
      w.setIdentity(async () => {
        throw outage;
      });
      await assert.rejects(w.instance().obtain('p', w.request(), w.authenticate), (e) => e === outage);
      assert.equal((await w.store.read('p')).backoff?.until, w.clock.now() + 30_000);
      let asked = false;
      w.setIdentity(async () => ((asked = true), { token: token('t9', w.clock.now() + 24 * HOUR), identity: 'id-1' }));
      await assert.rejects(
        w.instance().obtain('p', w.request(), w.authenticate),
        (e: unknown) => e instanceof UpstreamUnavailableError && e.retryAfterGiven && e.retryAfterSeconds === 30,
      );
      assert.equal(asked, false);
    });

    it('answers 503 with the backoff as Retry-After when there is no valid token, and asks again once it has passed', async () => {
      const w = world();
      w.setIdentity(async () => {
        throw new UpstreamUnavailableError('Rackspace Identity is unavailable (rate limited, HTTP 413)', 20, { upstream: 'identity' });
      });
      await assert.rejects(w.instance().obtain('p', w.request(), w.authenticate), /rate limited/);
      let calls = 0;
      w.setIdentity(async () => (calls++, { token: token('t2', w.clock.now() + 24 * HOUR), identity: 'id-1' }));
      w.clock.advance(5_000);
      await assert.rejects(w.instance().obtain('p', w.request(), w.authenticate), (e: unknown) => e instanceof UpstreamUnavailableError && e.retryAfterSeconds === 15);
      assert.equal(calls, 0, 'nobody asks Identity during the backoff');
      w.clock.advance(15_000);
      assert.equal((await w.instance().obtain('p', w.request(), w.authenticate)).token.id, 't2');
    });

    it('remembers a refused key for the fleet: the next holder is told its fingerprint, the caller sees the original error', async () => {
      const w = world();
      const refusal = new CredentialsUnusableError('Rackspace Identity rejected the custodied credentials (HTTP 401).', { upstream: 'identity' });
      w.setIdentity(async () => {
        throw new KeyRefused('fp-old', refusal);
      });
      await assert.rejects(w.instance().obtain('p', w.request(), w.authenticate), (e) => e === refusal);
      const guards: Array<string | null> = [];
      const other = await w.instance().obtain('p', w.request(), async (guard) => {
        guards.push(guard.refusedKey);
        return { token: token('t2', w.clock.now() + 24 * HOUR), identity: 'id-1' };
      });
      assert.deepEqual([guards, other.token.id, (await w.store.read('p')).backoff], [['fp-old'], 't2', null]);
    });

    it('when the holder dies mid-authentication: waiters answer 503 within their deadline, and one takes over after a lease period', async () => {
      const w = world();
      await w.store.acquire('p', { owner: 'dead', until: w.clock.now() + LEASE_MS, revision: 0 });
      const waiter = w.instance({ takeoverMs: LEASE_MS });
      await assert.rejects(waiter.obtain('p', w.request(), w.authenticate), (e: unknown) => e instanceof UpstreamUnavailableError && e.retryAfterSeconds >= 1 && e.retryAfterSeconds <= 10);
      assert.equal(w.calls(), 0);
      w.clock.advance(LEASE_MS);
      const next = await waiter.obtain('p', w.request(), w.authenticate);
      assert.deepEqual([next.source, w.calls()], ['identity', 1]);
    });

    for (const skewMs of [2 * MINUTE, -2 * MINUTE]) {
      it(`keeps one holder with clocks ${skewMs > 0 ? '2 min ahead' : '2 min behind'}: a skewed instance neither steals a live lease before its takeover period nor waits past it`, async () => {
        const w = world();
        let release: () => void = () => {};
        const holding = new Promise<void>((resolve) => (release = resolve));
        w.setIdentity(async () => {
          await holding;
          return { token: token('t1', w.clock.now() + 24 * HOUR), identity: 'id-1' };
        });
        const holder = w.instance().obtain('p', w.request(), w.authenticate);
        await new Promise((resolve) => setImmediate(resolve));
        let stolen = false;
        const skewed = w.instance({ skewMs, takeoverMs: LEASE_MS }).obtain('p', w.request(300, skewMs), async () => ((stolen = true), { token: token('x', w.clock.now() + 24 * HOUR), identity: 'id-1' }));
        await assert.rejects(skewed, UpstreamUnavailableError);
        release();
        await holder;
        const after = await w.instance({ skewMs }).obtain('p', w.request(300, skewMs), w.authenticate);
        assert.deepEqual([stolen, after.token.id, after.source], [false, 't1', 'table']);
      });
    }

    it('never serves a record issued to another identity than the secret this instance knows', async () => {
      const w = world();
      await w.instance().obtain('p', w.request(), w.authenticate);
      w.setIdentity(async () => ({ token: token('other-user', w.clock.now() + 24 * HOUR), identity: 'id-2' }));
      const answer = await w.instance().obtain('p', { ...w.request(), knownIdentity: 'id-2' }, w.authenticate);
      assert.deepEqual([answer.token.id, (await w.store.read('p')).identity], ['other-user', 'id-2']);
    });

    it('falls back to authenticating alone when the store fails, keeps the circuit open 30 s, then uses the store again', async () => {
      const w = world();
      let failing = true;
      let reads = 0;
      const flaky: TokenStore = {
        ...w.store,
        read: async (profile) => {
          reads++;
          if (failing) throw new StoreUnavailableError('dynamodb', 'DynamoDB GetItem ThrottlingException (HTTP 400)');
          return w.store.read(profile);
        },
      };
      const fleet = w.instance({ store: flaky });
      const first = await fleet.obtain('p', w.request(), w.authenticate);
      assert.deepEqual([first.source, first.fallback], ['identity', 'dynamodb: DynamoDB GetItem ThrottlingException (HTTP 400)']);
      failing = false;
      w.clock.advance(29_000);
      assert.equal((await fleet.obtain('p', w.request(), w.authenticate)).fallback, 'dynamodb: DynamoDB GetItem ThrottlingException (HTTP 400)');
      assert.equal(reads, 1, 'no store call while the circuit is open');
      w.clock.advance(1_000);
      const again = await fleet.obtain('p', w.request(), w.authenticate);
      assert.deepEqual([again.fallback, reads], [null, 2]);
    });
  });
});

describe('Class: Fleet (a write whose answer is lost or never comes)', () => {
  const lost = () => new StoreUnavailableError('dynamodb', 'DynamoDB UpdateItem TimeoutError');

  it('acts as the holder when its lease write lands but the answer is lost: it publishes, so the next instance is served from the table', async () => {
    const w = world();
    const lossy: TokenStore = { ...w.store, acquire: async (profile, input) => (await w.store.acquire(profile, input), Promise.reject(lost())) };
    const first = await w.instance({ store: lossy }).obtain('p', w.request(), w.authenticate);
    const next = await w.instance().obtain('p', w.request(), w.authenticate);
    assert.deepEqual([first.source, next.source, next.token.id, w.calls()], ['identity', 'table', first.token.id, 1]);
    assert.equal((await w.store.read('p')).lease, null, 'no lease left behind');
  });

  it('recognises by one read that its lease write did not land, and waits on the instance that took the lease: no extra Identity call', async () => {
    const w = world();
    const other = w.instance();
    let racing: Promise<unknown> = Promise.resolve();
    const failing: TokenStore = { ...w.store, acquire: async () => ((racing = other.obtain('p', w.request(), w.authenticate)), Promise.reject(lost())) };
    const first = await w.instance({ store: failing }).obtain('p', w.request(), w.authenticate);
    await racing;
    assert.deepEqual([first.source, w.calls()], ['table', 1]);
  });

  it('acts as the holder when neither its lease write nor the read after it answers, and then costs one extra Identity call, not a 503', async () => {
    const w = world();
    const other = w.instance();
    let racing: Promise<unknown> = Promise.resolve();
    let reads = 0;
    const failing: TokenStore = {
      ...w.store,
      read: async (profile) => (++reads === 2 ? Promise.reject(lost()) : w.store.read(profile)),
      acquire: async () => ((racing = other.obtain('p', w.request(), w.authenticate)), Promise.reject(lost())),
    };
    const first = await w.instance({ store: failing }).obtain('p', w.request(), w.authenticate);
    await racing;
    assert.deepEqual([first.source, w.calls(), reads], ['identity', 2, 2]);
  });

  it('stays the holder, not alone, when neither its lease write nor the read after it answers: the circuit stays closed', async () => {
    const w = world();
    let reads = 0;
    const failing: TokenStore = {
      ...w.store,
      read: async (profile) => (++reads === 2 ? Promise.reject(lost()) : w.store.read(profile)),
      acquire: async () => Promise.reject(lost()),
    };
    const first = await w.instance({ store: failing }).obtain('p', w.request(), w.authenticate);
    assert.deepEqual([first.source, first.fallback], ['identity', null]);
  });

  it('publishes again under the lease it wrote when the write landed, the read after it failed and the first publish was reset', async () => {
    const w = world();
    let reads = 0;
    let publishes = 0;
    const lossy: TokenStore = {
      ...w.store,
      read: async (profile) => (++reads === 2 ? Promise.reject(lost()) : w.store.read(profile)),
      acquire: async (profile, input) => (await w.store.acquire(profile, input), Promise.reject(lost())),
      publish: async (profile, input) => (++publishes === 1 ? Promise.reject(lost()) : w.store.publish(profile, input)),
    };
    const first = await w.instance({ store: lossy }).obtain('p', w.request(), w.authenticate);
    const next = await w.instance().obtain('p', w.request(), w.authenticate);
    assert.deepEqual([publishes, next.source, next.token.id, w.calls()], [2, 'table', first.token.id, 1]);
  });

  it('lets an error of the read after a lost lease write that is not the store failing through', async () => {
    const w = world();
    const bug = new TypeError('bug in the adapter');
    let reads = 0;
    const broken: TokenStore = {
      ...w.store,
      read: async (profile) => (++reads === 2 ? Promise.reject(bug) : w.store.read(profile)),
      acquire: async () => Promise.reject(lost()),
    };
    await assert.rejects(w.instance({ store: broken }).obtain('p', w.request(), w.authenticate), (e) => e === bug);
    assert.equal(w.calls(), 0);
  });

  it('takes the lease again when its lease write did not land and the record still shows an old lease of its own, so others wait on a live one', async () => {
    const w = world();
    // A lease this instance left behind an hour ago (its table was down when it would have released it).
    await w.store.acquire('p', { owner: 'me', until: w.clock.now() + LEASE_MS, revision: 0 });
    w.clock.advance(HOUR);
    let acquires = 0;
    const once: TokenStore = { ...w.store, acquire: async (profile, input) => (++acquires === 1 ? Promise.reject(lost()) : w.store.acquire(profile, input)) };
    let seen: unknown;
    w.setIdentity(async () => {
      seen = (await w.store.read('p')).lease;
      return { token: token('t1', w.clock.now() + 24 * HOUR), identity: 'id-1' };
    });
    const start = w.clock.now();
    await w.instance({ store: once, owner: 'me' }).obtain('p', w.request(), w.authenticate);
    assert.deepEqual(seen && { owner: (seen as { owner: string }).owner, until: (seen as { until: number }).until }, { owner: 'me', until: start + LEASE_MS });
  });

  it('does not wait for a write when the deadline is exactly 50 ms away once it has its token', async () => {
    const w = world();
    const hanging: TokenStore = { ...w.store, publish: () => new Promise<never>(() => {}) };
    // Identity takes 300 ms of the 350 left: exactly the margin remains.
    const answer = await w.instance({ store: hanging, timeout: () => assert.fail('no timer is needed') }).obtain('p', { ...w.request(), deadline: w.clock.now() + 350 }, w.authenticate);
    assert.equal(answer.source, 'identity');
  });

  it('does not wait for the publish at all when the deadline is within 50 ms once it has its token', async () => {
    const w = world();
    const hanging: TokenStore = { ...w.store, publish: () => new Promise<never>(() => {}) };
    // Identity takes 300 ms of the 340 left: 40 ms remain, inside the margin.
    const answer = await w.instance({ store: hanging, timeout: () => assert.fail('no timer is needed') }).obtain('p', { ...w.request(), deadline: w.clock.now() + 340 }, w.authenticate);
    assert.equal(answer.source, 'identity');
  });

  it('lets an error of the lease write that is not the store failing through, without reading again', async () => {
    const w = world();
    const bug = new TypeError('bug in the adapter');
    let reads = 0;
    const broken: TokenStore = { ...w.store, read: async (profile) => (reads++, w.store.read(profile)), acquire: async () => Promise.reject(bug) };
    await assert.rejects(w.instance({ store: broken }).obtain('p', w.request(), w.authenticate), (e) => e === bug);
    assert.deepEqual([reads, w.calls()], [1, 0]);
  });

  for (const write of ['publish', 'fail'] as const) {
    it(`answers by the request's deadline when the ${write === 'publish' ? 'publish of its token' : 'record of its failure'} is never answered`, async () => {
      const w = world();
      const outage = new UpstreamUnavailableError('Rackspace Identity is unavailable (HTTP 503)', 30, { upstream: 'identity' });
      if (write === 'fail') w.setIdentity(async () => Promise.reject(outage));
      const hanging: TokenStore = { ...w.store, [write]: () => new Promise<never>(() => {}) };
      const request = w.request();
      let outcome: unknown;
      void w.instance({ store: hanging, timeout: w.clock.timeout }).obtain('p', request, w.authenticate).then((a) => (outcome = a.source), (e: unknown) => (outcome = e));
      // Once the write hangs, time moves to the next timer due, as it would pass while waiting.
      do await new Promise((resolve) => setImmediate(resolve));
      while (outcome === undefined && w.clock.advanceTowards(request.deadline));
      assert.equal(outcome, write === 'publish' ? 'identity' : outage);
      assert.ok(w.clock.now() < request.deadline, 'before the deadline, so the caller is answered with it');
    });
  }
});

describe('Class: Fleet (a publish that fails)', () => {
  const sealFailed = () => new StoreUnavailableError('kms', 'KMS GenerateDataKey TimeoutError');
  const reset = () => new StoreUnavailableError('dynamodb', 'DynamoDB UpdateItem ECONNRESET');

  it('publishes again when sealing its token failed once (the table is fine): the next instance is served from the table', async () => {
    const w = world();
    let publishes = 0;
    const flaky: TokenStore = { ...w.store, publish: async (profile, input) => (++publishes === 1 ? Promise.reject(sealFailed()) : w.store.publish(profile, input)) };
    const first = await w.instance({ store: flaky }).obtain('p', w.request(), w.authenticate);
    const next = await w.instance().obtain('p', w.request(), w.authenticate);
    assert.deepEqual([first.source, next.source, next.token.id, publishes, w.calls()], ['identity', 'table', first.token.id, 2, 1]);
  });

  it('releases its lease when its token cannot be sealed at all, so the next cold instance authenticates at once instead of answering 503', async () => {
    const w = world();
    const sealing: TokenStore = { ...w.store, publish: async () => Promise.reject(sealFailed()) };
    const first = await w.instance({ store: sealing }).obtain('p', w.request(), w.authenticate);
    assert.deepEqual([first.source, (await w.store.read('p')).lease, (await w.store.read('p')).backoff?.until ?? null], ['identity', null, w.clock.now()], 'no lease left, no backoff in force');
    const start = w.clock.now();
    const next = await w.instance().obtain('p', w.request(), w.authenticate);
    assert.deepEqual([next.source, w.calls(), w.clock.now() - start], ['identity', 2, 300], 'one extra Identity call, no waiting');
  });

  it('publishes twice at most while its lease stands, then releases it with no backoff: the next instance authenticates at once', async () => {
    const w = world();
    let publishes = 0;
    const twice: TokenStore = { ...w.store, publish: async (profile, input) => (++publishes <= 2 ? Promise.reject(sealFailed()) : w.store.publish(profile, input)) };
    await w.instance({ store: twice }).obtain('p', w.request(), w.authenticate);
    const record = await w.store.read('p');
    assert.deepEqual([publishes, record.token, record.lease, record.backoff], [2, null, null, { until: w.clock.now(), reason: 'unavailable', refusedKey: null }]);
  });

  it('lets a publish error that is not the store failing through: no read, no second publish, no release', async () => {
    const w = world();
    let publishes = 0;
    let reads = 0;
    const broken: TokenStore = {
      ...w.store,
      read: async (profile) => (reads++, w.store.read(profile)),
      publish: async () => (publishes++, Promise.reject(new TypeError('bug in the adapter'))),
    };
    const first = await w.instance({ store: broken }).obtain('p', w.request(), w.authenticate);
    assert.deepEqual([first.source, publishes, reads, (await w.store.read('p')).lease?.until ?? null], ['identity', 1, 1, w.clock.now() - 300 + LEASE_MS]);
  });

  it('publishes again when the table reset its publish (the read after it shows its lease still there), and only once when the publish landed with its answer lost', async () => {
    for (const landed of [false, true]) {
      const w = world();
      let publishes = 0;
      const lossy: TokenStore = {
        ...w.store,
        publish: async (profile, input) => {
          if (++publishes > 1) return w.store.publish(profile, input);
          if (landed) await w.store.publish(profile, input);
          throw reset();
        },
      };
      await w.instance({ store: lossy }).obtain('p', w.request(), w.authenticate);
      const next = await w.instance().obtain('p', w.request(), w.authenticate);
      assert.deepEqual([next.source, publishes, w.calls()], ['table', landed ? 1 : 2, 1], landed ? 'landed' : 'reset');
    }
  });

  it('a waiter takes over a lease whose holder cannot reach the table after authenticating, once it has watched it for takeoverMs, and answers before its deadline: one waiter of many, one extra Identity call', async () => {
    const w = world();
    // The holder's table goes down once it took the lease: nothing it writes or reads afterwards lands.
    let holderReads = 0;
    const cutOff: TokenStore = {
      ...w.store,
      read: async (profile) => (++holderReads === 1 ? w.store.read(profile) : Promise.reject(reset())),
      publish: async () => Promise.reject(reset()),
      fail: async () => Promise.reject(reset()),
    };
    const holder = w.instance({ store: cutOff });
    await holder.obtain('p', w.request(), w.authenticate);
    assert.equal((await w.store.read('p')).lease !== null, true, 'the lease is left behind');
    const start = w.clock.now();
    const request = w.request();
    const answers = await Promise.all([w.instance().obtain('p', request, w.authenticate), w.instance().obtain('p', request, w.authenticate), w.instance().obtain('p', request, w.authenticate)]);
    assert.deepEqual([answers.map((a) => a.token.id), w.calls()], [['t2', 't2', 't2'], 2]);
    assert.ok(w.clock.now() - start < 8_000 && w.clock.now() - start >= LEASE_MS / 2, `taken over after ${w.clock.now() - start} ms`);
  });
});

describe('Class: Fleet (which record it serves)', () => {
  it('serves a record only to requests for the identity it was issued to', async () => {
    const w = world();
    await w.instance().obtain('p', w.request(), w.authenticate);
    const same = await w.instance().obtain('p', { ...w.request(), knownIdentity: 'id-1' }, w.authenticate);
    assert.deepEqual([same.source, same.token.id, w.calls()], ['table', 't1', 1]);
    const other = await w.instance().obtain('p', { ...w.request(), knownIdentity: 'id-2' }, w.authenticate);
    assert.deepEqual([other.source, w.calls()], ['identity', 2]);
  });

  it('serves a re-issued token short of minTtl for exactly quietMs (60 s), then asks Identity again', async () => {
    const w = world();
    let calls = 0;
    w.setIdentity(async () => (calls++, { token: token('short', Date.parse('2026-11-22T10:30:00.000Z')), identity: 'id-1' }));
    await w.instance().obtain('p', w.request(3600), w.authenticate);
    w.clock.advance(59_999);
    const quiet = await w.instance().obtain('p', w.request(3600), w.authenticate);
    assert.deepEqual([quiet.source, quiet.degradedBecause, calls], ['table', 'identity re-issued this token moments ago', 1]);
    w.clock.advance(1);
    await w.instance().obtain('p', w.request(3600), w.authenticate);
    assert.equal(calls, 2);
  });

  it('never serves an expired record, even one Identity confirmed moments ago', async () => {
    const w = world();
    let issued = 0;
    w.setIdentity(async () => ({ token: token(`t${++issued}`, w.clock.now() + (issued === 1 ? 30_000 : 24 * HOUR)), identity: 'id-1' }));
    await w.instance().obtain('p', w.request(60), w.authenticate);
    w.clock.advance(40_000); // expired 10 s ago, confirmed 40 s ago
    const answer = await w.instance().obtain('p', w.request(60), w.authenticate);
    assert.deepEqual([answer.token.id, answer.source], ['t2', 'identity']);
  });
});

describe('Class: Fleet (waiting on another holder)', () => {
  it('polls every pollMs × (0.5 + random) until the next poll would pass 50 ms before the deadline, then answers 503 until the lease ends', async () => {
    const w = world();
    const start = w.clock.now();
    await w.store.acquire('p', { owner: 'busy', until: start + LEASE_MS, revision: 0 });
    const sleeps: number[] = [];
    const waiter = w.instance({ random: () => 0, takeoverMs: LEASE_MS, sleep: (ms) => (sleeps.push(ms), w.clock.sleep(ms)) });
    await assert.rejects(waiter.obtain('p', w.request(), w.authenticate), (e: unknown) =>
      e instanceof UpstreamUnavailableError && e.message === 'Rackspace Identity is unavailable (another instance is authenticating); try again shortly.' && e.retryAfterSeconds === 3);
    assert.deepEqual([new Set(sleeps), sleeps.length, w.clock.now() - start], [new Set([50]), 159, 7_950]);
  });

  it('holds the lease for leaseMs from when it took it, while it authenticates', async () => {
    const w = world();
    let seen: unknown;
    w.setIdentity(async () => {
      seen = (await w.store.read('p')).lease;
      return { token: token('t1', w.clock.now() + 24 * HOUR), identity: 'id-1' };
    });
    const fleet = w.instance({ owner: 'me' });
    const start = w.clock.now();
    await fleet.obtain('p', w.request(), w.authenticate);
    assert.deepEqual(seen && { owner: (seen as { owner: string }).owner, until: (seen as { until: number }).until }, { owner: 'me', until: start + LEASE_MS });
  });

  it('lets two requests of one instance share its authentication: the second waits on its own lease', async () => {
    const w = world();
    const fleet = w.instance();
    const answers = await Promise.all([fleet.obtain('p', w.request(), w.authenticate), fleet.obtain('p', w.request(), w.authenticate)]);
    assert.deepEqual([answers.map((a) => a.token.id), w.calls()], [['t1', 't1'], 1]);
  });
});

describe('Object: aloneTier (shared tier off)', () => {
  it('authenticates every time and hands back the original error of a refused key, unwrapped', async () => {
    const refusal = new CredentialsUnusableError('refused', { upstream: 'identity' });
    await assert.rejects(aloneTier.obtain('p', { minTtl: 300, deadline: 0, knownIdentity: null }, async () => Promise.reject(new KeyRefused('fp', refusal))), (e) => e === refusal);
    const answer = await aloneTier.obtain('p', { minTtl: 300, deadline: 0, knownIdentity: null }, async () => ({ token: token('t', 1), identity: 'id' }));
    assert.deepEqual([answer.source, answer.token.id, await aloneTier.peek('p', 300), await aloneTier.record('p')], ['identity', 't', null, { held: null, unreadable: false }]);
  });
});

describe('Class: Fleet, method recheck', () => {
  it('lets one of two instances re-read a refused secret per period, through the record', async () => {
    const w = world();
    const [a, b] = [w.instance(), w.instance()];
    assert.deepEqual([await a.recheck('p', 10_000), await b.recheck('p', 10_000)], [true, true], 'no record yet: nothing to share it through');
    await a.obtain('p', w.request(), w.authenticate);
    assert.deepEqual([await a.recheck('p', 10_000), await b.recheck('p', 10_000)], [true, false]);
    w.clock.advance(10_000);
    assert.deepEqual([await b.recheck('p', 10_000), await a.recheck('p', 10_000)], [true, false]);
  });

  it('answers true when the store fails (each instance then limits itself), and opens the circuit', async () => {
    const w = world();
    let claims = 0;
    const failing: TokenStore = {
      ...w.store,
      claimRecheck: async () => {
        claims++;
        throw new StoreUnavailableError('dynamodb', 'DynamoDB UpdateItem ThrottlingException (HTTP 400)');
      },
    };
    const fleet = w.instance({ store: failing });
    assert.equal(await fleet.recheck('p', 10_000), true);
    assert.equal(fleet.fallback, 'dynamodb: DynamoDB UpdateItem ThrottlingException (HTTP 400)');
    assert.equal(await fleet.recheck('p', 10_000), true);
    assert.equal(claims, 1, 'no store call while the circuit is open');
  });

  it('passes any other failure through', async () => {
    const w = world();
    const fleet = w.instance({ store: { ...w.store, claimRecheck: async () => Promise.reject(new TypeError('bug')) } });
    await assert.rejects(fleet.recheck('p', 10_000), TypeError);
  });

  it('alone (shared tier off), every re-read is allowed', async () => {
    assert.equal(await aloneTier.recheck('p', 10_000), true);
  });
});
