import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { identityClient, IdentityRejectedError, IdentityUnavailableError } from '../../functions/adapters/identity.ts';
import type { Credentials } from '../../functions/core/credentials.ts';
import { DeadlineExceededError, UpstreamMisconfiguredError } from '../../functions/core/errors.ts';
import { DEMO_USER, startIdentityEmulator, type IdentityEmulator } from '../emulators/identity.ts';
import { fakeClock } from '../support/clock.ts';

// The token call's rarer answers, against the Identity emulator with the real fetch: what each one
// becomes, down to the reason kept for the log (the `cause`), which must name the answer but never
// echo where a redirect pointed.
describe('identityClient: the answers the vend tests reach only as a status', () => {
  let identity: IdentityEmulator;
  let credentials: Credentials;
  const authenticate = identityClient({ defaultUrl: 'http://127.0.0.1:9/v2.0', now: () => Date.parse('2026-11-22T10:00:00Z') });
  const causeOf = (error: unknown) => ((error as Error).cause as Error | undefined)?.message;

  before(async () => {
    identity = await startIdentityEmulator({ users: [{ ...DEMO_USER }] });
    credentials = { username: DEMO_USER.username, secret: { kind: 'apiKey', apiKey: DEMO_USER.apiKey ?? '' }, tenant: null, identityUrl: identity.url };
  });
  after(() => identity.close());

  it("answers DeadlineExceededError naming Identity when the request's own time ran out, not the attempt's", async () => {
    const error: unknown = await authenticate(credentials, 1_000, AbortSignal.abort()).catch((e: unknown) => e);
    assert.ok(error instanceof DeadlineExceededError);
    assert.deepEqual([error.upstream, error.message], ['identity', "No answer from Rackspace Identity within this request's time; try again shortly."]);
    assert.ok(error.cause, 'the abort is kept for the log');
  });

  for (const [name, fault, cause] of [
    ['without a Location', { status: 302 }, 'Identity answered 302 to no Location'],
    ['to an unreadable Location', { status: 307, headers: { location: 'http://[not-a-host' } }, 'Identity answered 307 to an unreadable Location'],
    ['to a Location with user info and a query', { status: 301, headers: { location: 'https://user:pw@elsewhere.example/v2.0/tokens?k=v' } }, 'Identity answered 301 to host elsewhere.example'],
  ] as const) {
    it(`calls a redirect ${name} a misconfigured Identity URL, keeping only the host for the log`, async () => {
      identity.injectFaults(fault);
      const error: unknown = await authenticate(credentials, 1_000).catch((e: unknown) => e);
      assert.ok(error instanceof UpstreamMisconfiguredError);
      assert.equal(error.message, `Rackspace Identity redirected the authentication (HTTP ${fault.status}); the configured Identity URL is wrong.`);
      assert.equal(error.upstream, 'identity');
      assert.equal(causeOf(error), cause);
    });
  }

  it("names Identity's fault in a 404's log reason, and only the status when the body has none", async () => {
    identity.injectFaults({ status: 404, body: '{"itemNotFound":{"code":404}}' }, { status: 405, body: 'Method Not Allowed', contentType: 'text/plain' });
    const named: unknown = await authenticate(credentials, 1_000).catch((e: unknown) => e);
    const bare: unknown = await authenticate(credentials, 1_000).catch((e: unknown) => e);
    assert.ok(named instanceof UpstreamMisconfiguredError && bare instanceof UpstreamMisconfiguredError);
    assert.deepEqual([causeOf(named), causeOf(bare)], ['Identity answered 404 itemNotFound', 'Identity answered 405']);
    assert.equal(bare.message, 'Rackspace Identity has no token endpoint at the configured URL (HTTP 405).');
  });

  it('authenticates at an Identity URL written with trailing slashes, sending the body as JSON', async () => {
    // The emulator answers 415 to a body not declared JSON, as Identity does.
    const token = await authenticate({ ...credentials, identityUrl: `${identity.url}//` }, 1_000);
    assert.deepEqual(token.tenant, { id: DEMO_USER.tenantId, name: DEMO_USER.tenantName });
  });

  it("calls a 300 a redirect too, and a 2xx other than 200 a malformed answer", async () => {
    identity.injectFaults({ status: 300 }, { status: 204 });
    const choices: unknown = await authenticate(credentials, 1_000).catch((e: unknown) => e);
    const empty: unknown = await authenticate(credentials, 1_000).catch((e: unknown) => e);
    assert.ok(choices instanceof UpstreamMisconfiguredError);
    assert.equal(causeOf(choices), 'Identity answered 300 to no Location');
    assert.ok(empty instanceof IdentityUnavailableError);
    assert.deepEqual([empty.fault, empty.message], ['malformed', 'Rackspace Identity is unavailable (HTTP 204); try again shortly.']);
  });

  it("calls 400, 401 and 403 a refusal, naming Identity's fault in the log reason, or only the status when the body names none", async () => {
    identity.injectFaults({ status: 400, body: '{"badRequest":{"code":400}}' }, { status: 401, body: '<html>Unauthorized</html>', contentType: 'text/html' });
    const refusals: unknown[] = [];
    for (let i = 0; i < 2; i++) refusals.push(await authenticate(credentials, 1_000).catch((e: unknown) => e));
    refusals.push(await authenticate({ ...credentials, secret: { kind: 'apiKey', apiKey: 'not-the-key-0000' } }, 1_000).catch((e: unknown) => e));
    identity.setUser(DEMO_USER.username, { enabled: false });
    refusals.push(await authenticate(credentials, 1_000).catch((e: unknown) => e));
    identity.setUser(DEMO_USER.username, { enabled: true });
    assert.ok(refusals.every((e) => e instanceof IdentityRejectedError));
    assert.deepEqual(
      refusals.map((e) => [(e as IdentityRejectedError).identityStatus, causeOf(e)]),
      [[400, 'Identity answered 400 badRequest'], [401, 'Identity answered 401'], [401, 'Identity answered 401 unauthorized'], [403, 'Identity answered 403 userDisabled']],
    );
  });

  it('calls a 413 or 429 rate limiting, keeping the Retry-After Identity gave', async () => {
    identity.injectFaults({ status: 429, headers: { 'retry-after': '7' } }, { status: 413, body: '{"overLimit":{"code":413}}' });
    const limited: unknown = await authenticate(credentials, 1_000).catch((e: unknown) => e);
    const over: unknown = await authenticate(credentials, 1_000).catch((e: unknown) => e);
    assert.ok(limited instanceof IdentityUnavailableError && over instanceof IdentityUnavailableError);
    assert.deepEqual([limited.fault, limited.message, limited.retryAfterSeconds, limited.retryAfterGiven], ['rate-limited', 'Rackspace Identity is unavailable (rate limited, HTTP 429); try again shortly.', 7, true]);
    assert.deepEqual([over.fault, over.message, over.retryAfterGiven], ['rate-limited', 'Rackspace Identity is unavailable (rate limited, HTTP 413); try again shortly.', false]);
  });

  it('calls a 200 that is not JSON a malformed answer', async () => {
    identity.injectFaults({ status: 200, body: '<html/>', contentType: 'text/html' });
    const error: unknown = await authenticate(credentials, 1_000).catch((e: unknown) => e);
    assert.ok(error instanceof IdentityUnavailableError);
    assert.deepEqual([error.fault, error.message], ['malformed', 'Rackspace Identity is unavailable (its answer was not the expected JSON); try again shortly.']);
  });

  it('calls a dropped connection a network error, with no request deadline given, keeping the failure for the log', async () => {
    identity.injectFaults({ reset: true });
    const error: unknown = await authenticate(credentials, 1_000).catch((e: unknown) => e);
    assert.ok(error instanceof IdentityUnavailableError);
    assert.deepEqual([error.fault, error.message], ['network', 'Rackspace Identity is unavailable (network error); try again shortly.']);
    assert.ok(error.cause instanceof TypeError, 'the fetch failure is kept as the cause');
  });

  it('calls an unexpected 4xx a malformed answer and a 5xx a server error', async () => {
    identity.injectFaults({ status: 409 }, { status: 502 });
    const conflict: unknown = await authenticate(credentials, 1_000).catch((e: unknown) => e);
    const gateway: unknown = await authenticate(credentials, 1_000).catch((e: unknown) => e);
    assert.ok(conflict instanceof IdentityUnavailableError && gateway instanceof IdentityUnavailableError);
    assert.deepEqual([conflict.fault, conflict.message], ['malformed', 'Rackspace Identity is unavailable (HTTP 409); try again shortly.']);
    assert.deepEqual([gateway.fault, gateway.message], ['server-error', 'Rackspace Identity is unavailable (HTTP 502); try again shortly.']);
  });
});

