import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SecretCache } from '../../functions/core/secret-cache.ts';
import { SingleFlight } from '../../functions/core/single-flight.ts';

describe('Class: SecretCache', () => {
  const setup = () => {
    let now = 0;
    let reads = 0;
    let value = 'v1';
    let fail = false;
    const cache = new SecretCache<string>({
      now: () => now,
      ttlMs: 300_000,
      read: async () => {
        reads++;
        if (fail) throw new Error('read failed');
        return value;
      },
    });
    return { cache, advance: (ms: number) => (now += ms), reads: () => reads, rotate: (v: string) => (value = v), failing: (f: boolean) => (fail = f) };
  };

  it('reads once per TTL and shares one read among concurrent callers', async () => {
    const s = setup();
    const values = await Promise.all(Array.from({ length: 50 }, () => s.cache.get('id')));
    assert.deepEqual([new Set(values).size, s.reads()], [1, 1]);
    s.advance(299_999);
    await s.cache.get('id');
    assert.equal(s.reads(), 1);
    s.advance(1);
    await s.cache.get('id');
    assert.equal(s.reads(), 2);
  });

  it('re-reads at once on demand and keeps the new value', async () => {
    const s = setup();
    await s.cache.get('id');
    s.rotate('v2');
    assert.equal(await s.cache.reread('id'), 'v2');
    assert.equal(await s.cache.get('id'), 'v2');
    assert.equal(s.reads(), 2);
  });

  it('does not keep a failed read', async () => {
    const s = setup();
    s.failing(true);
    await assert.rejects(s.cache.get('id'), /read failed/);
    s.failing(false);
    assert.equal(await s.cache.get('id'), 'v1');
  });
});

describe('Class: SingleFlight', () => {
  it('turns a synchronous throw into a rejection and forgets it', async () => {
    const flight = new SingleFlight<number>();
    await assert.rejects(flight.run('k', () => { throw new Error('sync'); }), /sync/);
    assert.equal(await flight.run('k', async () => 2), 2);
  });
});
