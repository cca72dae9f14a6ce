import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  BadRequestError,
  CredentialsOverprivilegedError,
  CredentialsUnusableError,
  EndpointNotFoundError,
  ForbiddenError,
  GatewayError,
  UnavailableError,
  createTokenClient,
  regionFromHost,
  type TokenClientOptions,
} from '../../client/index.ts';
import { DEMO_USER } from '../emulators/identity.ts';
import { serveLocally } from '../local/http-adapter.ts';
import { SEEDED_CALLERS } from '../local/credentials.ts';
import type { LocalKey } from '../local/sigv4.ts';
import { demosClosedAfterEach } from '../support/demos.ts';
import { HOUR } from '../support/clock.ts';
import { observe } from '../support/leak-guard.ts';

// The client against `npm start`'s own pieces, in process: the demo handler behind the SigV4 gateway.

const YOU: LocalKey = { accessKeyId: 'AKLOCALCLIENTTESTYOU', secretAccessKey: 'client-test-secret-you-0123456789abcdef', arn: SEEDED_CALLERS[0] };
const OTHER: LocalKey = { accessKeyId: 'AKLOCALCLIENTTESTOTH', secretAccessKey: 'client-test-secret-other-0123456789abcd', arn: SEEDED_CALLERS[1] };
const startDemo = demosClosedAfterEach();
const gateways: Array<{ close(): Promise<void> }> = [];
afterEach(() => Promise.all(gateways.splice(0).map((gateway) => gateway.close())));

async function setup() {
  // One clock for the service and the client: the client's wait before a retry moves the service's
  // backoff along with it, as real time would.
  let clock = Date.now();
  const demo = await startDemo({ env: { IDENTITY_ATTEMPTS: '1' }, sink: () => {}, deps: { now: () => clock } });
  const gateway = await serveLocally(demo.handler, { port: 0, keys: new Map([YOU, OTHER].map((key) => [key.accessKeyId, key])), region: 'us-east-1' });
  gateways.push(gateway);
  const waits: number[] = [];
  const client = (options: Partial<TokenClientOptions> = {}) =>
    createTokenClient({
      url: gateway.url,
      region: 'us-east-1',
      credentials: YOU,
      now: () => clock,
      sleep: async (ms) => {
        waits.push(ms);
        clock += ms;
      },
      ...options,
    });
  return { demo, gateway, waits, client, advance: (ms: number) => void (clock += ms) };
}

const files = { service: 'cloudFiles', region: 'dfw', interface: 'internal' } as const;

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    observe('client error', String(error instanceof Error ? `${error.message} ${JSON.stringify(error)}` : error));
    return error as Error;
  }
  assert.fail('expected a rejection');
}

