import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aloneTier, KeyRefused } from '../../functions/core/shared-tier.ts';
import type { Token } from '../../functions/core/token.ts';

const token: Token = { id: 'alone-tier-token-0001', expiresAt: Date.parse('2026-11-23T10:00:00Z'), tenant: { id: '110011', name: 'Acme' }, defaultRegion: 'ORD', catalog: [] };
const request = { minTtl: 300, deadline: Date.parse('2026-11-22T10:00:05Z'), knownIdentity: null };

describe('aloneTier: the shared tier turned off', () => {
  it('authenticates itself every time, with no refused key known, and says the token came from Identity', async () => {
    const guards: unknown[] = [];
    const answer = await aloneTier.obtain('billing', request, async (guard) => (guards.push(guard), { token, identity: 'demo@110011' }));
    assert.deepEqual(guards, [{ refusedKey: null }]);
    assert.deepEqual(answer, { token, identity: 'demo@110011', source: 'identity', fallback: null });
    assert.deepEqual([await aloneTier.peek('billing', 300), await aloneTier.record('billing'), await aloneTier.drop('billing', { token, identity: 'demo@110011' }), await aloneTier.holds('billing', token), aloneTier.fallback], [null, { held: null, unreadable: false }, true, null, null]);
  });

  it('hands the caller the error Identity gave, not the KeyRefused wrapper the fleet records', async () => {
    const refusal = new Error('Identity answered 401');
    await assert.rejects(aloneTier.obtain('billing', request, () => Promise.reject(new KeyRefused('fp-1', refusal))), (error) => error === refusal);
    const other = new Error('Identity answered 503');
    await assert.rejects(aloneTier.obtain('billing', request, () => Promise.reject(other)), (error) => error === other);
  });

  it('names its KeyRefused wrapper so a log line shows what it is, and keeps the fingerprint and the original error', () => {
    const original = new Error('Identity answered 401');
    const refused = new KeyRefused('fp-2', original);
    assert.deepEqual([refused.name, refused.message, refused.refusedKey, refused.original], ['KeyRefused', 'Identity refused the key', 'fp-2', original]);
  });
});
