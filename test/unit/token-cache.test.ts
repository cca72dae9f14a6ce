import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CredentialsRefusedError, DeadlineExceededError, UpstreamUnavailableError } from '../../functions/core/errors.ts';
import { MemoryProfileStore } from '../../functions/core/profile-state.ts';
import { TokenCache, type LeaseSource } from '../../functions/core/token-cache.ts';
import { isFresh, secondsLeft, type Token } from '../../functions/core/token.ts';

const HOUR = 3_600_000;
const token = (id: string, expiresAt: number): Token => ({ id, expiresAt, tenant: null, defaultRegion: null, catalog: [] });

/** A clock the test moves, and an authenticator that counts calls (and probes) and answers what it is told. */
function setup(answers: Array<(now: number) => Token | Error>) {
  let now = Date.UTC(2026, 10, 22);
  let calls = 0;
  const probes: boolean[] = [];
  const cache = new TokenCache({ now: () => now, quietMs: 60_000 });
  const authenticate = async (probe = false) => {
    probes.push(probe);
    const answer = answers[Math.min(calls++, answers.length - 1)];
    assert.ok(answer);
    const result = answer(now);
    if (result instanceof Error) throw result;
    return result;
  };
  const source = (identity = 'user-a', credentials = 'key-1'): LeaseSource => ({
    identity,
    credentials,
    wait: (work) => work,
    authenticate: async (probe) => ({ token: await authenticate(probe), identity }),
  });
  return { cache, authenticate: source(), source, advance: (ms: number) => (now += ms), calls: () => calls, probes, now: () => now };
}

describe('Function: isFresh / secondsLeft', () => {
  it('keeps a token usable while expiresAt - now >= minTtl, and not a millisecond less', () => {
    const t = token('a', 1_000_000);
    assert.equal(isFresh(t, 1_000_000 - 300_000, 300), true);
    assert.equal(isFresh(t, 1_000_000 - 299_999, 300), false);
    assert.equal(secondsLeft(t, 1_000_000 - 1_500), 1);
    assert.equal(secondsLeft(t, 2_000_000), 0);
  });
});

