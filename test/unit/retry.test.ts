import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retrying, type RetryPolicy, type RetryVerdict } from '../../functions/core/retry.ts';
import { parseRetryAfter } from '../../functions/core/retry-after.ts';

/** A policy on a fake clock: sleeping advances time, so budgets are checked without waiting. */
function policy(overrides: Partial<RetryPolicy> = {}) {
  let now = 0;
  const sleeps: number[] = [];
  const p: RetryPolicy = {
    attempts: 4,
    budgetMs: 8_000,
    attemptTimeoutMs: 3_000,
    baseMs: 200,
    capMs: 2_000,
    classify: (e) => (e as { verdict?: RetryVerdict }).verdict ?? { retry: false },
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    random: () => 0.5,
    ...overrides,
  };
  return { p, sleeps, spend: (ms: number) => (now += ms), now: () => now };
}
const failure = (verdict: RetryVerdict) => Object.assign(new Error('fail'), { verdict });

describe('Function: retrying', () => {
  it('retries with full-jitter exponential backoff, then succeeds', async () => {
    const { p, sleeps } = policy();
    let n = 0;
    const result = await retrying(async () => (++n < 3 ? Promise.reject(failure({ retry: true })) : 'ok'), p);
    assert.deepEqual([result, n, sleeps], ['ok', 3, [100, 200]]); // random 0.5 × 200, × 400
  });

  it('never retries what the classifier refuses', async () => {
    const { p } = policy();
    let n = 0;
    await assert.rejects(retrying(async () => { n++; throw failure({ retry: false }); }, p), /fail/);
    assert.equal(n, 1);
  });

  it('stops after the attempt limit and rethrows the last error itself', async () => {
    const { p } = policy({ attempts: 3 });
    const thrown: Error[] = [];
    await assert.rejects(
      retrying(async () => { thrown.push(Object.assign(new Error(`fail ${thrown.length + 1}`), { verdict: { retry: true } })); throw thrown.at(-1); }, p),
      (error) => error === thrown[2],
    );
    assert.deepEqual(thrown.map((e) => e.message), ['fail 1', 'fail 2', 'fail 3']);
  });

  it('waits what the server asked for instead of the backoff', async () => {
    const { p, sleeps } = policy();
    let n = 0;
    await retrying(async () => (++n === 1 ? Promise.reject(failure({ retry: true, afterMs: 2_000 })) : 'ok'), p);
    assert.deepEqual(sleeps, [2_000]);
  });

  it('gives up at once when Retry-After does not fit in the budget', async () => {
    const { p, sleeps } = policy();
    await assert.rejects(retrying(async () => { throw failure({ retry: true, afterMs: 30_000 }); }, p));
    assert.deepEqual(sleeps, []);
  });

  it('gives later attempts only what is left of the budget, so the total stays within it', async () => {
    const { p, now, spend } = policy({ attempts: 10 });
    const timeouts: number[] = [];
    await assert.rejects(retrying(async (timeoutMs) => { timeouts.push(timeoutMs); spend(timeoutMs); throw failure({ retry: true }); }, p));
    assert.ok(now() <= 8_000, `spent ${now()} ms`);
    assert.equal(timeouts[0], 3_000);
    assert.ok(timeouts.at(-1)! < 3_000, 'the last attempt was cut to the budget left');
  });
});

