// resolveEndpoint on catalogs nobody on this team wrote. Each fixture in test/fixtures/public/ names
// its source in its `_source` field; the source is cited again above each group of tests.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadToken, rejects, resolve } from '../support/catalog.ts';
import { resolveEndpoint } from '../../functions/core/catalog.ts';
import { AmbiguousEndpointError, EndpointNotFoundError } from '../../functions/core/errors.ts';
import { parseQuery } from '../../functions/token/request.ts';

// Rackspace Identity v2.0 token-operations JSON example (2015): rackerlabs/docs-cloud-identity,
// api-docs/api-reference/methods/token/post-authenticate-as-user-with-password-or-api-key-v2.0-tokens.rst
const rackspace2015 = loadToken('public/rackspace-2015-token-operations.json');
// Rackspace getting-started sample: rackerlabs/docs-cloud-rackconnect, api-docs/getting-started/common-gs/samples/service-catalog-endpoint.rst
const bigData = loadToken('public/rackspace-cloudbigdata-versions.json');
// OpenStack Identity 2.0 example as kept by gophercloud/gophercloud, openstack/identity/common_test.go
const gophercloud = loadToken('public/gophercloud-identity-v2.json');
// pkgcloud/pkgcloud, test/fixtures/rackspace/auth.json
const pkgcloud = loadToken('public/pkgcloud-rackspace-auth.json');
// apache/libcloud, libcloud/test/compute/fixtures/openstack/_v2_0__auth.json
const libcloud = loadToken('public/libcloud-openstack-v2-auth.json');


