// Identity's answer: only the token is mandatory. Built from the Rackspace 2015 token-operations sample
// (test/fixtures/public/rackspace-2015-token-operations.json, from rackerlabs/docs-cloud-identity) and
// gophercloud's Identity 2.0 sample (gophercloud/gophercloud openstack/identity/common_test.go), each
// with the one odd entry or format a test is about.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { faultName, parseAccess } from '../../functions/adapters/identity-schema.ts';
import { resolveEndpoint } from '../../functions/core/catalog.ts';
import type { Token } from '../../functions/core/token.ts';

type Json = { access: Record<string, any> };
const sample = (name: string): Json => JSON.parse(readFileSync(new URL(`../fixtures/public/${name}`, import.meta.url), 'utf8')) as Json;
const parsed = (json: unknown): Token => {
  const token = parseAccess(json);
  assert.ok(token, 'the answer parses');
  return token;
};
const files = (token: Token) => resolveEndpoint(token.catalog, { service: 'cloudFiles', region: 'IAD', interface: 'internal' }, token.defaultRegion).url;

describe('Function: parseAccess', () => {
  it('keeps the rest of the catalog when one service has no name, no type or no endpoint list, and notes what it skipped', () => {
    const json = sample('rackspace-2015-token-operations.json');
    json.access.serviceCatalog.push({ type: 'rax:queues', endpoints: [] }, { name: 'cloudQueues', type: 7, endpoints: [] }, { name: 'cloudImages', type: 'image', endpoints: 'none' }, 'junk');
    const token = parsed(json);
    assert.equal(files(token), 'https://snet-storage101.iad3.clouddrive.com/v1/MossoCloudFS_9c24e3db-52bf-4f26-8dc1-220871796e9f');
    assert.ok(!token.catalog.some((s) => ['cloudQueues', 'cloudImages'].includes(s.name)));
    assert.deepEqual(token.skipped, [
      'serviceCatalog[9] (no usable name)',
      "serviceCatalog[10] 'cloudQueues' (no usable type)",
      "serviceCatalog[11] 'cloudImages' (no usable endpoints)",
      'serviceCatalog[12] (no usable name, type, endpoints)',
    ]);
  });

  it('skips an endpoint without a usable publicURL or with a region that is not a string, and keeps its siblings', () => {
    const json = sample('rackspace-2015-token-operations.json');
    const cloudFiles = json.access.serviceCatalog.find((s: { name: string }) => s.name === 'cloudFiles');
    cloudFiles.endpoints.push({ region: 'ORD', publicURL: { href: 'https://hunter2.example/' } }, { region: 'LON', tenantId: 'x' }, { region: 3, publicURL: 'https://three.example/' }, null);
    const token = parsed(json);
    assert.deepEqual(token.catalog.find((s) => s.name === 'cloudFiles')?.endpoints.map((e) => e.region), ['DFW', 'SYD', 'IAD', 'HKG']);
    assert.deepEqual(token.skipped, ["'cloudFiles': 4 of 8 endpoints (no usable publicURL, or a region that is not a string)"]);
    assert.ok(!JSON.stringify(token.skipped).includes('hunter2'), 'notes name entries, never their values');
  });

  it('reads a numeric tenantId (tenant and endpoint) as its decimal string', () => {
    const json = sample('rackspace-2015-token-operations.json');
    json.access.token.tenant = { id: 123456, name: 123456 };
    for (const service of json.access.serviceCatalog) for (const endpoint of service.endpoints) if (endpoint.tenantId === '123456') endpoint.tenantId = 123456;
    const token = parsed(json);
    assert.deepEqual(token.tenant, { id: '123456', name: '123456' });
    assert.equal(resolveEndpoint(token.catalog, { service: 'cloudDNS', interface: 'public' }, null).tenantId, '123456');
    assert.equal(token.skipped, undefined);
  });

  it('gives a tenant with only an id the name null, and an unusable tenant null, without failing the token', () => {
    const json = sample('rackspace-2015-token-operations.json');
    json.access.token.tenant = { id: '123456' };
    assert.deepEqual(parsed(json).tenant, { id: '123456', name: null });
    json.access.token.tenant = { name: 'no id' };
    const token = parsed(json);
    assert.equal(token.tenant, null);
    assert.deepEqual(token.skipped, ['token.tenant (no usable id)']);
  });

  it('gives no tenant, user or catalog (absent or null) null and an empty catalog, without a note', () => {
    const json = sample('gophercloud-identity-v2.json');
    for (const none of [undefined, null]) {
      const token = parsed({ access: { token: { ...json.access.token, tenant: none }, user: none, serviceCatalog: none } });
      assert.deepEqual([token.tenant, token.defaultRegion, token.userId, token.catalog, token.skipped], [null, null, null, [], undefined], String(none));
    }
  });

  it('marks a serviceCatalog that is not a list (the v1.1 object shape) as a catalog fault, keeping the token', () => {
    const json = sample('gophercloud-identity-v2.json');
    const token = parsed({ access: { ...json.access, serviceCatalog: { cloudFiles: [{ region: 'DFW', publicURL: 'https://files.example/' }] } } });
    assert.deepEqual([token.id, token.catalog, token.catalogFault, token.skipped], [json.access.token.id, [], 'serviceCatalog is not a list', ['serviceCatalog (not a list)']]);
    assert.equal(parsed(json).catalogFault, undefined);
  });

  it('drops a tenant whose id is unusable, and a name that is not a string, noting each', () => {
    const json = sample('gophercloud-identity-v2.json');
    const tenant = (value: unknown) => parsed({ access: { ...json.access, token: { ...json.access.token, tenant: value } } });
    const noId = tenant({ id: true, name: 'My Project' });
    assert.deepEqual([noId.tenant, noId.skipped], [null, ['token.tenant (no usable id)']]);
    const oddName = tenant({ id: 't1000', name: ['My Project'] });
    assert.deepEqual([oddName.tenant, oddName.skipped], [{ id: 't1000', name: null }, ['token.tenant.name (not a string)']]);
  });

  it('reads a null or blank tenant name, region or internalURL as none, without a note', () => {
    const json = sample('gophercloud-identity-v2.json');
    const endpoint = { publicURL: 'https://dns.example/v1.0/t1000', region: '  ', internalURL: null, tenantId: ' ', versionId: null };
    for (const name of [null, '', '   ']) {
      const token = parsed({ access: { ...json.access, token: { ...json.access.token, tenant: { id: 't1000', name } }, serviceCatalog: [{ name: 'cloudDNS', type: 'rax:dns', endpoints: [endpoint] }] } });
      assert.deepEqual(token.tenant, { id: 't1000', name: null }, JSON.stringify(name));
      assert.deepEqual(token.catalog[0]?.endpoints, [{ publicURL: 'https://dns.example/v1.0/t1000', internalURL: null, region: null, tenantId: null, versionId: null }]);
      assert.equal(token.skipped, undefined);
    }
  });

  it("keeps an endpoint whose internalURL, tenantId or versionId is unusable, with that field null", () => {
    const json = sample('gophercloud-identity-v2.json');
    const endpoint = { publicURL: 'https://dns.example/v1.0/t1000', region: 'ORD', internalURL: 7, tenantId: -1, versionId: { major: 1 } };
    const token = parsed({ access: { ...json.access, serviceCatalog: [{ name: 'cloudDNS', type: 'rax:dns', endpoints: [endpoint] }] } });
    assert.deepEqual(token.catalog[0]?.endpoints, [{ publicURL: 'https://dns.example/v1.0/t1000', internalURL: null, region: 'ORD', tenantId: null, versionId: null }]);
  });

  it("reads the user's id, and gives an unusable one null without failing the token", () => {
    const json = sample('gophercloud-identity-v2.json');
    assert.equal(parsed(json).userId, 'u123');
    assert.equal(parsed({ access: { ...json.access, user: { ...json.access.user, id: false } } }).userId, null);
  });

  it('reads expires with spaces around it (real answers carry trailing spaces)', () => {
    const json = sample('gophercloud-identity-v2.json');
    const token = parsed({ access: { ...json.access, token: { ...json.access.token, expires: ' 2010-11-01T03:32:15-05:00 \n' } } });
    assert.equal(token.expiresAt, Date.UTC(2010, 10, 1, 8, 32, 15));
  });

  it('reads expires with a +0000 or -0500 offset like +00:00 and -05:00', () => {
    const json = sample('gophercloud-identity-v2.json');
    const at = (expires: string) => parsed({ access: { ...json.access, token: { ...json.access.token, expires } } }).expiresAt;
    assert.equal(at('2010-11-01T03:32:15-0500'), at('2010-11-01T03:32:15-05:00'));
    assert.equal(at('2010-11-01T03:32:15-0500'), Date.UTC(2010, 10, 1, 8, 32, 15));
    assert.equal(at('2015-06-05T16:24:57.637+0000'), Date.UTC(2015, 5, 5, 16, 24, 57, 637));
  });

  it('still refuses an answer without the token itself: no id, or no parseable expires', () => {
    const json = sample('gophercloud-identity-v2.json');
    const withToken = (token: unknown) => parseAccess({ access: { ...json.access, token } });
    for (const token of [{ expires: '2010-11-01T03:32:15Z' }, { id: 'x' }, { id: 'x', expires: '2010-11-01' }, { id: 'x', expires: 'tomorrow' }, { id: '  ', expires: '2010-11-01T03:32:15Z' }, 'x']) {
      assert.equal(withToken(token), undefined, JSON.stringify(token));
    }
  });

  it('ignores an unusable default region or catalog shape, noting it', () => {
    const json = sample('gophercloud-identity-v2.json');
    const token = parsed({ access: { ...json.access, user: { 'RAX-AUTH:defaultRegion': ['DFW'] }, serviceCatalog: { cloudFiles: {} } } });
    assert.deepEqual([token.defaultRegion, token.catalog], [null, []]);
    assert.deepEqual(token.skipped, ['user.RAX-AUTH:defaultRegion (not a string)', 'serviceCatalog (not a list)']);
  });

  it('reads the older nested version object (libcloud)', () => {
    const token = parsed(sample('libcloud-openstack-v2-auth.json'));
    assert.equal(token.catalog.find((s) => s.name === 'cloudServers')?.endpoints[0]?.versionId, '1.0');
  });

  it('keeps the notes short however much is skipped', () => {
    const json = sample('gophercloud-identity-v2.json');
    json.access.serviceCatalog = Array.from({ length: 1_000 }, () => ({ name: 'x' }));
    const token = parsed(json);
    assert.equal(token.skipped?.length, 21);
    assert.equal(token.skipped?.at(-1), '… and 980 more');
  });
});

describe('Function: faultName', () => {
  it("names the fault by the error body's single key", () => {
    assert.equal(faultName({ unauthorized: { code: 401, message: 'Unable to authenticate user with credentials provided.' } }), 'unauthorized');
  });

  it('names nothing for a body that is not a JSON object, or whose key is not a plain word of at most 40 letters (it goes to the log)', () => {
    for (const body of [null, undefined, 'unauthorized', 401, {}, { '': {} }, { 'bad request': {} }, { '<b>unauthorized': {} }, { 'unauthorized</b>': {} }, { '9lives': {} }, { ['a'.repeat(41)]: {} }]) {
      assert.equal(faultName(body), undefined, JSON.stringify(body));
    }
    assert.equal(faultName({ ['a'.repeat(40)]: {} }), 'a'.repeat(40));
  });
});
