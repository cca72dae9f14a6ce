import assert from 'node:assert/strict';
import { PutSecretValueCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { after, afterEach, before, describe, it } from 'node:test';
import { HEAL_STAGE, secretHealWriter } from '../../functions/adapters/secret-heal.ts';
import { secretsManagerClient } from '../../functions/adapters/secrets.ts';
import { SecretMovedError } from '../../functions/core/heal.ts';
import { SESSION_STAGE } from '../../functions/rotate/session.ts';
import { startSecretsManagerEmulator, type SecretsManagerEmulator } from '../emulators/secrets-manager.ts';

// The heal's Secrets Manager calls, one by one, through the real SDK client against the emulator.
const NAME = 'rackspace-token-vendor/heal-writer';
const OLD = '{"username":"demo","apiKey":"old-key-0123456789abcdef"}';
const NEW = '{"username":"demo","apiKey":"new-key-0123456789abcdef"}';

let secrets: SecretsManagerEmulator;
let client: ReturnType<typeof secretsManagerClient>;
let writer: ReturnType<typeof secretHealWriter>;
before(async () => {
  secrets = await startSecretsManagerEmulator();
  client = secretsManagerClient({ endpoint: secrets.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' } });
  writer = secretHealWriter(client);
});
afterEach(() => {
  secrets.clearFaults();
  secrets.deleteSecret(NAME);
});
after(async () => {
  client.destroy();
  await secrets.close();
});

const currentId = () => Object.entries(secrets.stagesOf(NAME)).find(([, labels]) => labels.includes('AWSCURRENT'))?.[0] as string;

describe('Function: secretHealWriter', () => {
  it('sees a rotation under way only while a version carries the saved session label', async () => {
    secrets.putSecret(NAME, OLD);
    assert.equal(await writer.rotationUnderWay(NAME), false);
    await client.send(new PutSecretValueCommand({ SecretId: NAME, SecretString: '{"session":"x"}', VersionStages: [SESSION_STAGE] }));
    assert.equal(await writer.rotationUnderWay(NAME), true);
  });

  it('passes any other failure of that look through, rather than reading it as no rotation', async () => {
    secrets.putSecret(NAME, OLD);
    secrets.injectFaults({ type: 'AccessDeniedException', status: 400, operation: 'GetSecretValue' });
    await assert.rejects(writer.rotationUnderWay(NAME), { name: 'AccessDeniedException' });
  });

  it('reads AWSCURRENT with its version id, and answers null for a binary secret', async () => {
    secrets.putSecret(NAME, OLD);
    assert.deepEqual(await writer.current(NAME), { versionId: currentId(), secretString: OLD });
    secrets.putSecret(NAME, new Uint8Array([1, 2, 3]));
    assert.equal(await writer.current(NAME), null);
  });

  it('puts the healed value under its own label first, then moves AWSCURRENT onto it from the version read', async () => {
    secrets.putSecret(NAME, OLD);
    const read = currentId();
    await writer.replace(NAME, read, NEW);
    const healed = currentId();
    assert.notEqual(healed, read);
    assert.deepEqual(secrets.stagesOf(NAME)[healed]?.sort(), ['AWSCURRENT', HEAL_STAGE]);
    assert.deepEqual(secrets.stagesOf(NAME)[read], ['AWSPREVIOUS']);
    assert.equal(secrets.valueAt(NAME, 'AWSCURRENT'), NEW);
  });

  it('refuses with SecretMovedError when AWSCURRENT moved since it was read, and leaves the newer value current', async () => {
    secrets.putSecret(NAME, OLD);
    const read = currentId();
    secrets.putSecret(NAME, '{"username":"demo","apiKey":"operator-0123456789abcdef"}');
    const refusal = await writer.replace(NAME, read, NEW).then(
      () => assert.fail('the move should have been refused'),
      (error: unknown) => error,
    );
    assert.ok(refusal instanceof SecretMovedError);
    assert.equal(refusal.name, 'SecretMovedError');
    assert.equal(refusal.message, 'AWSCURRENT moved since it was read');
    assert.equal((refusal.cause as Error).name, 'InvalidParameterException');
    assert.match(secrets.valueAt(NAME, 'AWSCURRENT') ?? '', /operator-/);
  });

  it('passes other failures of the move through as they are', async () => {
    secrets.putSecret(NAME, OLD);
    secrets.injectFaults({ type: 'AccessDeniedException', status: 400, operation: 'UpdateSecretVersionStage' });
    await assert.rejects(writer.replace(NAME, currentId(), NEW), (error: Error) => error.name === 'AccessDeniedException' && !(error instanceof SecretMovedError));
    assert.equal(secrets.valueAt(NAME, 'AWSCURRENT'), OLD);
  });

  it('starts the secret\'s own rotation with the function it is configured with', async () => {
    secrets.putSecret(NAME, OLD);
    const ROTATOR = 'arn:aws:lambda:us-east-1:000000000000:function:rotate';
    const steps: string[] = [];
    secrets.registerRotationFunction(ROTATOR, async (event) => void steps.push(event.Step));
    await client.send(new RotateSecretCommand({ SecretId: NAME, RotationLambdaARN: ROTATOR, RotateImmediately: false }));
    await writer.rotate(NAME);
    await secrets.rotationsSettled();
    assert.deepEqual(steps, ['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
  });

  it('lets Secrets Manager refuse a rotation where none is configured', async () => {
    secrets.putSecret(NAME, OLD);
    await assert.rejects(writer.rotate(NAME), { name: 'InvalidRequestException' });
  });
});
