import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RECORD_FORMAT, recordAad, recordContext, tokenFromText, tokenText } from '../../functions/core/token-record.ts';
import type { Token } from '../../functions/core/token.ts';

const EXPIRES = Date.parse('2026-11-23T10:00:00.000Z');
/** Every field the seal keeps, each value distinct so a swapped field shows. */
const token: Token = {
  id: 'tok-1',
  expiresAt: EXPIRES,
  tenant: { id: '123456', name: 'acme' },
  defaultRegion: 'DFW',
  catalog: [
    {
      name: 'cloudFiles',
      type: 'object-store',
      endpoints: [{ publicURL: 'https://storage.dfw/v1/123456', internalURL: 'https://snet.dfw/v1/123456', region: 'DFW', tenantId: 'MossoCloudFS_1', versionId: null }],
    },
  ],
};
const sealedJson = () => JSON.parse(tokenText(token)) as Record<string, unknown>;

describe('Function: recordContext', () => {
  it('binds a data key to the service, stage, profile and record format', () => {
    assert.equal(RECORD_FORMAT, 'token/v1');
    assert.deepEqual(recordContext('prod', 'ops'), { service: 'rackspace-token-vendor', stage: 'prod', profile: 'ops', format: 'token/v1' });
  });
});

describe('Function: recordAad', () => {
  it('authenticates stage, profile, format and the clear attributes, in a fixed order', () => {
    const aad = recordAad(recordContext('prod', 'ops'), { identity: 'id-fp', expiresAt: EXPIRES, confirmedAt: EXPIRES - 5_000 });
    assert.equal(aad, JSON.stringify(['prod', 'ops', 'token/v1', 'id-fp', EXPIRES, EXPIRES - 5_000]));
  });
});

describe('Function: tokenText', () => {
  it('keeps a catalog fault through the seal, and writes the member only when there is one', () => {
    const faulty = { ...token, catalog: [], catalogFault: 'serviceCatalog is not a list' };
    assert.deepEqual(tokenFromText(tokenText(faulty), EXPIRES), faulty);
    assert.ok(!('catalogFault' in (tokenFromText(tokenText(token), EXPIRES) ?? {})));
    assert.ok(!tokenText(token).includes('catalogFault'));
  });

  it('seals id, tenant, region and catalog only: not the expiry (kept in clear) nor what parsing skipped', () => {
    const text = tokenText({ ...token, userId: 'u-9', skipped: ['catalog[3]'] });
    assert.deepEqual(JSON.parse(text), { id: 'tok-1', tenant: token.tenant, defaultRegion: 'DFW', catalog: token.catalog });
  });
});

describe('Function: tokenFromText', () => {
  it('gives back the sealed token with the expiry kept in clear', () => {
    assert.deepEqual(tokenFromText(tokenText(token), EXPIRES), token);
  });

  it('keeps nulls where Identity gives none: no tenant, a tenant without a name, no region', () => {
    const bare: Token = { id: 'tok-2', expiresAt: EXPIRES, tenant: null, defaultRegion: null, catalog: [] };
    assert.deepEqual(tokenFromText(tokenText(bare), EXPIRES), bare);
    const unnamed: Token = { ...bare, tenant: { id: '42', name: null } };
    assert.deepEqual(tokenFromText(tokenText(unnamed), EXPIRES), unnamed);
  });

  it('drops catalog and endpoint members it does not know, keeping the ones it does', () => {
    const json = sealedJson();
    const catalog = token.catalog.map((service) => ({ ...service, extra: 1, endpoints: service.endpoints.map((e) => ({ ...e, extra: 2 })) }));
    assert.deepEqual(tokenFromText(JSON.stringify({ ...json, catalog }), EXPIRES), token);
  });

  it('answers undefined for text that is not JSON', () => {
    assert.equal(tokenFromText('{"id":', EXPIRES), undefined);
  });

  it('answers undefined for JSON that is not a sealed token', () => {
    const json = sealedJson();
    const broken = [
      { ...json, id: '' },
      { ...json, credentials: 'not ours' },
      { ...json, tenant: { id: '123456', name: 'acme', extra: true } },
      { ...json, tenant: { id: '', name: 'acme' } },
      { ...json, defaultRegion: 7 },
      { ...json, catalog: [{ name: 'cloudFiles', type: '', endpoints: [] }] },
      { ...json, catalog: [{ name: '', type: 'object-store', endpoints: [] }] },
      { ...json, catalog: [{ name: 'cloudFiles', type: 'object-store', endpoints: [{ publicURL: '', internalURL: null, region: null, tenantId: null, versionId: null }] }] },
      null,
    ];
    for (const value of broken) assert.equal(tokenFromText(JSON.stringify(value), EXPIRES), undefined, JSON.stringify(value));
  });
});
