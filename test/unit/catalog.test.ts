import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccess } from '../../functions/adapters/identity-schema.ts';
import { loadToken, rejects, resolve } from '../support/catalog.ts';
import { resolveEndpoint } from '../../functions/core/catalog.ts';
import { AmbiguousEndpointError, EndpointNotFoundError } from '../../functions/core/errors.ts';

// Seed 002: defaultRegion DFW, values with trailing spaces, two `compute` services.
const devguide = loadToken('seed-client-devguide.json');
// Seed 000: defaultRegion ORD, cloudDatabases in SYD/DFW/HKG only, global cloudDNS.
const images = loadToken('seed-images-guide.json');


describe('Function: resolveEndpoint', () => {
  describe('rule 1: service by name, else by type', () => {
    it('finds a service by its name', () => {
      assert.equal(resolve(devguide, { service: 'cloudFiles', region: 'DFW' }).url, 'https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_aaaa-bbbb-cccc');
    });

    it('finds a service by its type', () => {
      const found = resolve(devguide, { service: 'object-store', region: 'ORD' });
      assert.deepEqual([found.service, found.type, found.region], ['cloudFiles', 'object-store', 'ORD']);
    });

    it('prefers an exact name over services that share it as a type', () => {
      const catalog = [
        { name: 'compute', type: 'legacy', endpoints: [{ publicURL: 'https://named.example/', internalURL: null, region: null, tenantId: null, versionId: null }] },
        { name: 'cloudServers', type: 'compute', endpoints: [{ publicURL: 'https://typed.example/', internalURL: null, region: null, tenantId: null, versionId: null }] },
      ];
      assert.equal(resolveEndpoint(catalog, { service: 'compute', interface: 'public' }, null).url, 'https://named.example/');
    });

    it('matches names case-sensitively, and lists every service when nothing matches', () => {
      const error = rejects(() => resolve(devguide, { service: 'cloudfiles' }), EndpointNotFoundError);
      assert.equal(error.extensions.missing, 'service');
      assert.equal((error.extensions.available as unknown[]).length, 8);
      assert.deepEqual((error.extensions.available as unknown[])[7], { name: 'cloudFiles', type: 'object-store' });
    });
  });

  describe('rule 2: region asked for, else default region, else region-less', () => {
    it('compares regions case-insensitively and answers the catalog spelling', () => {
      assert.equal(resolve(devguide, { service: 'cloudFiles', region: 'oRd' }).region, 'ORD');
    });

    it("uses the user's default region when none is asked for", () => {
      assert.equal(resolve(devguide, { service: 'cloudFiles' }).region, 'DFW');
      assert.equal(resolve(images, { service: 'cloudDatabases' }, 'HKG').url, 'https://hkg.databases.api.rackspacecloud.com/v1.0/110011');
    });

    it('narrows a shared type by region: compute in DFW is the regional service, not the global one', () => {
      assert.equal(resolve(devguide, { service: 'compute' }).service, 'cloudServersOpenStack');
      assert.equal(resolve(devguide, { service: 'compute', region: 'ord' }).url, 'https://ord.servers.api.rackspacecloud.com/v2/12345');
    });

    it('falls back to a global endpoint, reported with region null, for a global service', () => {
      const dns = resolve(images, { service: 'cloudDNS' });
      assert.deepEqual([dns.url, dns.region], ['https://dns.api.rackspacecloud.com/v1.0/110011', null]);
      assert.equal(resolve(images, { service: 'rax:dns', region: 'DFW' }).region, null);
    });

    it('never substitutes another region: a missing one is a 404 listing the regions that exist', () => {
      const asked = rejects(() => resolve(devguide, { service: 'cloudFiles', region: 'IAD' }), EndpointNotFoundError);
      assert.equal(asked.extensions.missing, 'region');
      assert.deepEqual(asked.extensions.available, ['DFW', 'ORD']);
      // Seed 000's user defaults to ORD, where cloudDatabases has no endpoint.
      const byDefault = rejects(() => resolve(images, { service: 'cloudDatabases' }), EndpointNotFoundError);
      assert.deepEqual(byDefault.extensions.available, ['SYD', 'DFW', 'HKG']);
      assert.match(byDefault.message, /default region 'ORD'/);
    });

    it('treats an empty region as region-less', () => {
      const token = parseAccess({
        access: {
          token: { id: 't', expires: '2030-01-01T00:00:00Z' },
          serviceCatalog: [{ name: 'cloudMonitoring', type: 'rax:monitor', endpoints: [{ publicURL: 'https://monitoring.example/v1.0/1', region: '' }] }],
        },
      });
      assert.ok(token);
      assert.equal(resolve(token, { service: 'cloudMonitoring', region: 'LON' }).region, null);
    });
  });

  describe('rule 3: interface, with no fallback', () => {
    it('answers the ServiceNet internalURL for interface internal', () => {
      const found = resolve(devguide, { service: 'cloudFiles', region: 'dfw', interface: 'internal' });
      assert.deepEqual([found.url, found.interface], ['https://snet-storage101.dfw1.clouddrive.com/v1/MossoCloudFS_aaaa-bbbb-cccc', 'internal']);
    });

    it('is a 404 naming the public interface when the endpoint has no internalURL', () => {
      const error = rejects(() => resolve(devguide, { service: 'cloudDatabases', interface: 'internal' }), EndpointNotFoundError);
      assert.deepEqual([error.extensions.missing, error.extensions.available], ['interface', ['public']]);
      rejects(() => resolve(images, { service: 'cloudDNS', interface: 'internal' }), EndpointNotFoundError);
    });
  });

  describe('rule 4: one, none or several', () => {
    it('is a 409 listing the candidates when two services fit equally', () => {
      const catalog = [...devguide.catalog, { name: 'cloudFilesMirror', type: 'object-store', endpoints: [{ publicURL: 'https://mirror.example/', internalURL: null, region: 'DFW', tenantId: null, versionId: null }] }];
      const error = rejects(() => resolveEndpoint(catalog, { service: 'object-store', interface: 'public' }, 'DFW'), AmbiguousEndpointError);
      assert.deepEqual(error.extensions.candidates, [
        { service: 'cloudFiles', type: 'object-store', region: 'DFW', url: 'https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_aaaa-bbbb-cccc' },
        { service: 'cloudFilesMirror', type: 'object-store', region: 'DFW', url: 'https://mirror.example/' },
      ]);
      // Both are in DFW with no version: only a service name tells them apart, so only that is suggested.
      assert.match(error.message, /narrow it with a service name \(cloudFiles, cloudFilesMirror\)\.$/);
      // …and the interface narrows it: only cloudFiles has ServiceNet.
      assert.equal(resolveEndpoint(catalog, { service: 'object-store', interface: 'internal' }, 'DFW').service, 'cloudFiles');
    });

    it('is a 409 when one service has two endpoints in the region asked for', () => {
      const catalog = [{ name: 'dup', type: 'x', endpoints: [1, 2].map((n) => ({ publicURL: `https://${n}.example/`, internalURL: null, region: 'DFW', tenantId: null, versionId: null })) }];
      const error = rejects(() => resolveEndpoint(catalog, { service: 'dup', region: 'DFW', interface: 'public' }, null), AmbiguousEndpointError);
      // Nothing a caller can pass tells them apart, so nothing is suggested.
      assert.match(error.message, /does not tell apart/);
    });
  });

  describe('trimming (seed 002 has trailing spaces)', () => {
    it('trims every string it answers with', () => {
      const cdn = resolve(devguide, { service: 'cloudFilesCDN', region: 'ORD' });
      assert.equal(cdn.url, 'https://cdn2.clouddrive.com/v1/MossoCloudFS_aaaa-bbbb-cccc');
      assert.equal(cdn.tenantId, 'MossoCloudFS_aaaa-bbbb-cccc');
    });

    it('answers the endpoint tenantId, which may differ from the token tenant', () => {
      assert.equal(resolve(devguide, { service: 'cloudLoadBalancers', region: 'ORD' }).tenantId, '645990');
    });
  });
});

