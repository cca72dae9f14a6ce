import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { LOCAL_CREDENTIALS } from '../emulators/dynamodb.ts';
import { startKmsEmulator, type KmsEmulator } from '../emulators/kms.ts';

let kms: KmsEmulator;
let client: KMSClient;
const CONTEXT = { service: 'rackspace-token-vendor', stage: 'local', profile: 'demo', format: 'token/v1' };

before(async () => {
  // Stands in for the key policy: data keys only for this service's records.
  kms = await startKmsEmulator({ allowContext: (_op, context) => context.service === 'rackspace-token-vendor' });
  client = new KMSClient({ endpoint: kms.endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
});
after(async () => {
  client.destroy();
  await kms.close();
});

const generate = (context: Record<string, string> = CONTEXT, keyId = kms.keyArn) =>
  client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context }));
const decrypt = (blob: Uint8Array, context: Record<string, string>) => client.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context, KeyId: kms.keyArn }));
const errorName = (name: string) => (error: Error) => error.name === name;

describe('KMS emulator: the real KMSClient over JSON 1.1 (TrentService)', () => {
  it('GenerateDataKey answers a 256-bit key and a blob that Decrypt turns back into the same key under the same context', async () => {
    const generated = await generate();
    assert.equal(generated.Plaintext?.length, 32);
    assert.equal(generated.KeyId, kms.keyArn);
    // The context is a map: its order does not matter.
    const reordered = Object.fromEntries(Object.entries(CONTEXT).reverse());
    const opened = await decrypt(generated.CiphertextBlob as Uint8Array, reordered);
    assert.deepEqual(Buffer.from(opened.Plaintext as Uint8Array), Buffer.from(generated.Plaintext as Uint8Array));
    assert.equal(opened.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
  });

  it('accepts the alias as the key id', async () => {
    assert.equal((await generate(CONTEXT, kms.alias)).KeyId, kms.keyArn);
  });

  it('answers InvalidCiphertextException for another context or a damaged blob, as KMS does', async () => {
    const { CiphertextBlob } = await generate();
    const blob = Buffer.from(CiphertextBlob as Uint8Array);
    await assert.rejects(decrypt(blob, { ...CONTEXT, profile: 'other' }), errorName('InvalidCiphertextException'));
    const damaged = Buffer.from(blob);
    damaged[damaged.length - 1] = (damaged[damaged.length - 1] as number) ^ 1;
    await assert.rejects(decrypt(damaged, CONTEXT), errorName('InvalidCiphertextException'));
  });

  it('refuses a context the policy does not allow (AccessDeniedException), an unknown key (NotFoundException) and unsigned requests', async () => {
    await assert.rejects(generate({ ...CONTEXT, service: 'someone-else' }), errorName('AccessDeniedException'));
    await assert.rejects(generate(CONTEXT, 'alias/nope'), errorName('NotFoundException'));
    const unsigned = await fetch(kms.endpoint, { method: 'POST', headers: { 'x-amz-target': 'TrentService.GenerateDataKey', 'content-type': 'application/x-amz-json-1.1' }, body: '{}' });
    assert.deepEqual([unsigned.status, ((await unsigned.json()) as { __type: string }).__type], [400, 'UnrecognizedClientException']);
  });

  it('answers injected faults and denies everything while told to, counting calls per operation', async () => {
    kms.resetCalls();
    kms.injectFaults({ type: 'ThrottlingException' });
    await assert.rejects(generate(), errorName('ThrottlingException'));
    kms.denyAll(true);
    await assert.rejects(generate(), errorName('AccessDeniedException'));
    kms.denyAll(false);
    await generate();
    assert.deepEqual(kms.calls, { GenerateDataKey: 3 });
  });
});