describe('token client', () => {
  it('shares one HTTP request among 100 concurrent getToken calls for the same profile and endpoint', async () => {
    const { gateway, demo, client } = await setup();
    const tokens = client();
    const answers = await Promise.all(Array.from({ length: 100 }, () => tokens.getToken('demo', files)));
    assert.equal(gateway.requests, 1);
    assert.equal(demo.identity.calls, 1);
    assert.equal(new Set(answers.map((answer) => answer.token)).size, 1);
    assert.equal(answers[0]?.endpoint?.url, 'https://snet-storage101.dfw1.clouddrive.com/v1/MossoCloudFS_110011');
  });

  it('reuses an answer until expiresAt − minTtl, then asks again', async () => {
    const { gateway, client, advance } = await setup();
    const tokens = client();
    const first = await tokens.getToken('demo', { ...files, minTtl: 600 });
    advance(HOUR);
    const reused = await tokens.getToken('demo', { ...files, minTtl: 600 });
    assert.equal(gateway.requests, 1);
    assert.equal(reused.token, first.token);
    assert.equal(reused.expiresIn, first.expiresIn - 3600, 'expiresIn counts down on reuse');
    // Emulated tokens live 24 h: 599 s before expiry, a minTtl of 600 no longer holds.
    advance(Date.parse(first.expiresAt) - Date.now() - HOUR - 599_000);
    await tokens.getToken('demo', { ...files, minTtl: 600 });
    assert.equal(gateway.requests, 2);
  });

  it('keeps answers apart per endpoint request, and treats region codes case-insensitively', async () => {
    const { gateway, client } = await setup();
    const tokens = client();
    const dfw = await tokens.getToken('demo', files);
    await tokens.getToken('demo', { ...files, region: 'DFW' });
    assert.equal(gateway.requests, 1);
    const ord = await tokens.getToken('demo', { ...files, region: 'ord' });
    const bare = await tokens.getToken('demo');
    assert.equal(gateway.requests, 3);
    assert.equal(ord.endpoint?.region, 'ORD');
    assert.equal(dfw.endpoint?.region, 'DFW');
    assert.equal(bare.endpoint, undefined);
  });

  it('retries a 503 once, after its Retry-After', async () => {
    const { gateway, waits, client, demo } = await setup();
    demo.identity.injectFaults({ status: 429, headers: { 'retry-after': '9' } });
    const answer = await client().getToken('demo', files);
    assert.match(answer.token, /^AA/);
    assert.deepEqual([gateway.requests, waits], [2, [9000]]);
  });

  it('gives up after the one retry with an UnavailableError that carries Retry-After', async () => {
    const { gateway, waits, client, demo } = await setup();
    demo.identity.injectFaults({ status: 500 }, { status: 500 });
    const error = await rejection(client().getToken('demo', files));
    assert.ok(error instanceof UnavailableError, String(error));
    assert.deepEqual([error.status, error.type], [503, 'urn:rackspace-token-vendor:problem:upstream-unavailable']);
    // The second answer's Retry-After (the service backs off further after a second failure).
    assert.ok(Number.isInteger(error.retryAfterSeconds) && (error.retryAfterSeconds ?? 0) >= 5, String(error.retryAfterSeconds));
    assert.deepEqual([gateway.requests, waits], [2, [5000]]);
  });

  it('does not wait longer than maxRetryWaitMs: a longer Retry-After fails at once', async () => {
    const { gateway, waits, client, demo } = await setup();
    demo.identity.injectFaults({ status: 429, headers: { 'retry-after': '9' } });
    const error = await rejection(client({ maxRetryWaitMs: 5_000 }).getToken('demo', files));
    assert.ok(error instanceof UnavailableError);
    assert.deepEqual([error.retryAfterSeconds, gateway.requests, waits], [9, 1, []]);
  });

  it('maps problem types to typed errors', async () => {
    const { client } = await setup();
    const tokens = client();
    const bad = await rejection(tokens.getToken('demo', { minTtl: 5 }));
    assert.ok(bad instanceof BadRequestError, String(bad));
    assert.equal(bad.parameter, 'minTtl');
    const missing = await rejection(tokens.getToken('demo', { ...files, region: 'syd' }));
    assert.ok(missing instanceof EndpointNotFoundError);
    assert.equal(missing.problem.missing, 'region');
    const forbidden = await rejection(client({ credentials: OTHER }).getToken('demo', files));
    assert.ok(forbidden instanceof ForbiddenError);
    assert.equal(forbidden.detail, 'The caller may not obtain a token for this profile.');
  });

  it('maps Identity refusing the custodied key to CredentialsUnusableError, without a retry', async () => {
    const { client, demo, gateway, waits } = await setup();
    demo.identity.setUser(DEMO_USER.username, { apiKey: 'rotated-elsewhere-0123456789' });
    const refused = await rejection(client().getToken('demo', files));
    assert.ok(refused instanceof CredentialsUnusableError, String(refused));
    assert.deepEqual([refused.status, gateway.requests, waits], [502, 1, []]);
  });

  it('maps a user holding roles the profile does not declare to CredentialsOverprivilegedError, a CredentialsUnusableError naming the roles, without a retry', async () => {
    const { client, demo, gateway, waits } = await setup();
    demo.identity.setUser(DEMO_USER.username, { roles: ['identity:default', 'object-store:admin', 'identity:user-manage'] });
    const refused = await rejection(client().getToken('demo', files));
    assert.ok(refused instanceof CredentialsOverprivilegedError && refused instanceof CredentialsUnusableError, String(refused));
    assert.deepEqual([refused.status, refused.unexpectedRoles, gateway.requests, waits], [502, ['identity:user-manage'], 1, []]);
  });

  it('tells API Gateway\'s own plain-JSON 403 apart from the service\'s problem', async () => {
    const { client } = await setup();
    const error = await rejection(client({ credentials: { ...YOU, secretAccessKey: 'wrong-secret-0123456789abcdefghijklmnop' } }).getToken('demo', files));
    assert.ok(error instanceof GatewayError, String(error));
    assert.equal(error.status, 403);
    assert.equal(error.errorType, 'InvalidSignatureException');
    assert.match(error.detail, /^The request signature we calculated does not match/);
    assert.equal(error.type, null);
  });

  it('signs for the region in an execute-api host name unless told otherwise', () => {
    assert.equal(regionFromHost('abc123.execute-api.eu-west-1.amazonaws.com'), 'eu-west-1');
    assert.equal(regionFromHost('tokens.example.com'), undefined);
  });
});
