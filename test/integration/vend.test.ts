import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { secretsManagerClient } from '../../functions/adapters/secrets.ts';
import { loadProfiles } from '../../functions/core/profiles.ts';
import { redactReplacer } from '../../functions/core/sensitive.ts';
import { DEMO_USER } from '../emulators/identity.ts';
import { fakeClock, HOUR, MINUTE } from '../support/clock.ts';
import { auditsIn, call } from '../support/events.ts';
import { DEMO_SECRET_ID, type DemoOptions } from '../local/demo.ts';
import { demosClosedAfterEach, type Demo } from '../support/demos.ts';

// Log lines and answers are checked for secrets by the suite's leak guard (test/support/leak-guard.ts).
const startDemo = demosClosedAfterEach();
const ROTATED_KEY = 'rotated-api-key-abcdef0123456789';
// For cloud accounts Identity's tenant name equals its id; these differ so that code confusing the two
// (answering the id as the name, sending a tenantName as tenantId) fails a test.
const NAMED = { tenantId: '110011', tenantName: 'acme-hybrid-110011' };
const PASSWORD = 'demo-password-0123456789';

/** A demo on a fake clock; `identityBehindMs` sets the Identity emulator's clock behind ours. */
async function start(options: DemoOptions & { identityBehindMs?: number } = {}) {
  const clock = fakeClock();
  const behind = options.identityBehindMs ?? 0;
  const d = await startDemo({
    ...options,
    identity: { now: () => clock.now() - behind, ...options.identity },
    deps: { now: clock.now, sleep: clock.sleep, random: () => 0.5, ...options.deps },
    sink: options.sink ?? (() => {}),
  });
  return { ...d, clock, vend: (options: Parameters<typeof call>[1] = {}) => call(d.handler, options) };
}