describe('Function: resolveEndpoint on published catalogs', () => {
  describe('a region-less endpoint answers a regional request only for a truly global service', () => {
    it('answers compute in ORD with a 404 listing the regions, not with the first-generation v1.0 URL (Rackspace 2015)', () => {
      const error = rejects(() => resolve(rackspace2015, { service: 'compute', region: 'ORD' }), EndpointNotFoundError);
      assert.equal(error.extensions.missing, 'region');
      assert.deepEqual(error.extensions.available, ['SYD', 'DFW', 'IAD', 'HKG']);
      assert.match(error.message, /region 'ORD'/);
    });

    it('blames the region, not the interface, for compute in ORD over ServiceNet (Rackspace 2015)', () => {
      const error = rejects(() => resolve(rackspace2015, { service: 'compute', region: 'ord', interface: 'internal' }), EndpointNotFoundError);
      assert.deepEqual([error.extensions.missing, error.extensions.available], ['region', ['SYD', 'DFW', 'IAD', 'HKG']]);
    });

    it('answers a default region the service lacks with a 404 too, never the other service\'s global endpoint (Rackspace 2015)', () => {
      const error = rejects(() => resolve(rackspace2015, { service: 'compute' }, 'LON'), EndpointNotFoundError);
      assert.equal(error.extensions.missing, 'region');
      assert.match(error.message, /default region 'LON'/);
    });

    it('still answers a truly global service (cloudDNS) for any region, with region null (Rackspace 2015)', () => {
      const dns = resolve(rackspace2015, { service: 'cloudDNS', region: 'LON' });
      assert.deepEqual([dns.url, dns.region], ['https://dns.api.rackspacecloud.com/v1.0/123456', null]);
    });

    it('answers the first-generation service when it is asked for by name (Rackspace 2015)', () => {
      const v1 = resolve(rackspace2015, { service: 'cloudServers', region: 'ORD' });
      assert.deepEqual([v1.url, v1.region, v1.version], ['https://servers.api.rackspacecloud.com/v1.0/123456', null, '1.0']);
    });

    it('asks for a region or a name when neither is given and only one of the matches is global (pkgcloud)', () => {
      const error = rejects(() => resolve(pkgcloud, { service: 'compute' }), AmbiguousEndpointError);
      assert.deepEqual(
        (error.extensions.candidates as { service: string; region: string | null }[]).map((c) => [c.service, c.region]),
        [['cloudServers', null], ['cloudServersOpenStack', 'DFW'], ['cloudServersOpenStack', 'ORD']],
      );
      assert.match(error.message, /a region \(DFW, ORD\)/);
      assert.match(error.message, /a service name \(cloudServers, cloudServersOpenStack\)/);
      assert.equal(resolve(pkgcloud, { service: 'compute', region: 'dfw' }).url, 'http://localhost:12345/v2/123456');
    });
  });

  describe('versioned duplicates', () => {
    it('lists candidates that differ by version and URL, and suggests only a version (cloudBigData)', () => {
      const error = rejects(() => resolve(bigData, { service: 'cloudBigData', region: 'DFW' }), AmbiguousEndpointError);
      assert.deepEqual(error.extensions.candidates, [
        { service: 'cloudBigData', type: 'rax:bigdata', region: 'DFW', version: '1', url: 'https://dfw.bigdata.api.rackspacecloud.com/v1.0/123456' },
        { service: 'cloudBigData', type: 'rax:bigdata', region: 'DFW', version: '2', url: 'https://dfw.bigdata.api.rackspacecloud.com/v2/123456' },
      ]);
      assert.match(error.message, /narrow it with a version \(1, 2\)\.$/);
    });

    it('narrows by version, exactly, and answers the version (cloudBigData)', () => {
      const v2 = resolve(bigData, { service: 'cloudBigData', region: 'iad', version: '2' });
      assert.deepEqual([v2.url, v2.version], ['https://iad.bigdata.api.rackspacecloud.com/v2/123456', '2']);
      assert.equal(resolve(bigData, { service: 'rax:bigdata', version: '1' }).url, 'https://dfw.bigdata.api.rackspacecloud.com/v1.0/123456');
    });

    it('is a 404 naming the version step and the versions there when no endpoint has it (cloudBigData)', () => {
      const error = rejects(() => resolve(bigData, { service: 'cloudBigData', region: 'DFW', version: '2.0' }), EndpointNotFoundError);
      assert.deepEqual([error.extensions.missing, error.extensions.available], ['version', ['1', '2']]);
    });

    it('tells two versions of one service in one region apart (gophercloud "Cloud Servers")', () => {
      const error = rejects(() => resolve(gophercloud, { service: 'compute' }), AmbiguousEndpointError);
      assert.match(error.message, /narrow it with a version \(1, 1\.1\)\.$/);
      assert.equal(resolve(gophercloud, { service: 'compute', version: '1.1', interface: 'internal' }).url, 'https://compute.north.internal/v1.1/t1000');
    });

    it('answers the catalog\'s version with the endpoint, and none where the catalog gives none (Rackspace 2015)', () => {
      assert.equal(resolve(rackspace2015, { service: 'compute' }).version, '2');
      assert.ok(!('version' in resolve(rackspace2015, { service: 'cloudFiles' })));
    });
  });

  describe('service names with spaces (gophercloud "Cloud Servers", "Cloud Files")', () => {
    const endpointOf = (query: Record<string, string>) => {
      const { endpoint } = parseQuery(query);
      assert.ok(endpoint);
      return endpoint;
    };

    it('accepts and resolves a name with an inner space, exactly', () => {
      const files = resolve(gophercloud, endpointOf({ service: 'Cloud Files', region: 'south' }));
      assert.deepEqual([files.service, files.url], ['Cloud Files', 'https://storage.south.host.com/v1/t1000']);
      assert.equal(resolve(gophercloud, endpointOf({ service: 'Cloud Servers', version: '1' })).url, 'https://compute.north.host.com/v1/t1000');
    });

    it('stays case-sensitive, and names the service with its space in the 404', () => {
      const error = rejects(() => resolve(gophercloud, endpointOf({ service: 'cloud files' })), EndpointNotFoundError);
      assert.match(error.message, /'cloud files'/);
      assert.deepEqual(error.extensions.available, [
        { name: 'Cloud Servers', type: 'compute' },
        { name: 'Cloud Files', type: 'object-store' },
        { name: 'DNS-as-a-Service', type: 'dnsextension:dns' },
      ]);
    });
  });

  describe('a unique endpoint needs no region', () => {
    it('answers the only endpoint of a service when no region is asked and the user has no default (Rackspace 2015 cloudMetrics)', () => {
      const metrics = resolve(rackspace2015, { service: 'cloudMetrics' }, null);
      assert.deepEqual([metrics.url, metrics.region], ['https://global.metrics.api.rackspacecloud.com/v2.0/123456', 'IAD']);
    });

    it('answers a single regional endpoint for a user without a default region (libcloud nova)', () => {
      assert.equal(resolve(libcloud, { service: 'nova' }).url, 'https://test_endpoint.com/v2/1337');
    });

    it('does not replace the user\'s default region by the only other one (Rackspace 2015 cloudMetrics, default DFW)', () => {
      const error = rejects(() => resolve(rackspace2015, { service: 'cloudMetrics' }), EndpointNotFoundError);
      assert.deepEqual([error.extensions.missing, error.extensions.available], ['region', ['IAD']]);
    });
  });
});