describe('Function: retrying (the budget, exactly)', () => {
  it('doubles the backoff step per retry up to capMs and floors the jittered wait', async () => {
    const { p, sleeps } = policy({ attempts: 7, budgetMs: 60_000, random: () => 0.999 });
    await assert.rejects(retrying(async () => Promise.reject(failure({ retry: true })), p));
    assert.deepEqual(sleeps, [199, 399, 799, 1_598, 1_998, 1_998]);
  });

  it('gives each attempt attemptTimeoutMs, cut to what is left of the budget, and at least 1 ms', async () => {
    const { p, spend } = policy({ attempts: 10, random: () => 0 });
    const timeouts: number[] = [];
    await assert.rejects(retrying(async (timeoutMs) => (timeouts.push(timeoutMs), spend(timeoutMs), Promise.reject(failure({ retry: true }))), p));
    assert.deepEqual(timeouts, [3_000, 3_000, 2_000]);
    const spent = policy({ budgetMs: 0 });
    const given: number[] = [];
    await assert.rejects(retrying(async (timeoutMs) => (given.push(timeoutMs), Promise.reject(failure({ retry: true }))), spent.p));
    assert.deepEqual([given, spent.sleeps], [[1], []]);
  });

  it('retries only while at least 250 ms (or a whole attempt timeout, if shorter) is left after the wait', async () => {
    const run = async (overrides: Partial<RetryPolicy>, afterMs: number) => {
      const { p, sleeps } = policy({ attempts: 2, ...overrides });
      let n = 0;
      const result = await retrying(async () => (++n === 1 ? Promise.reject(failure({ retry: true, afterMs })) : 'ok'), p).catch(() => 'gave up');
      return [result, sleeps];
    };
    assert.deepEqual(await run({}, 7_750), ['ok', [7_750]]);
    assert.deepEqual(await run({}, 7_751), ['gave up', []]);
    assert.deepEqual(await run({ attemptTimeoutMs: 100 }, 7_900), ['ok', [7_900]]);
    assert.deepEqual(await run({ attemptTimeoutMs: 100 }, 7_901), ['gave up', []]);
  });
});

describe('Function: parseRetryAfter', () => {
  const now = Date.parse('2026-11-22T10:00:00Z');
  it('reads delay-seconds and IMF-fixdates, and ignores junk', () => {
    assert.equal(parseRetryAfter('7', now), 7);
    assert.equal(parseRetryAfter('Sun, 22 Nov 2026 10:00:30 GMT', now), 30);
    assert.equal(parseRetryAfter('Sun, 22 Nov 2026 10:00:30 GMT', now + 500), 30, '29.5 s rounds up: waiting less would be too early');
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter('-5', now), undefined);
    assert.equal(parseRetryAfter('1.5', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });

  it('reads only a whole value: digits or a date with anything before or after are junk', () => {
    for (const junk of ['7s', 'x7', '7 7', 'Sun, 22 Nov 2026 10:00:30 GMT;', 'x Sun, 22 Nov 2026 10:00:30 GMT', 'Sun, 2 Nov 2026 10:00:30 GMT', 'Sun, 22 Nov 26 10:00:30 GMT']) {
      assert.equal(parseRetryAfter(junk, now), undefined, junk);
    }
  });

  it('ignores a date shaped right that is no date (day 99, hour 25)', () => {
    assert.equal(parseRetryAfter('Sun, 99 Nov 2026 10:00:30 GMT', now), undefined);
    assert.equal(parseRetryAfter('Sun, 22 Nov 2026 25:00:30 GMT', now), undefined);
  });

  it('accepts no loose date format: only the IMF-fixdate RFC 9110 says senders generate', () => {
    for (const loose of ['2026-11-22T10:00:30Z', 'Sunday, 22-Nov-26 10:00:30 GMT', 'Sun Nov 22 10:00:30 2026', '22 Nov 2026 10:00:30 GMT', 'Sun, 22 Nov 2026 10:00:30 +0000']) {
      assert.equal(parseRetryAfter(loose, now), undefined, loose);
    }
  });

  it('clamps to 1-300 s: "at once" and past dates wait a second, absurd numbers five minutes', () => {
    assert.equal(parseRetryAfter(' 0 ', now), 1);
    assert.equal(parseRetryAfter('Sun, 22 Nov 2026 09:00:00 GMT', now), 1);
    assert.equal(parseRetryAfter('99999999999999999999', now), 300);
    assert.equal(parseRetryAfter('301', now), 300);
    assert.equal(parseRetryAfter('Mon, 23 Nov 2026 10:00:00 GMT', now), 300);
    assert.equal(parseRetryAfter('300', now), 300);
  });
});
