import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fakeClock, HOUR } from '../support/clock.ts';
import { call } from '../support/events.ts';
import { DEMO_SECRET_ID } from '../local/demo.ts';
import { demosClosedAfterEach, type Demo } from '../support/demos.ts';

const NEW_KEY = 'rotated-under-traffic-0123456789abcdef';
const startDemo = demosClosedAfterEach();

/**
 * 50 callers × 40 requests, half of them asking for a token good for an hour, while the clock walks
 * 10 s per answer (5.5 h in all). Tokens live 2 h, so every hour some caller needs a new one. The
 * secret is trusted for a day: the worst case, a stale key stays cached. `at[n]` runs when the n-th
 * answer has come back.
 */
async function traffic(at: Record<number, (demo: Demo) => void>, secretTtlSeconds = 86_400) {
  const clock = fakeClock();
  const demo = await startDemo({
    env: { SECRET_TTL_SECONDS: String(secretTtlSeconds) },
    deps: { now: clock.now, sleep: clock.sleep, random: () => 0.5 },
    identity: { now: clock.now, lifetimeMs: 2 * HOUR },
    sink: () => {},
  });
  const statuses: number[] = [];
  const worker = async (id: number) => {
    for (let i = 0; i < 40; i++) {
      // The clock is shared by 50 concurrent callers and walks 10 s per answer, so a request in flight
      // sees simulated minutes pass: its deadline is set far out of reach of this simulation.
      const answer = await call(demo.handler, { query: { service: 'cloudFiles', minTtl: id % 2 ? '3600' : '60' }, remainingMs: 10 * HOUR });
      statuses.push(answer.statusCode);
      at[statuses.length]?.(demo);
      clock.advance(10_000);
    }
  };
  await Promise.all(Array.from({ length: 50 }, (_, id) => worker(id)));
  return { demo, statuses };
}

const rotateIdentity = (demo: Demo) => demo.identity.setUser('demo', { apiKey: NEW_KEY });
const rotateSecret = (demo: Demo) => demo.secrets.putSecret(DEMO_SECRET_ID, JSON.stringify({ username: 'demo', apiKey: NEW_KEY, identityUrl: demo.identity.url }));

describe('Rotation under traffic', () => {
  it('loses no request when the key changes in Secrets Manager and Identity together, mid-traffic', async () => {
    const { demo, statuses } = await traffic({ 500: (d) => (rotateSecret(d), rotateIdentity(d)) });
    assert.equal(statuses.length, 2_000);
    assert.deepEqual([...new Set(statuses)], [200]);
    // The stale cached key met one 401; one re-read picked up the new key. Renewals: hourly.
    assert.equal(demo.secrets.calls.GetSecretValue, 2);
    assert.ok(demo.identity.calls >= 5 && demo.identity.calls <= 8, `${demo.identity.calls} Identity calls`);
  });

  it('while Identity refuses the old key and the secret still holds it, the service heals from a token it holds: no request fails', async () => {
    // The rotation's halves 800 answers (8,000 simulated s) apart: the gap spans a renewal (hourly).
    // Before healing, renewals in the gap failed (502) until the secret was next read; now the first
    // renewal that meets the refusal reads the user's key with the token the service still holds and
    // stores it (core/heal.ts), and the secret's own change later is the same key.
    const { demo, statuses } = await traffic({ 300: rotateIdentity, 1_100: rotateSecret }, 1_800);
    assert.deepEqual([...new Set(statuses)], [200]);
    assert.equal(JSON.parse(demo.secrets.valueAt(DEMO_SECRET_ID, 'AWSCURRENT') as string).apiKey, NEW_KEY);
    assert.equal(demo.identity.requests.getKey, 1, 'healed once');
    assert.ok(demo.identity.calls <= 8, `${demo.identity.calls} Identity calls`);
  });
});