// Time-driven answers on the test's clock: a silent Identity and a token already expired on arrival.
describe('identityClient: answers that depend on the clock', () => {
  const clock = fakeClock();
  let identity: IdentityEmulator;
  let credentials: Credentials;
  const authenticate = identityClient({ defaultUrl: 'http://127.0.0.1:9/v2.0', now: clock.now, timeout: clock.timeout });

  before(async () => {
    // Every token it issues expires the instant it is issued.
    identity = await startIdentityEmulator({ users: [{ ...DEMO_USER }], now: clock.now, lifetimeMs: 0, time: clock });
    credentials = { username: DEMO_USER.username, secret: { kind: 'apiKey', apiKey: DEMO_USER.apiKey ?? '' }, tenant: null, identityUrl: identity.url };
  });
  after(() => identity.close());

  it("calls no answer within the attempt's time a timeout, naming the time, while the request's deadline still runs", async () => {
    identity.injectFaults({ delayMs: Infinity });
    const error: unknown = await authenticate(credentials, 1_500, clock.timeout(10_000)).catch((e: unknown) => e);
    assert.ok(error instanceof IdentityUnavailableError);
    assert.deepEqual([error.fault, error.message], ['timeout', 'Rackspace Identity is unavailable (no answer within 1500 ms); try again shortly.']);
  });

  it('calls a token that expires the instant it arrives a malformed answer', async () => {
    const error: unknown = await authenticate(credentials, 1_000).catch((e: unknown) => e);
    assert.ok(error instanceof IdentityUnavailableError);
    assert.deepEqual([error.fault, error.message], ['malformed', 'Rackspace Identity is unavailable (it returned an already expired token); try again shortly.']);
  });
});
