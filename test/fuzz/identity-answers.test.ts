import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseAccess } from '../../functions/adapters/identity-schema.ts';
import { resolveEndpoint, type Interface } from '../../functions/core/catalog.ts';
import { AmbiguousEndpointError, EndpointNotFoundError } from '../../functions/core/errors.ts';
import { demoCatalog } from '../emulators/catalog.ts';

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

// Junk inside an otherwise good catalog (the emulator's demo catalog): services no client could use
// and unusable endpoints inside intact services. Only the token is mandatory, so none of it may cost a
// caller anything: the token parses, and every request resolves exactly as on the clean catalog.
const notText = fc.oneof(fc.integer(), fc.constant(null), fc.boolean(), fc.constant(''), fc.constant('   '), fc.array(fc.string(), { maxLength: 2 }), fc.object({ maxDepth: 1 }));
const notList = fc.oneof(fc.integer(), fc.constant(null), fc.boolean(), fc.string({ maxLength: 5 }), fc.object({ maxDepth: 1 }));
const notRegion = fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 2 }), fc.object({ maxDepth: 1 }));
const junkEndpoint = fc.oneof(
  fc.record({ publicURL: fc.option(notText, { nil: undefined }), region: fc.option(fc.constantFrom('DFW', 'ORD'), { nil: undefined }), internalURL: fc.option(url, { nil: undefined }) }),
  fc.record({ publicURL: url, region: notRegion }),
  notText,
);
const junkName = fc.oneof(fc.constantFrom(...names, ...types), fc.string({ maxLength: 12 }));
const junkService = fc.oneof(
  fc.record({ name: fc.option(notText, { nil: undefined }), type: junkName, endpoints: fc.array(endpoint, { maxLength: 2 }) }),
  fc.record({ name: junkName, type: fc.option(notText, { nil: undefined }), endpoints: fc.array(endpoint, { maxLength: 2 }) }),
  fc.record({ name: junkName, type: junkName, endpoints: fc.option(notList, { nil: undefined }) }),
  fc.record({ name: junkName, type: junkName, endpoints: fc.array(junkEndpoint, { minLength: 1, maxLength: 3 }) }),
  notText,
);
const clean = demoCatalog('110011') as { name: string; type: string; endpoints: unknown[] }[];
const soiled = fc
  .tuple(fc.array(fc.tuple(fc.nat(), junkService), { minLength: 1, maxLength: 5 }), fc.array(fc.tuple(fc.nat(), fc.nat(), junkEndpoint), { maxLength: 5 }))
  .map(([services, endpoints]) => {
    const catalog: unknown[] = clean.map((s) => ({ ...s, endpoints: [...s.endpoints] }));
    for (const [at, e] of endpoints) {
      const target = catalog[at % catalog.length] as { endpoints: unknown[] };
      target.endpoints.splice(at % (target.endpoints.length + 1), 0, e);
    }
    for (const [at, junk] of services) catalog.splice(at % (catalog.length + 1), 0, junk);
    return catalog;
  });
const regions = [...new Set(clean.flatMap((s) => s.endpoints.map((e) => (e as { region?: string }).region)).filter((r): r is string => !!r))];
const rarely = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });
const asked = fc.record({
  service: fc.constantFrom(...clean.map((s) => s.name), ...clean.map((s) => s.type), 'nope'),
  region: fc.option(fc.constantFrom(...regions, 'LON'), { nil: undefined }),
  interface: fc.oneof({ weight: 3, arbitrary: fc.constant<Interface>('public') }, { weight: 1, arbitrary: fc.constant<Interface>('internal') }),
  version: rarely(fc.constantFrom('2', '1.0')),
});
const outcome = (catalog: Parameters<typeof resolveEndpoint>[0], request: Parameters<typeof resolveEndpoint>[1], defaultRegion: string | null) => {
  try {
    return resolveEndpoint(catalog, request, defaultRegion);
  } catch (error) {
    if (error instanceof EndpointNotFoundError || error instanceof AmbiguousEndpointError) return { status: error.status, ...error.extensions };
    throw error;
  }
};
const answerWith = (serviceCatalog: unknown) => ({ access: { token: { id: 'AAfuzz', expires: '2030-01-01T00:00:00Z', tenant: { id: '110011', name: '110011' } }, serviceCatalog, user: { 'RAX-AUTH:defaultRegion': 'DFW' } } });

describe(`Fuzz: ${RUNS} good catalogs with junk entries inside`, () => {
  it('still give the token, and resolve every request exactly as the clean catalog does', (t) => {
    const reference = parseAccess(answerWith(clean));
    assert.ok(reference);
    let resolved = 0;
    fc.assert(
      fc.property(soiled, asked, fc.constantFrom<string | null>('DFW', null), (catalog, request, defaultRegion) => {
        const token = parseAccess(answerWith(catalog));
        assert.ok(token, 'the token survives junk in the catalog');
        assert.ok(token.skipped && token.skipped.length > 0, 'what was skipped is noted');
        const expected = outcome(reference.catalog, request, defaultRegion);
        if ('url' in expected) resolved++;
        assert.deepEqual(outcome(token.catalog, request, defaultRegion), expected);
      }),
      { numRuns: RUNS },
    );
    t.diagnostic(`resolved to an endpoint: ${resolved} of ${RUNS}`);
    assert.ok(resolved > RUNS / 5, `too few requests resolved to an endpoint (${resolved}) for the property to mean much`);
  });
});
