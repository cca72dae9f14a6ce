import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fakeClock } from '../support/clock.ts';
import { call, tokenEvent } from '../support/events.ts';
import { demosClosedAfterEach } from '../support/demos.ts';
import { observeAnswer } from '../support/leak-guard.ts';

// The query as callers send it, through the whole handler and the Identity emulator's catalog
// (test/emulators/catalog.ts: cloudServersOpenStack in DFW/ORD/IAD beside the global first-generation cloudServers).
const startDemo = demosClosedAfterEach();

async function start() {
  const clock = fakeClock();
  const d = await startDemo({ identity: { now: clock.now }, deps: { now: clock.now, sleep: clock.sleep, random: () => 0.5 }, sink: () => {} });
  return { ...d, vend: (options: Parameters<typeof call>[1] = {}) => call(d.handler, options) };
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
});
