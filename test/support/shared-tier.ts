import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { dynamoStore } from '../../functions/adapters/dynamodb-store.ts';
import { kmsDataKeys } from '../../functions/adapters/kms-data-keys.ts';
import { Envelope } from '../../functions/core/envelope.ts';
import { LOCAL_CREDENTIALS, startDynamoEmulator } from '../emulators/dynamodb.ts';
import { startKmsEmulator, type KmsEmulatorOptions } from '../emulators/kms.ts';

export const STAGE = 'local';

/**
 * dynalite and the KMS stand-in on 127.0.0.1, and a factory of stores wired to them with the real
 * SDK clients: each store is one "instance" (its own envelope and data-key cache), all share the table.
 */
export async function startSharedTier(options: { kms?: KmsEmulatorOptions } = {}) {
  const [dynamo, kms] = await Promise.all([startDynamoEmulator(), startKmsEmulator(options.kms)]);
  const clients: Array<{ destroy(): void }> = [];
  const kmsClient = () => {
    const client = new KMSClient({ endpoint: kms.endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    clients.push(client);
    return client;
  };
  const dynamoClient = () => {
    const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    clients.push(client);
    return client;
  };
  const instance = (now: () => number) => {
    const envelope = new Envelope({ keys: kmsDataKeys(kmsClient(), kms.keyArn), now });
    return { store: dynamoStore({ client: dynamoClient(), table: dynamo.table, stage: STAGE, envelope }), envelope };
  };
  return {
    dynamo,
    kms,
    instance,
    async close() {
      for (const client of clients.splice(0)) client.destroy();
      await Promise.all([dynamo.close(), kms.close()]);
    },
  };
}
