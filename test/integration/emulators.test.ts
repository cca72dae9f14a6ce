import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
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

  it('answers 415 to a body not declared JSON, whatever it holds', async () => {
    const response = await fetch(`${identity.url}/tokens`, { method: 'POST', headers: { accept: 'application/json' }, body: JSON.stringify(apiKey()) });
    assert.deepEqual([response.status, Object.keys((await response.json()) as object)], [415, ['badMediaType']]);
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

describe('Secrets Manager emulator: versions and staging labels, as the service keeps them', () => {
  let secrets: SecretsManagerEmulator;
  let client: SecretsManagerClient;
  before(async () => {
    secrets = await startSecretsManagerEmulator({ secrets: { 'team/staged': '{"v":1}' } });
    client = new SecretsManagerClient({ endpoint: secrets.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' }, maxAttempts: 1 });
  });
  after(async () => {
    client.destroy();
    await secrets.close();
  });
  const SecretId = 'team/staged';
  const token = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;
  const failsWith = (name: string, message?: RegExp) => (error: Error) => error.name === name && (!message || message.test(error.message));

  it('puts a version under a label with a ClientRequestToken; the same put again is a no-op, a different value is refused', async () => {
    const put = (value: string) => client.send(new PutSecretValueCommand({ SecretId, ClientRequestToken: token(1), SecretString: value, VersionStages: ['AWSPENDING'] }));
    assert.deepEqual([(await put('{"v":2}')).VersionId, (await put('{"v":2}')).VersionId], [token(1), token(1)]);
    await assert.rejects(put('{"v":3}'), failsWith('ResourceExistsException'));
    const pending = await client.send(new GetSecretValueCommand({ SecretId, VersionStage: 'AWSPENDING' }));
    assert.deepEqual([pending.SecretString, pending.VersionStages], ['{"v":2}', ['AWSPENDING']]);
    assert.equal((await client.send(new GetSecretValueCommand({ SecretId }))).SecretString, '{"v":1}', 'AWSCURRENT did not move');
    await assert.rejects(client.send(new GetSecretValueCommand({ SecretId, VersionId: token(1), VersionStage: 'AWSCURRENT' })), failsWith('ResourceNotFoundException', /staging label/));
    await assert.rejects(client.send(new PutSecretValueCommand({ SecretId, ClientRequestToken: 'short', SecretString: '{}' })), failsWith('InvalidParameterException'));
  });

  it('moves AWSCURRENT only when told which version it leaves, and leaves AWSPREVIOUS there', async () => {
    const described = await client.send(new DescribeSecretCommand({ SecretId }));
    const current = Object.entries(described.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
    const move = (removeFrom?: string) => client.send(new UpdateSecretVersionStageCommand({ SecretId, VersionStage: 'AWSCURRENT', MoveToVersionId: token(1), RemoveFromVersionId: removeFrom }));
    await assert.rejects(move(), failsWith('InvalidParameterException', /You must specify that version as RemoveFromVersionId/));
    await assert.rejects(move(token(2)), failsWith('InvalidParameterException'));
    await move(current);
    await client.send(new UpdateSecretVersionStageCommand({ SecretId, VersionStage: 'AWSPENDING', RemoveFromVersionId: token(1) }));
    const after = await client.send(new DescribeSecretCommand({ SecretId }));
    assert.deepEqual(after.VersionIdsToStages, { [current as string]: ['AWSPREVIOUS'], [token(1)]: ['AWSCURRENT'] });
    await assert.rejects(client.send(new GetSecretValueCommand({ SecretId, VersionStage: 'AWSPENDING' })), failsWith('ResourceNotFoundException'));
    await assert.rejects(client.send(new UpdateSecretVersionStageCommand({ SecretId, VersionStage: 'AWSCURRENT', RemoveFromVersionId: token(1) })), failsWith('InvalidParameterException'));
  });

  it('RotateSecret needs a rotation function, creates an empty AWSPENDING version, and re-attempts while one is left', async () => {
    await assert.rejects(client.send(new RotateSecretCommand({ SecretId })), failsWith('InvalidRequestException', /No Lambda rotation function/));
    const seen: string[] = [];
    secrets.registerRotationFunction('arn:aws:lambda:us-east-1:000000000000:function:f', async (event) => {
      seen.push(`${event.Step}:${event.ClientRequestToken}`);
      throw new Error('step failed');
    });
    const started = await client.send(new RotateSecretCommand({ SecretId, RotationLambdaARN: 'arn:aws:lambda:us-east-1:000000000000:function:f', ClientRequestToken: token(3) }));
    assert.equal(started.VersionId, token(3));
    await secrets.rotationsSettled();
    assert.deepEqual(seen, [`createSecret:${token(3)}`], 'a failed step stops the rotation');
    assert.deepEqual(secrets.stagesOf(SecretId)[token(3)], ['AWSPENDING']);
    await assert.rejects(client.send(new GetSecretValueCommand({ SecretId, VersionId: token(3) })), failsWith('ResourceNotFoundException'), 'the new version has no value yet');
    assert.equal((await client.send(new DescribeSecretCommand({ SecretId }))).RotationEnabled, true);
    await assert.rejects(client.send(new RotateSecretCommand({ SecretId })), failsWith('InvalidRequestException', /A previous rotation isn't complete/));
    await secrets.rotationsSettled();
    assert.deepEqual(seen, [`createSecret:${token(3)}`, `createSecret:${token(3)}`], 'the same rotation, re-attempted');
  });
});

describe("Identity emulator: a user's own API key (GET, reset)", () => {
  let identity: IdentityEmulator;
  before(async () => {
    identity = await startIdentityEmulator({ users: [{ ...DEMO_USER }, { username: 'other', apiKey: 'other-api-key-0123456789', tenantId: '2', tenantName: '2' }] });
  });
  after(() => identity.close());
  const authenticate = async (apiKey: string) => {
    const response = await fetch(`${identity.url}/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ auth: { 'RAX-KSKEY:apiKeyCredentials': { username: 'demo', apiKey } } }) });
    const json = (await response.json()) as Record<string, any>;
    return { status: response.status, access: json.access };
  };
  const keyCall = async (userId: string, tokenId: string | undefined, reset: boolean) => {
    const url = `${identity.url}/users/${userId}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials${reset ? '/RAX-AUTH/reset' : ''}`;
    const response = await fetch(url, { method: reset ? 'POST' : 'GET', headers: { accept: 'application/json', ...(tokenId && { 'x-auth-token': tokenId }) } });
    return { status: response.status, json: (await response.json()) as Record<string, any> };
  };

  it("answers the key, resets it (the old key refused at once, the token still valid), and refuses others' tokens", async () => {
    const { access } = await authenticate(DEMO_USER.apiKey as string);
    const userId = access.user.id as string;
    assert.equal(userId, '100000');
    assert.deepEqual((await keyCall(userId, access.token.id, false)).json, { 'RAX-KSKEY:apiKeyCredentials': { username: 'demo', apiKey: DEMO_USER.apiKey } });
    const reset = await keyCall(userId, access.token.id, true);
    const newKey = reset.json['RAX-KSKEY:apiKeyCredentials'].apiKey as string;
    assert.ok(reset.status === 200 && newKey !== DEMO_USER.apiKey);
    assert.equal((await authenticate(DEMO_USER.apiKey as string)).status, 401);
    assert.equal((await authenticate(newKey)).status, 200);
    assert.equal((await keyCall(userId, access.token.id, false)).json['RAX-KSKEY:apiKeyCredentials'].apiKey, newKey, 'the old token still works');
    assert.equal((await keyCall(userId, undefined, false)).status, 401);
    assert.equal((await keyCall('100001', access.token.id, true)).status, 403);
    assert.equal((await keyCall('999', access.token.id, false)).status, 404);
    assert.deepEqual(identity.requests, { tokens: 3, reset: 2, getKey: 4, revoke: 0 });
  });

  it('answers the key in XML when JSON is not accepted', async () => {
    // The test above reset the key: set a known one.
    identity.setUser('demo', { apiKey: 'demo-api-key-for-the-xml-answer' });
    const { access } = await authenticate('demo-api-key-for-the-xml-answer');
    const response = await fetch(`${identity.url}/users/${access.user.id}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials`, { headers: { 'x-auth-token': access.token.id } });
    assert.deepEqual([response.status, response.headers.get('content-type')], [200, 'application/xml']);
    assert.match(await response.text(), /^<\?xml .*<apiKeyCredentials /);
  });
});

describe('Identity emulator: Revoke token (DELETE /v2.0/tokens with the token as X-Auth-Token)', () => {
  it('revokes the token itself (204), refuses it afterwards (401), and issues a new token at the next authentication', async () => {
    const identity = await startIdentityEmulator({ users: [{ ...DEMO_USER }] });
    try {
      const authenticate = async () => {
        const response = await fetch(`${identity.url}/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ auth: { 'RAX-KSKEY:apiKeyCredentials': { username: DEMO_USER.username, apiKey: DEMO_USER.apiKey } } }) });
        return ((await response.json()) as { access: { token: { id: string } } }).access.token.id;
      };
      const revoke = async (token: string) => (await fetch(`${identity.url}/tokens`, { method: 'DELETE', headers: { 'x-auth-token': token } })).status;
      const token = await authenticate();
      assert.deepEqual([await revoke(token), await revoke(token), await revoke('AAnot-a-token-0000')], [204, 401, 401]);
      assert.ok(identity.revoked.has(token));
      assert.notEqual(await authenticate(), token);
      assert.equal(identity.requests.revoke, 3);
    } finally {
      await identity.close();
    }
  });
});