describe('Class: TokenCache', () => {
  describe('Method: lease', () => {
    it('authenticates on a miss and serves the cached token afterwards', async () => {
      const s = setup([(now) => token('t1', now + 24 * HOUR)]);
      const first = await s.cache.lease('p', 300, s.authenticate);
      s.advance(HOUR);
      const second = await s.cache.lease('p', 300, s.authenticate);
      assert.deepEqual([first.cacheHit, second.cacheHit, second.token.id, s.calls()], [false, true, 't1', 1]);
    });

    it('re-authenticates when the cached token is short of the minTtl asked for', async () => {
      const s = setup([(now) => token('t1', now + 24 * HOUR), (now) => token('t2', now + 24 * HOUR)]);
      await s.cache.lease('p', 300, s.authenticate);
      s.advance(23 * HOUR + 30 * 60_000); // 30 min left
      assert.equal((await s.cache.lease('p', 600, s.authenticate)).cacheHit, true);
      const lease = await s.cache.lease('p', 3600, s.authenticate);
      assert.deepEqual([lease.token.id, lease.cacheHit, lease.degraded, s.calls()], ['t2', false, false, 2]);
    });

    it('lets 100 concurrent misses share exactly one authentication', async () => {
      const s = setup([(now) => token('t1', now + 24 * HOUR)]);
      const leases = await Promise.all(Array.from({ length: 100 }, () => s.cache.lease('p', 300, s.authenticate)));
      assert.equal(s.calls(), 1);
      assert.ok(leases.every((l) => l.token.id === 't1'));
    });

    it('keeps profiles apart', async () => {
      const s = setup([(now) => token('a', now + HOUR * 2), (now) => token('b', now + HOUR * 2)]);
      const [a, b] = await Promise.all([s.cache.lease('p1', 300, s.authenticate), s.cache.lease('p2', 300, s.authenticate)]);
      assert.deepEqual([a.token.id, b.token.id, s.calls()], ['a', 'b', 2]);
    });

    it('never caches a failure: once the backoff is over, the next request authenticates again', async () => {
      const s = setup([() => new UpstreamUnavailableError('down', 5, { upstream: 'identity' }), (now) => token('t1', now + HOUR * 2)]);
      await assert.rejects(s.cache.lease('p', 300, s.authenticate), UpstreamUnavailableError);
      s.advance(5_000);
      assert.equal((await s.cache.lease('p', 300, s.authenticate)).token.id, 't1');
      assert.equal(s.calls(), 2);
    });

    it('accepts an unchanged expiry without looping, then stays quiet for quietMs', async () => {
      // A 50-minute token: Identity keeps re-issuing it, so a caller wanting an hour can never be satisfied.
      const fixed = Date.UTC(2026, 10, 22) + 50 * 60_000;
      const s = setup([() => token('same', fixed)]);
      const first = await s.cache.lease('p', 3600, s.authenticate);
      assert.deepEqual([first.degraded, first.cacheHit, s.calls()], [true, false, 1]);
      const again = await s.cache.lease('p', 3600, s.authenticate);
      assert.deepEqual([again.degraded, again.cacheHit, s.calls()], [true, true, 1]);
      s.advance(61_000);
      await s.cache.lease('p', 3600, s.authenticate);
      assert.equal(s.calls(), 2, 'asks again once the quiet period is over, not before');
    });

    it('answers 503 (Retry-After 5 s) when Identity issues a token with less than 60 s left', async () => {
      const s = setup([(now) => token('dying', now + 59_999)]);
      await assert.rejects(s.cache.lease('p', 60, s.authenticate), (error: unknown) =>
        error instanceof UpstreamUnavailableError &&
        error.message === 'Rackspace Identity issued a token with less than 60 s left; try again shortly.' &&
        error.retryAfterSeconds === 5 &&
        error.upstream === 'identity');
    });

    it('stays quiet for 60 s by default after Identity re-issued a token short of minTtl', async () => {
      const start = Date.UTC(2026, 10, 22);
      let now = start;
      let calls = 0;
      const cache = new TokenCache({ now: () => now });
      const source: LeaseSource = {
        identity: 'user-a',
        credentials: 'key-1',
        wait: (work) => work,
        authenticate: async () => (calls++, { token: token('same', start + 50 * 60_000), identity: 'user-a' }),
      };
      await cache.lease('p', 3600, source);
      for (const step of [1, 30_000, 29_998]) {
        now += step;
        assert.deepEqual([(await cache.lease('p', 3600, source)).degraded, calls], [true, 1], `quiet ${now - start} ms after`);
      }
      now += 1;
      await cache.lease('p', 3600, source);
      assert.equal(calls, 2, 'asks again at 60 s');
    });

    it('serves a still-valid token flagged degraded when Identity is unavailable', async () => {
      const s = setup([(now) => token('t1', now + HOUR), () => new UpstreamUnavailableError('down', 7, { upstream: 'identity' })]);
      await s.cache.lease('p', 300, s.authenticate);
      s.advance(HOUR - 120_000); // 2 min left
      const lease = await s.cache.lease('p', 300, s.authenticate);
      assert.deepEqual([lease.token.id, lease.degraded, lease.degradedBecause, lease.upstream], ['t1', true, 'down', 'identity']);
    });

    it('does not serve an expired token, and does not hide a credential refusal behind a cached one', async () => {
      const s = setup([(now) => token('t1', now + HOUR), () => new UpstreamUnavailableError('down', 7, { upstream: 'identity' })]);
      await s.cache.lease('p', 300, s.authenticate);
      s.advance(HOUR);
      await assert.rejects(s.cache.lease('p', 300, s.authenticate), UpstreamUnavailableError);
      const refused = setup([(now) => token('t1', now + HOUR), () => new Error('rejected')]);
      await refused.cache.lease('p', 300, refused.authenticate);
      refused.advance(HOUR - 60_000);
      await assert.rejects(refused.cache.lease('p', 300, refused.authenticate), /rejected/);
    });
  });

  describe('Method: lease, while Identity fails (backoff)', () => {
    const down = (retryAfterSeconds?: number) => () =>
      new UpstreamUnavailableError('down', retryAfterSeconds ?? 5, { upstream: 'identity', retryAfterGiven: retryAfterSeconds !== undefined });

    it('after a failed authentication answers 503 with the time left, without calling Identity, then probes once', async () => {
      const s = setup([down(), down(), (now) => token('t1', now + 2 * HOUR)]);
      await assert.rejects(s.cache.lease('p', 300, s.authenticate), (e: UpstreamUnavailableError) => e.retryAfterSeconds === 5);
      s.advance(2_000);
      await assert.rejects(s.cache.lease('p', 300, s.authenticate), (e: UpstreamUnavailableError) => e.retryAfterSeconds === 3);
      assert.equal(s.calls(), 1, 'no Identity call during the backoff');
      s.advance(3_000);
      await assert.rejects(s.cache.lease('p', 300, s.authenticate), (e: UpstreamUnavailableError) => e.retryAfterSeconds === 10, 'the wait doubles');
      s.advance(9_999);
      await assert.rejects(s.cache.lease('p', 300, s.authenticate), UpstreamUnavailableError);
      s.advance(1);
      assert.equal((await s.cache.lease('p', 300, s.authenticate)).token.id, 't1');
      assert.deepEqual(s.probes, [false, true, true], 'a full cycle first, then single-attempt probes');
      assert.equal(s.cache.state('p')?.backoff, null, 'a success closes the backoff');
    });

    it("waits Identity's own Retry-After when it gives one, and caps the doubling at two minutes", async () => {
      const s = setup([down(42)]);
      await assert.rejects(s.cache.lease('p', 300, s.authenticate), (e: UpstreamUnavailableError) => e.retryAfterSeconds === 42);
      assert.equal(s.cache.state('p')?.backoff?.until, s.now() + 42_000);
      const t = setup([down()]);
      for (let i = 0; i < 8; i++) {
        await assert.rejects(t.cache.lease('p', 300, t.authenticate));
        t.advance(10 * 60_000);
      }
      const backoff = t.cache.state('p')?.backoff;
      assert.equal(backoff?.failures, 8);
      assert.equal((backoff?.until ?? 0) - (t.now() - 10 * 60_000), 120_000);
    });

    it('serves a cached token (degraded, flagged as an Identity failure) during the backoff, without calling Identity', async () => {
      const s = setup([(now) => token('t1', now + HOUR), down()]);
      await s.cache.lease('p', 300, s.authenticate);
      s.advance(HOUR - 240_000); // 4 min left, short of 300 s
      const first = await s.cache.lease('p', 300, s.authenticate);
      assert.deepEqual([first.degraded, first.cacheHit, first.upstream, s.calls()], [true, false, 'identity', 2], 'the failed refresh is not a cache hit');
      s.advance(1_000);
      const during = await s.cache.lease('p', 300, s.authenticate);
      assert.deepEqual([during.token.id, during.degraded, during.cacheHit, during.upstream, s.calls()], ['t1', true, true, 'identity', 2]);
      assert.match(during.degradedBecause ?? '', /backing off/);
    });

    it('15 requests at 1/s during an outage cost one retry cycle and then one probe per backoff period', async () => {
      const s = setup([(now) => token('t1', now + HOUR), down()]);
      await s.cache.lease('p', 300, s.authenticate);
      s.advance(HOUR - 200_000);
      for (let i = 0; i < 15; i++) {
        await s.cache.lease('p', 300, s.authenticate).catch(() => {});
        s.advance(1_000);
      }
      // t=0 cycle, t=5 probe, t=15 would be next: 2 authentications after the first.
      assert.deepEqual(s.probes, [false, false, true]);
    });
  });

  describe('Method: lease, what the cached token belongs to', () => {
    it('does not send credentials Identity refused again, until the secret holds other credentials', async () => {
      const s = setup([(now) => token('t1', now + HOUR), () => Object.assign(new CredentialsRefusedError(401, 'refused'), { credentials: 'key-1' }), (now) => token('t2', now + 2 * HOUR)]);
      await s.cache.lease('p', 300, s.authenticate);
      s.advance(HOUR - 120_000);
      await assert.rejects(s.cache.lease('p', 300, s.authenticate), CredentialsRefusedError);
      for (let i = 0; i < 5; i++) await assert.rejects(s.cache.lease('p', 300, s.authenticate), (e: CredentialsRefusedError) => e.status === 502 && e.identityStatus === 401);
      assert.equal(s.calls(), 2, 'the refused key went to Identity once');
      const fresh = await s.cache.lease('p', 60, s.authenticate);
      assert.equal(fresh.token.id, 't1', 'a token that is good enough is still served');
      assert.equal((await s.cache.lease('p', 300, s.source('user-a', 'key-2'))).token.id, 't2');
      assert.equal(s.calls(), 3);
    });

    it('drops the token when the secret names another identity', async () => {
      const s = setup([(now) => token('for-a', now + 24 * HOUR), (now) => token('for-b', now + 24 * HOUR)]);
      await s.cache.lease('p', 300, s.source('user-a'));
      const other = await s.cache.lease('p', 300, s.source('user-b', 'key-b'));
      assert.deepEqual([other.token.id, other.cacheHit, s.calls()], ['for-b', false, 2]);
    });

    it('does not let a request for another identity join an authentication under way for the old one', async () => {
      const s = setup([(now) => token('for-a', now + 24 * HOUR), (now) => token('for-b', now + 24 * HOUR)]);
      const [a, b] = await Promise.all([s.cache.lease('p', 300, s.source('user-a')), s.cache.lease('p', 300, s.source('user-b', 'key-b'))]);
      assert.deepEqual([a.token.id, b.token.id, s.calls()], ['for-a', 'for-b', 2]);
    });

    it('never serves a token with less than 60 s left, even in the quiet period', async () => {
      const s = setup([(now) => token('t1', now + 90_000), () => new UpstreamUnavailableError('down', 5, { upstream: 'identity' })]);
      const first = await s.cache.lease('p', 60, s.authenticate);
      assert.equal(first.degraded, false);
      s.advance(31_000); // 59 s left, 31 s into the quiet period
      await assert.rejects(s.cache.lease('p', 60, s.authenticate), UpstreamUnavailableError);
      assert.equal(s.calls(), 2, 'asked Identity instead of serving a token about to expire');
    });

    it('tells a renewal that still falls short from Identity repeating the same token', async () => {
      const start = Date.UTC(2026, 10, 22);
      const s = setup([() => token('t1', start + 50 * 60_000), () => token('t1', start + 50 * 60_000), () => token('t2', start + 70 * 60_000)]);
      await s.cache.lease('p', 300, s.authenticate);
      s.advance(61_000);
      const same = await s.cache.lease('p', 3600, s.authenticate);
      assert.match(same.degradedBecause ?? '', /re-issued the same token/);
      s.advance(61_000);
      const later = await s.cache.lease('p', 3600 * 2, s.authenticate);
      assert.deepEqual([later.token.id, later.cacheHit], ['t2', false]);
      assert.match(later.degradedBecause ?? '', /shorter-lived than minTtl/);
      assert.equal(s.cache.state('p')?.confirmedAt, s.now(), 'the renewal is a fresh confirmation');
    });
  });
});

