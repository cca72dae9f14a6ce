import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetSecretValueCommand, PutSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DEMO_USER, startIdentityEmulator, type IdentityEmulator } from '../emulators/identity.ts';
import { startSecretsManagerEmulator, type SecretsManagerEmulator } from '../emulators/secrets-manager.ts';
import { fakeClock, HOUR, MINUTE } from '../support/clock.ts';

// The stand-ins must speak the real protocols, or every other integration test proves nothing.

const TENANT_NAME = 'acme-hybrid-110011';

describe('Identity emulator: POST /v2.0/tokens as Rackspace answers it', () => {
  const clock = fakeClock();
  let identity: IdentityEmulator;
  before(async () => {
    // A tenant name unlike its id (cloud accounts have them equal), so the two selectors cannot be confused.
    identity = await startIdentityEmulator({ users: [{ ...DEMO_USER, tenantName: TENANT_NAME, password: 'demo-password-0123456789' }], now: clock.now, offset: '-06:00' });
  });
  after(() => identity.close());

  const post = async (body: unknown, accept = 'application/json') => {
    const response = await fetch(`${identity.url}/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', accept }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
  };
  const apiKey = (extra: Record<string, unknown> = {}, key = DEMO_USER.apiKey) => ({ auth: { 'RAX-KSKEY:apiKeyCredentials': { username: 'demo', apiKey: key }, ...extra } });

  it('accepts both credential forms and both tenant selectors, with a catalog like the seeds', async () => {
    for (const body of [apiKey(), apiKey({ tenantId: '110011' }), { auth: { passwordCredentials: { username: 'demo', password: 'demo-password-0123456789' }, tenantName: TENANT_NAME } }]) {
      const answer = await post(body);
      assert.equal(answer.status, 200, answer.text);
      const access = JSON.parse(answer.text).access;
      assert.deepEqual(access.token.tenant, { id: '110011', name: TENANT_NAME });
      assert.equal(access.user['RAX-AUTH:defaultRegion'], 'DFW');
      const names = access.serviceCatalog.map((s: { name: string }) => s.name);
      assert.ok(names.includes('cloudFiles') && names.includes('cloudDNS') && names.length >= 5, names.join());
      const dfwFiles = access.serviceCatalog.find((s: { name: string }) => s.name === 'cloudFiles').endpoints.find((e: { region: string }) => e.region === 'DFW');
      assert.match(dfwFiles.internalURL, / $/, 'a value with a trailing space, as in the seeds');
    }
  });

  it('writes expires in the configured offset, 24 h ahead, and re-issues the same token until the last hour', async () => {
    const first = JSON.parse((await post(apiKey())).text).access.token;
    assert.match(first.expires, /-06:00$/);
    clock.advance(22 * HOUR);
    const same = JSON.parse((await post(apiKey())).text).access.token;
    assert.equal(same.id, first.id);
    assert.equal(Date.parse(same.expires), Date.parse(first.expires));
    clock.advance(HOUR + MINUTE);
    const renewed = JSON.parse((await post(apiKey())).text).access.token;
    assert.notEqual(renewed.id, first.id);
    assert.equal(Date.parse(renewed.expires) - clock.now(), 24 * HOUR);
  });

  it("answers 401 with Rackspace's body for a wrong key or tenant, and 400 for a malformed body", async () => {
    const wrongKey = await post(apiKey({}, 'not-the-key'));
    assert.deepEqual([wrongKey.status, JSON.parse(wrongKey.text).unauthorized.code], [401, 401]);
    assert.equal((await post(apiKey({ tenantId: '999' }))).status, 401);
    assert.equal((await post(apiKey({ tenantId: TENANT_NAME }))).status, 401, 'a name is not an id');
    assert.equal((await post(apiKey({ tenantName: '110011' }))).status, 401, 'nor an id a name');
    const malformed = await post('{"auth":');
    assert.deepEqual([malformed.status, JSON.parse(malformed.text).badRequest.code], [400, 400]);
    assert.equal((await post({ auth: {} })).status, 400);
  });

  it('answers XML when JSON is not accepted, counts calls, and plays injected faults in order', async () => {
    assert.equal((await post(apiKey(), 'application/xml')).type, 'application/xml');
    identity.resetCalls();
    identity.injectFaults({ status: 429, headers: { 'retry-after': '7' } }, { status: 200, contentType: 'text/html', body: '<html/>' });
    const limited = await fetch(`${identity.url}/tokens`, { method: 'POST', body: '{}' });
    assert.deepEqual([limited.status, limited.headers.get('retry-after')], [429, '7']);
    assert.equal(await (await fetch(`${identity.url}/tokens`, { method: 'POST', body: '{}' })).text(), '<html/>');
    assert.equal((await post(apiKey())).status, 200);
    assert.equal(identity.calls, 3);
  });
});

describe('Secrets Manager emulator: JSON 1.1 through the real SecretsManagerClient', () => {
  let secrets: SecretsManagerEmulator;
  let client: SecretsManagerClient;
  before(async () => {
    secrets = await startSecretsManagerEmulator({ secrets: { 'team/rackspace': '{"username":"demo","apiKey":"k1"}' } });
    client = new SecretsManagerClient({ endpoint: secrets.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' }, maxAttempts: 1 });
  });
  after(async () => {
    client.destroy();
    await secrets.close();
  });

  it('gets a secret by name and by ARN, and PutSecretValue changes it', async () => {
    const byName = await client.send(new GetSecretValueCommand({ SecretId: 'team/rackspace' }));
    assert.equal(byName.SecretString, '{"username":"demo","apiKey":"k1"}');
    assert.match(byName.ARN ?? '', /^arn:aws:secretsmanager:us-east-1:\d{12}:secret:team\/rackspace-\w{6}$/);
    assert.ok(byName.CreatedDate instanceof Date);
    await client.send(new PutSecretValueCommand({ SecretId: byName.ARN, SecretString: '{"username":"demo","apiKey":"k2"}' }));
    const byArn = await client.send(new GetSecretValueCommand({ SecretId: byName.ARN }));
    assert.equal(byArn.SecretString, '{"username":"demo","apiKey":"k2"}');
    assert.notEqual(byArn.VersionId, byName.VersionId);
    assert.equal(secrets.calls.GetSecretValue, 2);
  });

  it('raises the SDK’s own exception classes from the `__type` it answers', async () => {
    await assert.rejects(client.send(new GetSecretValueCommand({ SecretId: 'nope' })), (error) => error instanceof ResourceNotFoundException);
    for (const type of ['AccessDeniedException', 'DecryptionFailure', 'ThrottlingException']) {
      secrets.injectFaults({ type });
      await assert.rejects(client.send(new GetSecretValueCommand({ SecretId: 'team/rackspace' })), (error: Error) => error.name === type);
    }
  });
});