describe('Function: resolveEndpoint (what each refusal tells the caller)', () => {
  type Endpoint = { region?: string | null; versionId?: string | null; internalURL?: string | null; url: string };
  const service = (name: string, type: string, endpoints: Endpoint[]) => ({
    name,
    type,
    endpoints: endpoints.map((e) => ({ publicURL: e.url, internalURL: e.internalURL ?? null, region: e.region ?? null, tenantId: null, versionId: e.versionId ?? null })),
  });
  const error404 = (fn: () => unknown) => rejects(fn, EndpointNotFoundError);

  it('blames the service step for a service listed without endpoints, and lists only services that have some', () => {
    const catalog = [service('cloudIdentity', 'identity', []), service('cloudDNS', 'rax:dns', [{ url: 'https://dns.example/' }])];
    for (const asked of ['cloudIdentity', 'identity']) {
      const bare = error404(() => resolveEndpoint(catalog, { service: asked, interface: 'public' }, null));
      assert.deepEqual([bare.message, bare.extensions.missing, bare.extensions.available], [`The catalog lists '${asked}' without any endpoint.`, 'service', [{ name: 'cloudDNS', type: 'rax:dns' }]]);
    }
    const unknown = error404(() => resolveEndpoint(catalog, { service: 'nope', interface: 'public' }, null));
    assert.deepEqual([unknown.message, unknown.extensions.available], ["The catalog has no service named or typed 'nope'.", [{ name: 'cloudDNS', type: 'rax:dns' }]]);
  });

  it('says that only the public interface exists when no endpoint has a ServiceNet URL', () => {
    const error = error404(() => resolve(devguide, { service: 'cloudDatabases', region: 'DFW', interface: 'internal' }));
    assert.equal(error.message, "'cloudDatabases' has no internal (ServiceNet) URL here; only the public interface is available.");
  });

  it('lists each version once when none matches, and says to leave version out when the catalog gives none', () => {
    const catalog = [service('bigData', 'rax:bigdata', [{ url: 'https://a.example/', versionId: '1.0' }, { url: 'https://b.example/', versionId: '1.0' }, { url: 'https://c.example/', versionId: '2' }, { url: 'https://d.example/' }])];
    const versioned = error404(() => resolveEndpoint(catalog, { service: 'bigData', version: '3', interface: 'public' }, null));
    assert.deepEqual([versioned.message, versioned.extensions.missing, versioned.extensions.available], ["'bigData' has no endpoint with version '3' here; pass one of the available versions.", 'version', ['1.0', '2']]);
    const none = error404(() => resolveEndpoint([service('dns', 'rax:dns', [{ url: 'https://dns.example/' }])], { service: 'dns', version: '2', interface: 'public' }, null));
    assert.deepEqual([none.message, none.extensions.available], ["'dns' has no endpoint with version '2' here; the catalog gives it no version: leave version out.", []]);
  });

  it('suggests each narrowing that tells the candidates apart, naming only real values', () => {
    const catalog = [service('x', 'x', [{ url: 'https://dfw.example/', region: 'DFW', versionId: '1' }, { url: 'https://ord.example/', region: 'ORD' }])];
    const error = rejects(() => resolveEndpoint(catalog, { service: 'x', interface: 'public' }, null), AmbiguousEndpointError);
    assert.equal(error.message, "'x' matches 2 endpoints; narrow it with a region (DFW, ORD) or a version (1).");
    assert.deepEqual(error.extensions.candidates, [
      { service: 'x', type: 'x', region: 'DFW', version: '1', url: 'https://dfw.example/' },
      { service: 'x', type: 'x', region: 'ORD', url: 'https://ord.example/' },
    ]);
    const same = rejects(() => resolveEndpoint([service('dup', 'x', [{ url: 'https://1.example/', region: 'DFW' }, { url: 'https://2.example/', region: 'DFW' }])], { service: 'dup', region: 'DFW', interface: 'public' }, null), AmbiguousEndpointError);
    assert.equal(same.message, "'dup' matches 2 endpoints that the catalog does not tell apart (same service, region and version).");
  });

  it('answers the region-less endpoint when no region is asked and the user has no default region, not a 409 with the regional ones', () => {
    const catalog = [service('x', 'x', [{ url: 'https://dfw.example/', region: 'DFW' }, { url: 'https://global.example/' }, { url: 'https://ord.example/', region: 'ORD' }])];
    const answer = resolveEndpoint(catalog, { service: 'x', interface: 'public' }, null);
    assert.deepEqual([answer.url, answer.region], ['https://global.example/', null]);
    // A region asked for, or a default region, still picks the regional endpoint.
    assert.equal(resolveEndpoint(catalog, { service: 'x', region: 'ord', interface: 'public' }, null).url, 'https://ord.example/');
    assert.equal(resolveEndpoint(catalog, { service: 'x', interface: 'public' }, 'DFW').url, 'https://dfw.example/');
    // Two region-less endpoints are still told apart by nothing: a 409 between those two only.
    const twoGlobal = [service('y', 'y', [{ url: 'https://a.example/', versionId: '1' }, { url: 'https://b.example/', versionId: '2' }, { url: 'https://dfw.example/', region: 'DFW' }])];
    const error = rejects(() => resolveEndpoint(twoGlobal, { service: 'y', interface: 'public' }, null), AmbiguousEndpointError);
    assert.deepEqual(error.extensions.candidates, [
      { service: 'y', type: 'y', region: null, version: '1', url: 'https://a.example/' },
      { service: 'y', type: 'y', region: null, version: '2', url: 'https://b.example/' },
    ]);
  });
});
