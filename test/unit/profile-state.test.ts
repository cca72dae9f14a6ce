import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BACKOFF_CAP_MS, BACKOFF_FIRST_MS, decide, failed, forIdentity, refused, succeeded, type ProfileState } from '../../functions/core/profile-state.ts';
import type { Token } from '../../functions/core/token.ts';

const NOW = Date.UTC(2026, 10, 22);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const token = (leftMs: number): Token => ({ id: 'tok', expiresAt: NOW + leftMs, tenant: null, defaultRegion: null, catalog: [] });
const ask = (over: Partial<Parameters<typeof decide>[1]> = {}) => ({ now: NOW, minTtlSeconds: 300, credentials: 'key-1', quietMs: MINUTE, ...over });
const blank = forIdentity(undefined, 'user-a');

describe('Function: failed (backoff)', () => {
  it('waits 5 s after a first failure, doubling per failure in a row up to 2 minutes', () => {
    let state: ProfileState = blank;
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      state = failed(state, NOW, undefined);
      waits.push((state.backoff?.until ?? 0) - NOW);
    }
    assert.deepEqual(waits, [5_000, 10_000, 20_000, 40_000, 80_000, 120_000, 120_000, 120_000]);
    assert.deepEqual([BACKOFF_FIRST_MS, BACKOFF_CAP_MS, state.backoff?.failures], [5_000, 120_000, 8]);
  });

  it("waits Identity's own Retry-After instead, counting the failure all the same", () => {
    const state = failed(failed(blank, NOW, undefined), NOW, 7_000);
    assert.deepEqual(state.backoff, { until: NOW + 7_000, failures: 2 });
  });

  it('ends with a success, which also forgets a refusal', () => {
    const state = succeeded('user-a', token(MINUTE), NOW);
    assert.deepEqual([state.backoff, state.refused, state.confirmedAt], [null, null, NOW]);
  });
});

describe('Function: decide', () => {
  it('serves a token fresh for minTtl, to the millisecond', () => {
    const state = succeeded('user-a', token(300_000), NOW - HOUR);
    assert.equal(decide(state, ask()).kind, 'fresh');
    assert.equal(decide(state, ask({ now: NOW + 1 })).kind, 'ask');
  });

  it('refuses only the very credentials Identity refused', () => {
    const state = refused(blank, 'key-1', 401);
    assert.deepEqual(decide(state, ask()), { kind: 'refused', status: 401 });
    assert.deepEqual(decide(state, ask({ credentials: 'key-2' })), { kind: 'ask', probe: false });
  });

  it('serves a token short of minTtl degraded while Identity confirmed it less than quietMs ago, then asks', () => {
    const state = succeeded('user-a', token(10 * MINUTE), NOW);
    assert.deepEqual(decide(state, ask({ minTtlSeconds: 3600, now: NOW + MINUTE - 1 })), { kind: 'degraded', token: state.token, because: 'identity confirmed this token moments ago', upstreamFailed: false });
    assert.deepEqual(decide(state, ask({ minTtlSeconds: 3600, now: NOW + MINUTE })), { kind: 'ask', probe: false });
  });

  it('never serves a token with less than 60 s left, degraded or not', () => {
    const state = succeeded('user-a', token(60_000), NOW);
    assert.equal(decide(state, ask({ minTtlSeconds: 3600 })).kind, 'degraded');
    assert.equal(decide(state, ask({ minTtlSeconds: 3600, now: NOW + 1 })).kind, 'ask');
  });

  it('while backing off: serves a servable token degraded, else says how many whole seconds to wait; then probes once', () => {
    const backingOff = failed(blank, NOW, 2_500);
    assert.deepEqual(decide(backingOff, ask()), { kind: 'backing-off', retryAfterSeconds: 3 });
    assert.deepEqual(decide(backingOff, ask({ now: NOW + 2_400 })), { kind: 'backing-off', retryAfterSeconds: 1 });
    assert.deepEqual(decide(backingOff, ask({ now: NOW + 2_500 })), { kind: 'ask', probe: true });
    const withToken = failed(succeeded('user-a', token(10 * MINUTE), NOW - HOUR), NOW, 2_500);
    assert.deepEqual(decide(withToken, ask({ minTtlSeconds: 3600 })), { kind: 'degraded', token: withToken.token, because: 'identity failed; backing off before asking again', upstreamFailed: true });
  });

  it('keeps the state of the same identity, and starts blank for another', () => {
    const state = succeeded('user-a', token(MINUTE), NOW);
    assert.equal(forIdentity(state, 'user-a'), state);
    assert.deepEqual(forIdentity(state, 'user-b'), { identity: 'user-b', token: null, confirmedAt: 0, backoff: null, refused: null });
  });
});