describe('Integration: the vending path against the emulators (real SDK client, real fetch)', () => {
  it('answers exactly the trimmed docs/contract.md shape for an API-key secret', async () => {
    const d = await start({ identity: { users: [{ ...DEMO_USER, ...NAMED }] } });
    const answer = await d.vend({ query: { service: 'cloudFiles', region: 'dfw', interface: 'internal' } });
    assert.equal(answer.statusCode, 200);
    assert.equal(answer.headers['content-type'], 'application/json');
    assert.equal(answer.headers['cache-control'], 'no-store');
    assert.deepEqual(Object.keys(answer.json).sort(), ['endpoint', 'expiresAt', 'expiresIn', 'tenant', 'token']);
    assert.match(answer.json.token, /^AA[\w-]{20,}$/);
    assert.equal(answer.json.expiresAt, new Date(d.clock.now() + 24 * HOUR).toISOString());
    assert.equal(answer.json.expiresIn, 24 * 3600);
    assert.deepEqual(answer.json.tenant, { id: NAMED.tenantId, name: NAMED.tenantName });
    assert.deepEqual(answer.json.endpoint, {
      url: 'https://snet-storage101.dfw1.clouddrive.com/v1/MossoCloudFS_110011',
      service: 'cloudFiles',
      type: 'object-store',
      region: 'DFW',
      interface: 'internal',
      tenantId: 'MossoCloudFS_110011',
    });
    for (const leak of ['serviceCatalog', 'roles', 'user', 'RAX-AUTH', DEMO_USER.apiKey as string, 'cloudServersOpenStack']) {
      assert.ok(!answer.body.includes(leak), `the answer holds ${leak}`);
    }
  });

  it('answers a token alone when no service is asked for', async () => {
    const d = await start();
    const answer = await d.vend();
    assert.deepEqual(Object.keys(answer.json).sort(), ['expiresAt', 'expiresIn', 'tenant', 'token']);
  });

  it('authenticates with a password secret and a tenantName, which selects the tenant by name', async () => {
    const d = await start({ identity: { users: [{ ...DEMO_USER, ...NAMED, password: PASSWORD }] } });
    d.secrets.putSecret(DEMO_SECRET_ID, JSON.stringify({ username: 'demo', password: PASSWORD, tenantName: NAMED.tenantName, identityUrl: d.identity.url }));
    const answer = await d.vend({ query: { service: 'cloudFiles', region: 'ORD' } });
    assert.equal(answer.statusCode, 200);
    assert.deepEqual(answer.json.tenant, { id: NAMED.tenantId, name: NAMED.tenantName });
    assert.equal(answer.json.endpoint.url, `https://storage101.ord1.clouddrive.com/v1/MossoCloudFS_${NAMED.tenantId}`);
    assert.equal(d.identity.calls, 1);
    // Sent as anything but tenantName (or not at all), a name the user lacks would not be refused.
    const wrong = await start({ identity: { users: [{ ...DEMO_USER, ...NAMED, password: PASSWORD }] } });
    wrong.secrets.putSecret(DEMO_SECRET_ID, JSON.stringify({ username: 'demo', password: PASSWORD, tenantName: 'someone-else', identityUrl: wrong.identity.url }));
    assert.equal((await wrong.vend()).statusCode, 502);
  });

  it('authenticates with a tenantId, and a tenant the user lacks is a 502', async () => {
    const d = await start({ identity: { users: [{ ...DEMO_USER, ...NAMED }] } });
    d.secrets.putSecret(DEMO_SECRET_ID, JSON.stringify({ username: 'demo', apiKey: DEMO_USER.apiKey, tenantId: NAMED.tenantId, identityUrl: d.identity.url }));
    const ok = await d.vend();
    assert.deepEqual([ok.statusCode, ok.json.tenant], [200, { id: NAMED.tenantId, name: NAMED.tenantName }]);
    const wrong = await start({ identity: { users: [{ ...DEMO_USER, ...NAMED }] } });
    // The user's tenant name, sent as a tenantId: Identity must refuse it.
    wrong.secrets.putSecret(DEMO_SECRET_ID, JSON.stringify({ username: 'demo', apiKey: DEMO_USER.apiKey, tenantId: NAMED.tenantName, identityUrl: wrong.identity.url }));
    const answer = await wrong.vend();
    assert.equal(answer.statusCode, 502);
    assert.equal(answer.headers['content-type'], 'application/problem+json');
    assert.equal(answer.headers['cache-control'], 'no-store');
  });

  it('normalises an expiry given with a -05:00 offset to the same instant in UTC', async () => {
    const d = await start({ identity: { offset: '-05:00' } });
    const answer = await d.vend();
    assert.equal(answer.json.expiresAt, new Date(d.clock.now() + 24 * HOUR).toISOString());
    assert.match(answer.json.expiresAt, /Z$/);
  });

  it('shares one secret read and one authentication among 100 concurrent misses', async () => {
    const d = await start();
    const answers = await Promise.all(Array.from({ length: 100 }, () => d.vend({ query: { service: 'cloudDNS' } })));
    assert.ok(answers.every((a) => a.statusCode === 200));
    assert.equal(new Set(answers.map((a) => a.json.token)).size, 1);
    assert.deepEqual([d.identity.calls, d.secrets.calls.GetSecretValue], [1, 1]);
  });

  it('honours minTtl: a token short of it is replaced (Identity issues a new one in the last hour)', async () => {
    const d = await start();
    const first = await d.vend();
    d.clock.advance(23 * HOUR + 30 * MINUTE);
    const shortOk = await d.vend({ query: { minTtl: '600' } });
    assert.deepEqual([shortOk.json.token, shortOk.json.expiresIn, d.identity.calls], [first.json.token, 30 * 60, 1]);
    const renewed = await d.vend({ query: { minTtl: '3600' } });
    assert.notEqual(renewed.json.token, first.json.token);
    assert.deepEqual([renewed.json.expiresIn, d.identity.calls], [24 * 3600, 2]);
  });

  it('does not loop when Identity re-issues the same token (its clock two minutes behind ours)', async () => {
    const d = await start({ identityBehindMs: 2 * MINUTE });
    const first = await d.vend();
    // We think 58.5 min are left (short of 3600 s); Identity thinks 60.5, so it re-issues the same token.
    d.clock.advance(23 * HOUR - 30_000);
    const degraded = await d.vend({ query: { minTtl: '3600' } });
    assert.deepEqual([degraded.statusCode, degraded.json.token, degraded.json.degraded, degraded.headers['x-token-degraded']], [200, first.json.token, true, 'true']);
    // The clock walks 2.5 s per request: 20 requests span 50 s, all inside the 60 s quiet period.
    for (let i = 0; i < 20; i++) {
      d.clock.advance(2_500);
      const quiet = await d.vend({ query: { minTtl: '3600' } });
      assert.deepEqual([quiet.json.token, quiet.json.degraded], [first.json.token, true]);
    }
    assert.equal(d.identity.calls, 2, 'one confirmation, then quiet for 60 s');
    d.clock.advance(2 * MINUTE);
    const renewed = await d.vend({ query: { minTtl: '3600' } });
    assert.notEqual(renewed.json.token, first.json.token);
    assert.equal(renewed.json.degraded, undefined);
    assert.equal(d.identity.calls, 3);
  });

  it('picks up a rotated API key: 401 → one secret re-read → success', async () => {
    const d = await start({ env: { SECRET_TTL_SECONDS: '86400' } });
    await d.vend();
    d.identity.setUser('demo', { apiKey: ROTATED_KEY });
    d.secrets.putSecret(DEMO_SECRET_ID, JSON.stringify({ username: 'demo', apiKey: ROTATED_KEY, identityUrl: d.identity.url }));
    d.clock.advance(23 * HOUR + 30 * MINUTE);
    const answer = await d.vend({ query: { minTtl: '3600' } });
    assert.equal(answer.statusCode, 200);
    assert.deepEqual([d.identity.calls, d.secrets.calls.GetSecretValue], [3, 2]);
  });

  it('answers 502 without a second Identity call when the re-read secret is unchanged', async () => {
    const d = await start();
    d.identity.setUser('demo', { apiKey: 'a-key-nobody-custodies-000000' });
    const answer = await d.vend();
    assert.equal(answer.statusCode, 502);
    assert.match(answer.json.detail, /rejected the custodied credentials \(HTTP 401\)/);
    // The read, the re-read, and one look for an AWSPENDING version (a rotation in progress): none here.
    assert.deepEqual([d.identity.calls, d.secrets.calls.GetSecretValue], [1, 3]);
  });

  it("keeps every key and token it handled registered for redaction, however many profiles it serves: current keys, AWSPENDING keys and tokens", async () => {
    // Three profiles mid-rotation: Identity refuses each AWSCURRENT key and accepts its AWSPENDING one.
    const names = ['p0', 'p1', 'p2'];
    const old = (n: string) => `current-key-of-${n}-0123456789abcdef`;
    const next = (n: string) => `pending-key-of-${n}-0123456789abcdef`;
    const allow = ['arn:aws:iam::000000000000:role/local-caller'];
    const d = await start({
      identity: { users: names.map((n) => ({ username: n, apiKey: next(n), tenantId: '110011', tenantName: '110011' })) },
      deps: { profiles: loadProfiles({ profiles: names.map((n) => ({ name: n, description: n, secretId: `secret-${n}`, allow })) }) },
    });
    const client = secretsManagerClient({ endpoint: d.secrets.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' }, maxAttempts: 1 });
    const secret = (n: string, apiKey: string) => JSON.stringify({ username: n, apiKey, identityUrl: d.identity.url });
    for (const n of names) {
      d.secrets.putSecret(`secret-${n}`, secret(n, old(n)));
      await client.send(new PutSecretValueCommand({ SecretId: `secret-${n}`, SecretString: secret(n, next(n)), VersionStages: ['AWSPENDING'] }));
    }
    client.destroy();
    const tokens: string[] = [];
    for (const profile of names) {
      const answer = await d.vend({ profile });
      assert.equal(answer.statusCode, 200, answer.body);
      tokens.push(answer.json.token);
    }
    const values = [...names.map(old), ...names.map(next), ...tokens];
    assert.deepEqual(JSON.parse(JSON.stringify({ values }, redactReplacer)).values, values.map(() => '[REDACTED]'));
  });

  describe('each Identity failure class maps to docs/contract.md (one attempt, no retries)', () => {
    const cases: Array<[string, Record<string, unknown>, number, string | undefined]> = [
      ['400 bad request', { status: 400, body: '{"badRequest":{"code":400,"message":"Invalid request body"}}' }, 502, undefined],
      ['403 user disabled', { status: 403, body: '{"userDisabled":{"code":403,"message":"User is disabled"}}' }, 502, undefined],
      ['413 overLimit with Retry-After', { status: 413, body: '{"overLimit":{"code":413,"message":"Rate limit"}}', headers: { 'retry-after': '17' } }, 503, '17'],
      ['429 with Retry-After', { status: 429, headers: { 'retry-after': '9' } }, 503, '9'],
      ['500', { status: 500 }, 503, '5'],
      ['a malformed body', { status: 200, body: '{"access":' }, 503, '5'],
      ['a connection reset', { reset: true }, 503, '5'],
    ];
    for (const [name, fault, status, retryAfter] of cases) {
      it(`${name} → ${status}`, async () => {
        const d = await start({ env: { IDENTITY_ATTEMPTS: '1' } });
        d.identity.injectFaults(fault);
        const answer = await d.vend();
        assert.equal(answer.statusCode, status);
        assert.equal(answer.headers['content-type'], 'application/problem+json');
        assert.equal(answer.headers['retry-after'], retryAfter);
        assert.equal(answer.headers['cache-control'], 'no-store');
        assert.equal(answer.json.status, status);
      });
    }
  });

  describe('each Secrets Manager failure class maps to docs/design.md "Secrets Manager failures", and the log says which', () => {
    const UNUSABLE = 'The credentials custodied for this profile cannot be used; the service log has the reason.';
    const UNAVAILABLE = 'Secrets Manager is unavailable; try again shortly.';
    // The caller's detail is generic; the audit line's reason adds the cause: name, kind and status, never a value.
    const cases: Array<[string, (d: Demo) => void | Promise<void>, number, string]> = [
      ['ResourceNotFoundException (secret deleted)', (d) => d.secrets.deleteSecret(DEMO_SECRET_ID), 502, 'Secrets Manager ResourceNotFoundException (service, HTTP 400)'],
      ['AccessDeniedException', (d) => d.secrets.injectFaults({ type: 'AccessDeniedException' }), 502, 'Secrets Manager AccessDeniedException (service, HTTP 400)'],
      ['DecryptionFailure', (d) => d.secrets.injectFaults({ type: 'DecryptionFailure' }), 502, 'Secrets Manager DecryptionFailure (service, HTTP 400)'],
      ['an unknown 4xx error', (d) => d.secrets.injectFaults({ type: 'SomethingNewException', status: 400 }), 502, 'Secrets Manager SomethingNewException (service, HTTP 400)'],
      ['a secret that is not JSON', (d) => d.secrets.putSecret(DEMO_SECRET_ID, 'not json at all'), 502, 'the secret is not JSON'],
      ['a binary secret (SecretBinary, no SecretString)', (d) => d.secrets.putSecret(DEMO_SECRET_ID, new Uint8Array([0x7b, 0x7d])), 502, 'the secret has no SecretString (binary secrets are not supported)'],
      ['ThrottlingException', (d) => d.secrets.injectFaults({ type: 'ThrottlingException' }), 503, 'Secrets Manager ThrottlingException (service, HTTP 400)'],
      ['InternalServiceError', (d) => d.secrets.injectFaults({ type: 'InternalServiceError' }), 503, 'Secrets Manager InternalServiceError (service, HTTP 500)'],
      ['an unknown 5xx error', (d) => d.secrets.injectFaults({ type: 'ServiceUnavailable', status: 503 }), 503, 'Secrets Manager ServiceUnavailable (service, HTTP 503)'],
      ['RequestTimeout (HTTP 408)', (d) => d.secrets.injectFaults({ type: 'RequestTimeout', status: 408 }), 503, 'Secrets Manager RequestTimeout (timeout, HTTP 408)'],
      ['a network fault (nothing listening)', (d) => d.secrets.close(), 503, 'Secrets Manager Error (network)'],
    ];
    for (const [name, fault, status, cause] of cases) {
      it(`${name} → ${status}`, async () => {
        const lines: string[] = [];
        const d = await start({ sink: (line) => lines.push(line) });
        await fault(d);
        const answer = await d.vend();
        assert.deepEqual([answer.statusCode, answer.json.status], [status, status]);
        assert.deepEqual([answer.headers['content-type'], answer.headers['cache-control']], ['application/problem+json', 'no-store']);
        assert.equal(answer.headers['retry-after'], status === 503 ? '1' : undefined);
        assert.equal(answer.json.type, `urn:rackspace-token-vendor:problem:${status === 503 ? 'upstream-unavailable' : 'credentials-unusable'}`);
        const detail = status === 503 ? UNAVAILABLE : UNUSABLE;
        assert.equal(answer.json.detail, detail);
        assert.deepEqual(auditsIn(lines).map((a) => [a.reason, a.upstream]), [[`${detail} (${cause})`, 'secrets-manager']]);
        assert.equal(d.identity.calls, 0, 'Identity is never asked without usable credentials');
      });
    }
  });

  it('answers an unexpected failure with the fixed 500 body, never its message', async () => {
    const secretText = 'internal detail: /var/task/x.js line 9';
    // A dependency that breaks in a way nobody classified: sleeping between two Identity attempts.
    const d = await start({ env: { IDENTITY_ATTEMPTS: '2' }, deps: { sleep: async () => { throw new TypeError(secretText); } } });
    d.identity.injectFaults({ status: 500 });
    const answer = await d.vend();
    assert.equal(answer.statusCode, 500);
    assert.deepEqual([answer.headers['content-type'], answer.headers['cache-control']], ['application/problem+json', 'no-store']);
    assert.deepEqual(answer.json, { type: 'urn:rackspace-token-vendor:problem:internal', title: 'Internal error', status: 500, detail: 'An unexpected error occurred.' });
    assert.ok(!answer.body.includes('internal detail') && !answer.body.includes('TypeError'), answer.body);
  });

  it('trusts a secret read for 300 s by default, then reads it again', async () => {
    // Failed authentications are never cached, so each request below reads the secret through its cache.
    const d = await start({ env: { IDENTITY_ATTEMPTS: '1' } });
    d.identity.injectFaults({ status: 503 }, { status: 503 }, { status: 503 });
    assert.equal((await d.vend()).statusCode, 503);
    d.clock.advance(299_999);
    assert.equal((await d.vend()).statusCode, 503);
    assert.equal(d.secrets.calls.GetSecretValue, 1, 'still trusted 1 ms before 300 s');
    d.clock.advance(1);
    assert.equal((await d.vend()).statusCode, 503);
    assert.equal(d.secrets.calls.GetSecretValue, 2, 'read again at 300 s');
  });

  it('answers 400 problem+json naming the parameter for bad or unknown query parameters', async () => {
    const d = await start();
    for (const [query, parameter] of [[{ foo: '1' }, 'foo'], [{ minTtl: '10' }, 'minTtl'], [{ service: 'cloudFiles', interface: 'snet' }, 'interface']] as const) {
      const answer = await d.vend({ query });
      assert.deepEqual([answer.statusCode, answer.headers['content-type'], answer.headers['cache-control'], answer.json.parameter], [400, 'application/problem+json', 'no-store', parameter]);
      assert.match(answer.json.detail, new RegExp(parameter));
    }
    assert.equal(d.identity.calls, 0, 'bad requests never reach Identity');
  });

  it('answers 404 listing what exists, and prefers a regional service to a global one', async () => {
    const d = await start();
    const missing = await d.vend({ query: { service: 'cloudFiles', region: 'LON' } });
    assert.deepEqual([missing.statusCode, missing.json.missing, missing.json.available], [404, 'region', ['DFW', 'ORD', 'IAD']]);
    assert.deepEqual([missing.headers['content-type'], missing.headers['cache-control']], ['application/problem+json', 'no-store']);
    const compute = await d.vend({ query: { service: 'compute', region: 'DFW' } });
    assert.equal(compute.statusCode, 200);
    assert.deepEqual(compute.json.endpoint, {
      url: 'https://dfw.servers.api.rackspacecloud.com/v2/110011',
      service: 'cloudServersOpenStack',
      type: 'compute',
      region: 'DFW',
      interface: 'public',
      tenantId: '110011',
      version: '2',
    }, 'the regional compute service wins over the global cloudServers');
  });

  it('answers each region its own endpoint from one warm token (DFW, then ORD, then dfw)', async () => {
    const d = await start();
    const urls = [];
    for (const region of ['DFW', 'ORD', 'dfw', 'ord']) {
      const answer = await d.vend({ query: { service: 'cloudFiles', region } });
      urls.push([answer.json.endpoint.region, answer.json.endpoint.url]);
    }
    assert.deepEqual(urls, [
      ['DFW', 'https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_110011'],
      ['ORD', 'https://storage101.ord1.clouddrive.com/v1/MossoCloudFS_110011'],
      ['DFW', 'https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_110011'],
      ['ORD', 'https://storage101.ord1.clouddrive.com/v1/MossoCloudFS_110011'],
    ]);
    assert.equal(d.identity.calls, 1, 'one token served them all');
  });

  it('answers 403 for a forbidden caller and an unknown profile alike', async () => {
    const d = await start();
    const other = await d.vend({ caller: 'arn:aws:sts::000000000000:assumed-role/someone-else/x' });
    const unknown = await d.vend({ profile: 'nope' });
    const anonymous = await d.vend({ caller: null });
    assert.deepEqual([other.statusCode, unknown.statusCode, anonymous.statusCode], [403, 403, 403]);
    assert.deepEqual([other.headers['content-type'], other.headers['cache-control']], ['application/problem+json', 'no-store']);
    assert.equal(other.body, unknown.body);
    assert.equal(other.body, anonymous.body);
    assert.equal(d.secrets.calls.GetSecretValue ?? 0, 0);
  });
});
