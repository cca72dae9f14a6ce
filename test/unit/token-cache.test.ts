import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UpstreamUnavailableError } from '../../functions/core/errors.ts';
import { TokenCache } from '../../functions/core/token-cache.ts';
import { isFresh, secondsLeft, type Token } from '../../functions/core/token.ts';

const HOUR = 3_600_000;
const token = (id: string, expiresAt: number): Token => ({ id, expiresAt, tenant: null, defaultRegion: null, catalog: [] });

/** A clock the test moves, and an authenticator that counts calls and answers what it is told. */
function setup(answers: Array<(now: number) => Token | Error>) {
  let now = Date.UTC(2026, 10, 22);
  let calls = 0;
  const cache = new TokenCache({ now: () => now, quietMs: 60_000 });
  const authenticate = async () => {
    const answer = answers[Math.min(calls++, answers.length - 1)];
    assert.ok(answer);
    const result = answer(now);
    if (result instanceof Error) throw result;
    return result;
  };
  return { cache, authenticate, advance: (ms: number) => (now += ms), calls: () => calls, now: () => now };
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

    it('never caches a failure: the next request authenticates again', async () => {
      const s = setup([() => new UpstreamUnavailableError('down', 5, { upstream: 'identity' }), (now) => token('t1', now + HOUR * 2)]);
      await assert.rejects(s.cache.lease('p', 300, s.authenticate), UpstreamUnavailableError);
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
});
