import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { identityClient, IdentityUnavailableError } from '../../functions/adapters/identity.ts';
import type { Credentials } from '../../functions/core/credentials.ts';
import { DeadlineExceededError, UpstreamMisconfiguredError } from '../../functions/core/errors.ts';
import { DEMO_USER, startIdentityEmulator, type IdentityEmulator } from '../emulators/identity.ts';

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

  it('calls an unexpected 4xx a malformed answer and a 5xx a server error', async () => {
    identity.injectFaults({ status: 409 }, { status: 502 });
    const conflict: unknown = await authenticate(credentials, 1_000).catch((e: unknown) => e);
    const gateway: unknown = await authenticate(credentials, 1_000).catch((e: unknown) => e);
    assert.ok(conflict instanceof IdentityUnavailableError && gateway instanceof IdentityUnavailableError);
    assert.deepEqual([conflict.fault, conflict.message], ['malformed', 'Rackspace Identity is unavailable (HTTP 409); try again shortly.']);
    assert.deepEqual([gateway.fault, gateway.message], ['server-error', 'Rackspace Identity is unavailable (HTTP 502); try again shortly.']);
  });
});
