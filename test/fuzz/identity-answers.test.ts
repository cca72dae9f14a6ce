import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseAccess } from '../../functions/adapters/identity-schema.ts';
import { resolveEndpoint, type Interface } from '../../functions/core/catalog.ts';
import { AmbiguousEndpointError, EndpointNotFoundError } from '../../functions/core/errors.ts';

// FUZZ_ANSWERS=100000 for a long run; CI keeps the default.
const RUNS = Number(process.env.FUZZ_ANSWERS ?? 1_000);

const padded = (inner: fc.Arbitrary<string>) => fc.tuple(fc.constantFrom('', ' ', '\t', ' \n'), inner, fc.constantFrom('', ' ', '  ')).map(([a, b, c]) => a + b + c);
const region = fc.option(padded(fc.constantFrom('DFW', 'ord', 'Iad', 'LON', 'SYD', '')), { nil: undefined });
const url = padded(fc.webUrl());
const junk = fc.oneof(fc.integer(), fc.constant(null), fc.boolean(), fc.string(), fc.array(fc.integer(), { maxLength: 2 }), fc.object({ maxDepth: 1 }));
/** A field that is usually right and sometimes missing, null or of the wrong type. */
const mostly = <T>(right: fc.Arbitrary<T>) => fc.oneof({ weight: 40, arbitrary: right }, { weight: 1, arbitrary: junk }, { weight: 1, arbitrary: fc.constant(undefined) });

const endpoint = fc.record(
  { publicURL: mostly(url), internalURL: fc.option(url, { nil: undefined }), region, tenantId: fc.option(padded(fc.stringMatching(/^[\w-]{1,20}$/)), { nil: undefined }), versionId: fc.option(fc.string(), { nil: undefined }) }
);
const names = ['cloudFiles', 'cloudServers', 'cloudServersOpenStack', 'cloudDNS', 'cloudFilesCDN'];
const types = ['object-store', 'compute', 'rax:dns', 'rax:object-cdn'];
const service = fc.record({ name: mostly(padded(fc.constantFrom(...names))), type: mostly(padded(fc.constantFrom(...types))), endpoints: mostly(fc.array(endpoint, { minLength: 1, maxLength: 4 })) });
const answer = fc.record({
  access: mostly(
    fc.record(
      {
        token: mostly(fc.record({ id: mostly(padded(fc.string({ minLength: 1, maxLength: 300 }))), expires: mostly(fc.date({ noInvalidDate: true, min: new Date('2000-01-01'), max: new Date('2100-01-01') }).map((d) => d.toISOString())), tenant: fc.option(fc.record({ id: mostly(fc.stringMatching(/^\d{1,8}$/)), name: mostly(fc.stringMatching(/^\d{1,8}$/)) }), { nil: undefined }) })),
        serviceCatalog: mostly(fc.array(service, { maxLength: 6 })),
        user: fc.option(fc.record({ 'RAX-AUTH:defaultRegion': region, roles: fc.array(junk) }), { nil: undefined }),
        extra: fc.option(junk, { nil: undefined }),
      },
    ),
  ),
});
const request = fc.record({
  service: fc.constantFrom(...names, ...types, 'nope'),
  region: fc.option(fc.constantFrom('dfw', 'ORD', 'LON', 'iad'), { nil: undefined }),
  interface: fc.constantFrom<Interface>('public', 'internal'),
});

describe(`Fuzz: ${RUNS} generated Identity answers and catalogs`, () => {
  it('parse to a token or to "malformed", and resolve to a correct endpoint or a classified error, never a crash', (t) => {
    const outcomes = { malformed: 0, resolved: 0, notFound: 0, ambiguous: 0 };
    fc.assert(
      fc.property(answer, request, fc.option(fc.constantFrom('DFW', 'ORD'), { nil: null }), (json, wanted, defaultRegion) => {
        const token = parseAccess(json);
        if (!token) return void outcomes.malformed++;
        assert.equal(token.id, token.id.trim());
        assert.ok(Number.isFinite(token.expiresAt));
        try {
          const found = resolveEndpoint(token.catalog, wanted, defaultRegion);
          outcomes.resolved++;
          // Correct: a real endpoint of a matching service, of the interface asked, trimmed.
          // (A catalog may hold the same service twice, so look through every service of that name and type.)
          assert.ok(found.service === wanted.service || found.type === wanted.service);
          const sources = token.catalog
            .filter((s) => s.name === found.service && s.type === found.type)
            .flatMap((s) => s.endpoints)
            .filter((e) => (wanted.interface === 'internal' ? e.internalURL : e.publicURL) === found.url && e.region === found.region);
          assert.ok(sources.length > 0, 'the URL is a URL of that service, region and interface');
          assert.equal(found.url, found.url.trim());
          if (wanted.region && found.region) assert.equal(found.region.toUpperCase(), wanted.region.toUpperCase());
        } catch (error) {
          if (error instanceof EndpointNotFoundError) outcomes.notFound++;
          else if (error instanceof AmbiguousEndpointError) outcomes.ambiguous++;
          else throw error;
        }
      }),
      { numRuns: RUNS },
    );
    // The generator must reach every outcome, or the property proves less than it says.
    t.diagnostic(`outcomes: ${JSON.stringify(outcomes)}`);
    for (const [outcome, count] of Object.entries(outcomes)) assert.ok(count > 0, `no case ended ${outcome}: ${JSON.stringify(outcomes)}`);
  });
});
