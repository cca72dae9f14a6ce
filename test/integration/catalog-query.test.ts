import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { demoCatalog, type IdentityEmulatorOptions } from '../emulators/identity.ts';
import { fakeClock, HOUR } from '../support/clock.ts';
import { call, tokenEvent } from '../support/events.ts';
import { demosClosedAfterEach } from '../support/demos.ts';
import { observeAnswer } from '../support/leak-guard.ts';

// The query as callers send it, through the whole handler and the Identity emulator's catalog
// (test/emulators/catalog.ts: cloudServersOpenStack in DFW/ORD/IAD beside the global first-generation cloudServers).
const startDemo = demosClosedAfterEach();

/** `identityBehindMs` sets the Identity emulator's clock behind ours, so it re-issues the same token. */
async function start(identity: Partial<IdentityEmulatorOptions> = {}, identityBehindMs = 0) {
  const clock = fakeClock();
  const lines: string[] = [];
  const d = await startDemo({ identity: { now: () => clock.now() - identityBehindMs, ...identity }, deps: { now: clock.now, sleep: clock.sleep, random: () => 0.5 }, sink: (line) => lines.push(line) });
  return { ...d, clock, lines, vend: (options: Parameters<typeof call>[1] = {}) => call(d.handler, options) };
}

describe('Integration: catalog queries through the handler', () => {
  it('answers the catalog version with the endpoint, and narrows by it', async () => {
    const d = await start();
    const answer = await d.vend({ query: { service: 'compute', region: 'dfw', version: '2' } });
    assert.equal(answer.statusCode, 200);
    assert.deepEqual(answer.json.endpoint, {
      url: 'https://dfw.servers.api.rackspacecloud.com/v2/110011',
      service: 'cloudServersOpenStack',
      type: 'compute',
      region: 'DFW',
      interface: 'public',
      tenantId: '110011',
      version: '2',
    });
    const missing = await d.vend({ query: { service: 'compute', region: 'dfw', version: '1.0' } });
    assert.deepEqual([missing.statusCode, missing.json.missing, missing.json.available], [404, 'version', ['2']]);
  });

  it("answers a region the regional compute service lacks with a 404, not with the other service's global v1.0 URL", async () => {
    const d = await start();
    const answer = await d.vend({ query: { service: 'compute', region: 'LON' } });
    assert.deepEqual([answer.statusCode, answer.json.missing, answer.json.available], [404, 'region', ['DFW', 'ORD', 'IAD']]);
    assert.ok(!answer.body.includes('/v1.0/'));
  });

  it('refuses __proto__ as a query parameter with a 400 naming it, like any unknown name', async () => {
    const d = await start();
    for (const name of ['__proto__', 'constructor']) {
      const { event: base, context } = tokenEvent();
      // JSON.parse makes `__proto__` an own key, as the Lambda runtime's parse of the event does.
      const event = JSON.parse(JSON.stringify({ ...base, queryStringParameters: { NAME: 'x' } }).replace('"NAME"', JSON.stringify(name))) as unknown;
      const answer = await (d.handler as unknown as (e: unknown, c: unknown) => Promise<{ statusCode: number; headers: Record<string, string>; body: string }>)(event, context);
      observeAnswer('answer', answer);
      assert.deepEqual([answer.statusCode, answer.headers['content-type'], JSON.parse(answer.body).parameter], [400, 'application/problem+json', name]);
    }
    assert.equal(d.identity.calls, 0);
  });

  it('serves token-only and intact-service callers when the catalog holds odd entries, and logs what it skipped once per token', async () => {
    const odd = [
      { name: 'cloudQueues', type: 'rax:queues' },
      { name: 'cloudImages', type: 'image', endpoints: [{ region: 'DFW', publicURL: { secret: 'not-a-url-hunter2' } }] },
      { name: 42, type: 'rax:x', endpoints: [] },
    ];
    const d = await start({ catalog: (tenant) => [...(demoCatalog(tenant) as unknown[]), ...odd] }, 2 * 60_000);
    const reports = () => d.lines.map((line) => JSON.parse(line) as Record<string, any>).filter((line) => line.message === 'Identity answer: unusable entries skipped');
    const tokenOnly = await d.vend();
    assert.equal(tokenOnly.statusCode, 200);
    const files = await d.vend({ query: { service: 'cloudFiles', region: 'ord' } });
    assert.deepEqual([files.statusCode, files.json.endpoint?.url], [200, 'https://storage101.ord1.clouddrive.com/v1/MossoCloudFS_110011']);
    const images = await d.vend({ query: { service: 'cloudImages' } });
    assert.deepEqual([images.statusCode, images.json.missing], [404, 'service']);
    // Identity, two minutes behind, re-issues the same token: authenticated twice, reported once.
    d.clock.advance(23 * HOUR - 30_000);
    const again = await d.vend({ query: { minTtl: '3600' } });
    assert.deepEqual([again.statusCode, again.json.token, d.identity.calls], [200, tokenOnly.json.token, 2]);
    assert.equal(reports().length, 1, 'one report per token, not per authentication or request');
    d.clock.advance(3 * 60_000);
    const renewed = await d.vend({ query: { minTtl: '3600' } });
    assert.notEqual(renewed.json.token, tokenOnly.json.token);
    assert.equal(reports().length, 2, 'a new token is reported again');
    assert.deepEqual(reports()[0]?.skipped, [
      "serviceCatalog[8] 'cloudQueues' (no usable endpoints)",
      "'cloudImages': 1 of 1 endpoints (no usable publicURL, or a region that is not a string)",
      'serviceCatalog[10] (no usable name)',
    ]);
    assert.equal(reports()[0]?.level, 'WARN');
    assert.ok(!d.lines.some((line) => line.includes('hunter2')));
  });

  it('reads an expiry written with a -0500 offset (no colon)', async () => {
    const d = await start({ offset: '-0500' });
    const answer = await d.vend();
    assert.equal(answer.statusCode, 200);
    assert.equal(answer.json.expiresIn, 24 * 3600);
  });

  it("answers a service request with a 502 naming Identity's answer when its serviceCatalog is not a list (the v1.1 object shape), and still serves token-only callers", async () => {
    const v11 = { cloudFiles: [{ region: 'DFW', publicURL: 'https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_110011', v1Default: true }], cloudServers: [{ publicURL: 'https://servers.api.rackspacecloud.com/v1.0/110011' }] };
    const d = await start({ catalog: () => v11 });
    const tokenOnly = await d.vend();
    assert.equal(tokenOnly.statusCode, 200);
    // This instance, and another one served the same token from the shared table.
    for (const handler of [d.handler, d.instance()]) {
      const files = await call(handler, { query: { service: 'cloudFiles', region: 'dfw' } });
      assert.deepEqual([files.statusCode, files.json.type], [502, 'urn:rackspace-token-vendor:problem:credentials-unusable'], files.body);
      assert.match(files.json.detail, /Rackspace Identity's answer/);
      assert.match(files.json.detail, /serviceCatalog is not a list/);
    }
    assert.equal(d.identity.calls, 1);
    const audits = d.lines.map((line) => JSON.parse(line) as Record<string, any>).filter((line) => line.audit).map((line) => [line.audit.status, line.audit.upstream]);
    assert.deepEqual(audits, [[200, null], [502, 'identity'], [502, 'identity']]);
  });
});