describe('Class: TokenCache, what it tells callers and stores', () => {
  const refusedBy = (credentials: string | null) => () => Object.assign(new CredentialsRefusedError(401, 'refused'), { credentials });

  describe('Method: lease', () => {
    it('keeps states in the store it is given', async () => {
      const store = new MemoryProfileStore();
      const s = setup([(now) => token('t1', now + HOUR)]);
      const cache = new TokenCache({ now: s.now, store });
      await cache.lease('p', 300, s.authenticate);
      assert.deepEqual(store.get('p'), { identity: 'user-a', token: token('t1', s.now() + HOUR), confirmedAt: s.now(), backoff: null, refused: null });
    });

    it('writes the store only when the state changed', async () => {
      const s = setup([(now) => token('t1', now + HOUR)]);
      const writes: string[] = [];
      const memory = new MemoryProfileStore();
      const cache = new TokenCache({ now: s.now, store: { get: (key) => memory.get(key), set: (key, state) => (writes.push(key), memory.set(key, state)) } });
      await cache.lease('p', 300, s.authenticate);
      assert.equal(writes.length, 2, 'the blank state for the identity, then the token');
      await cache.lease('p', 300, s.authenticate);
      assert.equal(writes.length, 2, 'a fresh hit writes nothing');
    });

    it('drops the old identity’s state at once, even when authenticating the new one fails', async () => {
      const s = setup([(now) => token('for-a', now + HOUR), () => new Error('secret unusable')]);
      await s.cache.lease('p', 300, s.source('user-a'));
      await assert.rejects(s.cache.lease('p', 300, s.source('user-b', 'key-b')), /secret unusable/);
      assert.deepEqual(s.cache.state('p'), { identity: 'user-b', token: null, confirmedAt: 0, backoff: null, refused: null });
    });

    it('stores the identity the authentication reports, which a rotation may have changed', async () => {
      const s = setup([]);
      const source: LeaseSource = { ...s.source('user-a'), authenticate: async () => ({ token: token('t1', s.now() + HOUR), identity: 'user-a-rotated' }) };
      await s.cache.lease('p', 300, source);
      assert.equal(s.cache.state('p')?.identity, 'user-a-rotated');
    });

    it('adds the time spent on the authentication to the trace, and hands a zeroed trace to the source when given none', async () => {
      const s = setup([]);
      const seen: unknown[] = [];
      const source: LeaseSource = {
        ...s.source(),
        authenticate: async (_probe, trace) => (seen.push({ ...trace }), s.advance(1_500), { token: token('t1', s.now() + HOUR), identity: 'user-a' }),
      };
      const trace = { identityCalls: 2, identityMs: 100 };
      await s.cache.lease('p', 300, source, trace);
      assert.deepEqual(trace, { identityCalls: 2, identityMs: 1_600 });
      await s.cache.lease('q', 300, source);
      assert.deepEqual(seen[1], { identityCalls: 0, identityMs: 0 });
    });

    it('answers a request whose own wait ran out with that error, or the still-valid cached token', async () => {
      const s = setup([(now) => token('t1', now + HOUR)]);
      const late = new DeadlineExceededError('identity');
      const impatient: LeaseSource = { ...s.source(), wait: async (work) => (work.catch(() => {}), Promise.reject(late)) };
      await assert.rejects(s.cache.lease('p', 300, impatient), (error) => error === late);
      s.advance(HOUR - 120_000);
      const lease = await s.cache.lease('p', 300, impatient);
      assert.deepEqual([lease.token.id, lease.degraded, lease.degradedBecause, lease.upstream], ['t1', true, late.message, 'identity']);
    });

    it('flags a token served in the quiet period as confirmed by Identity, not as an Identity failure', async () => {
      const fixed = Date.UTC(2026, 10, 22) + 50 * 60_000;
      const s = setup([() => token('same', fixed)]);
      await s.cache.lease('p', 3600, s.authenticate);
      const quiet = await s.cache.lease('p', 3600, s.authenticate);
      assert.deepEqual([quiet.degraded, quiet.degradedBecause, quiet.upstream], [true, 'identity confirmed this token moments ago', null]);
    });

    it('names Identity and why when it refuses to ask during a backoff or for a refused key', async () => {
      const s = setup([() => new UpstreamUnavailableError('down', 5, { upstream: 'identity' })]);
      await assert.rejects(s.cache.lease('p', 300, s.authenticate));
      await assert.rejects(s.cache.lease('p', 300, s.authenticate), {
        message: 'Rackspace Identity is unavailable; backing off before asking again.',
        retryAfterSeconds: 5,
        upstream: 'identity',
      });
      const r = setup([refusedBy('key-1')]);
      await assert.rejects(r.cache.lease('p', 300, r.authenticate));
      await assert.rejects(r.cache.lease('p', 300, r.authenticate), {
        message: 'Rackspace Identity rejected the custodied credentials (HTTP 401); they are not sent again until the secret changes.',
        identityStatus: 401,
      });
    });

    it('remembers a refusal only when it names the credentials refused', async () => {
      const s = setup([refusedBy(null)]);
      await assert.rejects(s.cache.lease('p', 300, s.authenticate), CredentialsRefusedError);
      await assert.rejects(s.cache.lease('p', 300, s.authenticate), CredentialsRefusedError);
      assert.deepEqual([s.calls(), s.cache.state('p')?.refused], [2, null]);
    });

    it('backs off only when Identity itself failed: not for another upstream, nor for running out of time', async () => {
      for (const error of [new UpstreamUnavailableError('secrets down', 3, { upstream: 'secrets-manager' }), new DeadlineExceededError('identity')]) {
        const s = setup([() => error]);
        await assert.rejects(s.cache.lease('p', 300, s.authenticate), (thrown) => thrown === error);
        assert.equal(s.cache.state('p')?.backoff, null, error.message);
      }
    });

    it("passes Identity's own error on untouched when its Retry-After is the backoff, even one of 0 s", async () => {
      for (const seconds of [42, 0]) {
        const down = new UpstreamUnavailableError('down', seconds, { upstream: 'identity', retryAfterGiven: true });
        const s = setup([() => down]);
        await assert.rejects(s.cache.lease('p', 300, s.authenticate), (error) => error === down);
      }
    });

    it("gives Identity's backoff time only to Identity's failures: another upstream's keeps its own Retry-After", async () => {
      const s = setup([() => new UpstreamUnavailableError('identity down', 5, { upstream: 'identity' })]);
      const secretsDown = new UpstreamUnavailableError('secrets down', 3, { upstream: 'secrets-manager' });
      // The authentication fails (a 5 s backoff starts), then this request's own wait fails on Secrets Manager.
      const source: LeaseSource = { ...s.source(), wait: async (work) => (await work, Promise.reject(secretsDown)) };
      await assert.rejects(s.cache.lease('p', 300, source), (error) => error === secretsDown);
      assert.equal(s.cache.state('p')?.backoff?.until, s.now() + 5_000);
    });

    it('answers with the failure itself when the store no longer holds the state', async () => {
      const down = new UpstreamUnavailableError('down', 5, { upstream: 'identity' });
      const s = setup([() => down]);
      const forgetful = new TokenCache({ now: s.now, store: { get: () => undefined, set: () => {} } });
      await assert.rejects(forgetful.lease('p', 300, s.authenticate), (error) => error === down);
    });

    it('restates the time left on the backoff with the cause and upstream of the failure', async () => {
      const cause = new Error('HTTP 500');
      const s = setup([() => new UpstreamUnavailableError('down', 5, { upstream: 'identity', cause }), () => new UpstreamUnavailableError('down again', 7, { upstream: 'identity', cause })]);
      await assert.rejects(s.cache.lease('p', 300, s.authenticate));
      s.advance(5_000);
      await assert.rejects(s.cache.lease('p', 300, s.authenticate), (error) =>
        error instanceof UpstreamUnavailableError && error.retryAfterSeconds === 10 && error.message === 'down again' && error.cause === cause && error.upstream === 'identity');
    });
  });
});
