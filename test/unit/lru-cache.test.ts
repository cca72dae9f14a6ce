import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRequire } from 'node:module';
import LRUCache from '../../functions/adapters/lru-cache.ts';

const Mnemonist = createRequire(import.meta.url)('mnemonist/lru-cache') as typeof LRUCache;

// The deployed bundle swaps mnemonist's LRU cache for ours: both must evict the same entries.
describe('the LRU cache the bundle uses instead of mnemonist', () => {
  it('evicts the least recently used entry, where get refreshes an entry and peek does not, as mnemonist does', () => {
    const ours = new LRUCache<string, number>(2);
    const theirs = new Mnemonist<string, number>(2);
    const seen: Array<[unknown, unknown]> = [];
    for (const cache of [ours, theirs]) {
      cache.set('a', 1);
      cache.set('b', 2);
      cache.get('a'); // a is now the most recent
      cache.set('c', 3); // evicts b
      cache.peek('a');
      cache.set('d', 4); // evicts a: peek did not refresh it
      seen.push([['a', 'b', 'c', 'd'].map((k) => cache.has(k)), cache.size]);
    }
    assert.deepEqual(seen[0], seen[1]);
    assert.deepEqual(seen[0], [[false, false, true, true], 2]);
  });

  it('refreshes an entry on get and on set, never on peek, and a get of a missing key adds nothing', () => {
    const cache = new LRUCache<string, number>(2);
    cache.set('a', 1).set('b', 2);
    assert.equal(cache.get('a'), 1);
    cache.set('c', 3); // b is the oldest now
    assert.deepEqual([cache.has('a'), cache.has('b'), cache.has('c')], [true, false, true]);
    cache.set('a', 10); // a refreshed by set: c is the oldest
    cache.set('d', 4);
    assert.deepEqual([cache.peek('a'), cache.has('c'), cache.has('d')], [10, false, true]);
    cache.set('e', 5); // a was only peeked since: it is the oldest
    assert.deepEqual([cache.has('a'), cache.has('d'), cache.has('e')], [false, true, true]);
    assert.equal(cache.get('missing'), undefined);
    assert.deepEqual([cache.has('missing'), cache.size], [false, 2]);
  });

  it('answers undefined for what it does not hold, replaces a value in place and empties on clear', () => {
    const cache = new LRUCache<string, string>(3);
    assert.equal(cache.get('x'), undefined);
    assert.equal(cache.peek('x'), undefined);
    cache.set('x', 'one').set('x', 'two');
    assert.deepEqual([cache.get('x'), cache.size], ['two', 1]);
    cache.clear();
    assert.deepEqual([cache.has('x'), cache.size], [false, 0]);
  });
});
