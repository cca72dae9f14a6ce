import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { DataKeyRejectedError, type DataKeys } from '../core/envelope.ts';
import { StoreUnavailableError } from '../core/token-store.ts';
import { callFailed } from './aws-errors.ts';

// KMS's answer for a blob that is not ours for this context; every other error is KMS being
// unavailable or refusing us (AccessDenied, throttling, network), and the caller falls back.
const REJECTED = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

/**
 * Data keys from KMS under the stack's key (`keyId`: its ARN or alias), always with an encryption
 * context, which the function's IAM policy requires (infra/fleet.yml).
 *
 * @example
 * const keys = kmsDataKeys(new KMSClient({}), process.env.FLEET_KEY_ID);
 */
export function kmsDataKeys(client: KMSClient, keyId: string): DataKeys {
  return {
    async generate(context) {
      let out;
      try {
        out = await client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context }));
      } catch (error) {
        throw unavailable('GenerateDataKey', error);
      }
      if (!out.Plaintext || !out.CiphertextBlob) throw new StoreUnavailableError('kms', 'KMS GenerateDataKey answered without a key');
      return { plaintext: out.Plaintext, encrypted: out.CiphertextBlob };
    },
    async decrypt(encrypted, context) {
      let out;
      try {
        out = await client.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: encrypted, EncryptionContext: context }));
      } catch (error) {
        if (error instanceof Error && REJECTED.has(error.name)) throw new DataKeyRejectedError(`KMS ${error.name}`);
        throw unavailable('Decrypt', error);
      }
      if (!out.Plaintext) throw new StoreUnavailableError('kms', 'KMS Decrypt answered without a key');
      return out.Plaintext;
    },
  };
}

function unavailable(operation: string, error: unknown): StoreUnavailableError {
  return new StoreUnavailableError('kms', callFailed('KMS', operation, error));
}
