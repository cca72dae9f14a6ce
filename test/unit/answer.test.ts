import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseAccess } from '../../functions/adapters/identity-schema.ts';
import { EndpointNotFoundError } from '../../functions/core/errors.ts';
import type { Token } from '../../functions/core/token.ts';
import { answerText } from '../../functions/token/answer.ts';
import { endpointFor, memoisedEndpoints } from '../../functions/token/endpoint-cache.ts';

// The warm path's memos must never answer something stale: these pin when they recompute.
const NOW = Date.UTC(2026, 10, 23, 10);
const seed = JSON.parse(readFileSync('test/fixtures/seed-client-devguide.json', 'utf8'));
const fresh = (): Token => ({ ...(parseAccess(seed) as Token), expiresAt: NOW + 3_600_000 });

describe('Function: endpointFor (memoised resolution)', () => {
  it('returns the same endpoint object for the same request on the same token, and resolves anew on another token', () => {
    const token = fresh();
    const request = { service: 'cloudFiles', region: 'dfw', interface: 'internal' } as const;
    const first = endpointFor(token, request);
    assert.equal(endpointFor(token, { ...request }), first);
    assert.notEqual(endpointFor(token, { ...request, interface: 'public' }), first);
    const other = endpointFor(fresh(), request);
    assert.notEqual(other, first);
    assert.deepEqual(other, first);
  });

  it('keeps one entry for every region the catalog does not list, however many distinct ones are asked for', () => {
    // Seed 000: cloudDNS is global, so any region answers it (the fallback that once kept one entry per raw text).
    const token = { ...(parseAccess(JSON.parse(readFileSync('test/fixtures/seed-images-guide.json', 'utf8'))) as Token), expiresAt: NOW + 3_600_000 };
    const first = endpointFor(token, { service: 'cloudDNS', region: 'X0', interface: 'public' });
    for (let i = 1; i < 5_000; i++) assert.equal(endpointFor(token, { service: 'cloudDNS', region: `X${i}`, interface: 'public' }), first);
    assert.equal(memoisedEndpoints(token), 1);
  });

  it('keeps one entry per region whatever its case', () => {
    const token = fresh();
    const spellings = ['dfw', 'DFW', 'Dfw', 'dFw', 'dfW'];
    const [first] = spellings.map((region) => endpointFor(token, { service: 'cloudFiles', region, interface: 'public' }));
    for (const region of spellings) assert.equal(endpointFor(token, { service: 'cloudFiles', region, interface: 'public' }), first);
    assert.equal(memoisedEndpoints(token), 1);
  });

  it('holds 512 entries at most: the 513th distinct request starts the memo afresh', () => {
    const regions = Array.from({ length: 513 }, (_, i) => `R${i}`);
    const token: Token = {
      ...fresh(),
      catalog: [{ name: 'wide', type: 'x', endpoints: regions.map((region) => ({ publicURL: `https://${region}.example/`, internalURL: null, region, tenantId: null, versionId: null })) }],
    };
    const resolve = (region: string) => endpointFor(token, { service: 'wide', region, interface: 'public' }).region;
    for (const region of regions.slice(0, 512)) assert.equal(resolve(region), region);
    assert.equal(memoisedEndpoints(token), 512);
    assert.equal(resolve('R512'), 'R512');
    assert.equal(memoisedEndpoints(token), 1);
  });

  it('counts no entries for a token never resolved on, and one per distinct request', () => {
    const token = fresh();
    assert.equal(memoisedEndpoints(token), 0);
    endpointFor(token, { service: 'cloudFiles', region: 'dfw', interface: 'public' });
    endpointFor(token, { service: 'cloudFiles', region: 'ord', interface: 'public' });
    assert.equal(memoisedEndpoints(token), 2);
  });

  it('does not let a region-less answer stand in for a region the catalog does not list', () => {
    // Without a default region, a service with one endpoint needs no region; a region it lacks is still a 404.
    const token: Token = {
      ...fresh(),
      defaultRegion: null,
      catalog: [{ name: 'solo', type: 'x', endpoints: [{ publicURL: 'https://ord.solo.example/', internalURL: null, region: 'ORD', tenantId: null, versionId: null }] }],
    };
    assert.equal(endpointFor(token, { service: 'solo', region: undefined, interface: 'public' }).url, 'https://ord.solo.example/');
    assert.throws(() => endpointFor(token, { service: 'solo', region: 'LON', interface: 'public' }), (error) => error instanceof EndpointNotFoundError && /LON/.test(error.message));
  });

  it('keys the memo on the region: a warm token answers ORD after DFW, and dfw like DFW', () => {
    const token = fresh();
    const at = (region: string | undefined, service = 'cloudFiles') => endpointFor(token, { service, region, interface: 'public' }).url;
    assert.deepEqual([at('DFW'), at('ORD'), at('dfw'), at('ord')], [
      'https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_aaaa-bbbb-cccc',
      'https://storage101.ord1.clouddrive.com/v1/MossoCloudFS_aaaa-bbbb-cccc',
      'https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_aaaa-bbbb-cccc',
      'https://storage101.ord1.clouddrive.com/v1/MossoCloudFS_aaaa-bbbb-cccc',
    ]);
    assert.equal(at(undefined), at('DFW'), "no region is the user's default, DFW");
    assert.equal(at('ORD', 'cloudServersOpenStack'), 'https://ord.servers.api.rackspacecloud.com/v2/12345', 'and on the service');
  });

  it("passes the resolver's errors through: an unknown service is a 404 on every call", () => {
    const token = fresh();
    for (let i = 0; i < 2; i++) {
      assert.throws(() => endpointFor(token, { service: 'nope', region: undefined, interface: 'public' }), (error) => error instanceof EndpointNotFoundError && error.status === 404 && /nope/.test(error.message));
    }
  });
});

describe('Function: answerText (memoised serialisation)', () => {
  it('answers the same text within one second of expiresIn, and new text when expiresIn or the degraded flag changes', () => {
    const token = fresh();
    const lease = { token, cacheHit: true, degraded: false };
    // expiresIn is 3599 from NOW + 1 ms to NOW + 1,000 ms.
    const a = answerText(lease, null, NOW + 1);
    assert.equal(answerText(lease, null, NOW + 1_000), a);
    const later = answerText(lease, null, NOW + 1_001);
    assert.deepEqual([JSON.parse(a).expiresIn, JSON.parse(later).expiresIn], [3599, 3598]);
    const degraded = JSON.parse(answerText({ ...lease, degraded: true }, null, NOW + 1_001));
    assert.equal(degraded.degraded, true);
    assert.equal(JSON.parse(answerText(lease, null, NOW + 1_001)).degraded, undefined);
  });

  it('keeps answers for different endpoints of one token apart', () => {
    const token = fresh();
    const lease = { token, cacheHit: true, degraded: false };
    const files = endpointFor(token, { service: 'cloudFiles', region: 'ord', interface: 'public' });
    const dns = endpointFor(token, { service: 'cloudDNS', region: undefined, interface: 'public' });
    assert.equal(JSON.parse(answerText(lease, files, NOW)).endpoint.service, 'cloudFiles');
    assert.equal(JSON.parse(answerText(lease, dns, NOW)).endpoint.service, 'cloudDNS');
    assert.equal(JSON.parse(answerText(lease, null, NOW)).endpoint, undefined);
  });
});
