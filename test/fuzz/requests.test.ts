import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { DEMO_USER, demoCatalog } from '../emulators/identity.ts';
import { DEMO_CALLER, startDemo } from '../local/demo.ts';
import { observeAnswer } from '../support/leak-guard.ts';

// FUZZ_REQUESTS=200000 for a long run; CI keeps the default.
const RUNS = Number(process.env.FUZZ_REQUESTS ?? 10_000);

const odd = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('%00', '%zz', '%E2%82', '..%2F..', 'DFW,ORD', ' dfw ', '\u202Eevil', '0x3c', '1e3', '-60', '३००', 'internal\u0000'),
  fc.string({ minLength: 5_000, maxLength: 20_000 }),
);
const key = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('service', 'region', 'interface', 'minTtl') }, { weight: 1, arbitrary: odd });
const value = fc.oneof({ weight: 2, arbitrary: fc.constantFrom('cloudFiles', 'object-store', 'compute', 'dfw', 'IAD', 'internal', 'public', '60', '3600', '300') }, { weight: 3, arbitrary: odd });
const query = fc.option(fc.dictionary(key, value, { maxKeys: 5 }), { nil: undefined });
const profile = fc.oneof(fc.constant('demo'), fc.constant('DEMO'), odd);
const caller = fc.oneof(
  fc.constant(DEMO_CALLER),
  fc.constant(null),
  odd,
  fc.integer(),
  fc.constant({ arn: DEMO_CALLER }),
  fc.constantFrom('arn:aws:sts::000000000000:assumed-role/local-caller', 'arn:aws:sts::000000000000:assumed-role/local-caller/you/extra', `${DEMO_CALLER}\n`),
);
const authorizer = fc.oneof(
  caller.map((userArn) => ({ iam: { userArn } })),
  fc.constantFrom(undefined, null, {}, { iam: null }, { iam: 'x' }, { jwt: { claims: {} } }),
);
// Well-formed calls from the allowed caller, so the 200, 404 and 409 paths get as much fuzzing as refusals.
const wellFormed = fc.record({
  pathParameters: fc.constant({ profile: 'demo' }),
  queryStringParameters: fc.option(fc.dictionary(fc.constantFrom('service', 'region', 'interface', 'minTtl'), value, { maxKeys: 4 }), { nil: undefined }),
  requestContext: fc.record({ requestId: fc.string(), authorizer: fc.constant({ iam: { userArn: DEMO_CALLER } }) }),
});
const event = fc.oneof(
  { weight: 10, arbitrary: wellFormed },
  { weight: 20, arbitrary: fc.record({ pathParameters: fc.option(fc.record({ profile }), { nil: undefined }), queryStringParameters: query, requestContext: fc.record({ requestId: fc.string(), authorizer }) }) },
  { weight: 1, arbitrary: fc.oneof(fc.constant(undefined), fc.constant(null), fc.string(), fc.integer(), fc.object(), fc.record({ requestContext: fc.anything(), pathParameters: fc.anything(), queryStringParameters: fc.anything() })) },
);

let demo: Awaited<ReturnType<typeof startDemo>>;
let logged = 0;
before(async () => {
  // Log lines and answers go to the suite's leak guard (test/support/leak-guard.ts).
  demo = await startDemo({ sink: () => void logged++ });
});
after(() => demo.close());

describe(`Fuzz: ${RUNS} generated requests through the handler`, () => {
  it('never answers 5xx, and every refusal is problem+json', async (t) => {
    const statuses = new Map<number, number>();
    type Answer = { statusCode: number; headers: Record<string, string>; body: string };
    const handler = demo.handler as unknown as (event: unknown, context: unknown) => Promise<Answer>;
    await fc.assert(
      fc.asyncProperty(event, async (e) => {
        const before = logged;
        const answer = await handler(e, { awsRequestId: 'fuzz' });
        assert.equal(logged - before, 1, 'exactly one audit line per request');
        observeAnswer('fuzzed answer', answer);
        statuses.set(answer.statusCode, (statuses.get(answer.statusCode) ?? 0) + 1);
        assert.ok(answer.statusCode < 500, `${answer.statusCode}: ${answer.body}`);
        const body = JSON.parse(answer.body);
        if (answer.statusCode === 200) {
          assert.equal(answer.headers['content-type'], 'application/json');
          assert.equal(typeof body.token, 'string');
          assertEndpointAnswers(e, body.endpoint);
        } else {
          assert.equal(answer.headers['content-type'], 'application/problem+json');
          assert.deepEqual([typeof body.type, typeof body.title, body.status, typeof body.detail], ['string', 'string', answer.statusCode, 'string']);
          assert.ok(!/\n\s+at /.test(answer.body), 'no stack trace');
        }
      }),
      { numRuns: RUNS },
    );
    t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    // Every outcome class the generator is meant to reach, reached.
    for (const status of [200, 400, 403, 404]) assert.ok(statuses.has(status), `no ${status} among ${JSON.stringify([...statuses])}`);
  });
});

type Raw = { name: string; type: string; endpoints: Array<{ publicURL: string; internalURL?: string; region?: string }> };
const CATALOG = demoCatalog(DEMO_USER.tenantId) as Raw[];

/**
 * An oracle independent of the resolver: a 200 holds an endpoint exactly when `service` was asked
 * for, and that endpoint is one the demo catalog really lists for that service, interface and
 * region (the asked-for one, else the user's default DFW, else a global one).
 */
function assertEndpointAnswers(event: unknown, endpoint: Record<string, unknown> | undefined): void {
  const query = ((event as { queryStringParameters?: Record<string, string> }).queryStringParameters ?? {});
  if (query.service === undefined) return assert.equal(endpoint, undefined);
  assert.ok(endpoint, 'a 200 for a service names its endpoint');
  const iface = query.interface ?? 'public';
  assert.equal(endpoint.interface, iface);
  const services = CATALOG.filter((s) => s.name === endpoint.service && s.type === endpoint.type);
  assert.ok(services.some((s) => s.name === query.service) || services.every((s) => s.type === query.service), `${String(endpoint.service)} answers ${query.service}`);
  const listed = services.flatMap((s) => s.endpoints).filter((x) => ((iface === 'internal' ? x.internalURL : x.publicURL) ?? '').trim() === endpoint.url && (x.region || null) === endpoint.region);
  assert.equal(listed.length, 1, `${String(endpoint.url)} is listed for ${String(endpoint.region)}`);
  const wanted = (query.region ?? 'DFW').toUpperCase();
  assert.ok(endpoint.region === null || endpoint.region === wanted, `region ${String(endpoint.region)} answers ${wanted}`);
}
