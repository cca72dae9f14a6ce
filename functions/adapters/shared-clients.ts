import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { KMSClient, type KMSClientConfig } from '@aws-sdk/client-kms';

/**
 * Per call to the table or KMS: short, because the shared tier is an optimisation. A stuck call
 * ends here, the circuit opens and the instance works alone (core/fleet.ts), well inside the
 * request's deadline. One attempt: a throttled table is worth falling back from, not waiting on.
 */
export const SHARED_TIMEOUTS = { connectMs: 500, requestMs: 1_000 };

const handler = (timeouts: typeof SHARED_TIMEOUTS) => ({ connectionTimeout: timeouts.connectMs, requestTimeout: timeouts.requestMs, throwOnRequestTimeout: true });

/** The DynamoDB client as deployed; `config` adds an endpoint or credentials for dynalite. */
export function dynamoClient(config: DynamoDBClientConfig = {}, timeouts = SHARED_TIMEOUTS): DynamoDBClient {
  return new DynamoDBClient({ maxAttempts: 1, requestHandler: handler(timeouts), ...config });
}

/** The KMS client as deployed; `config` adds an endpoint or credentials for the KMS stand-in. */
export function kmsClient(config: KMSClientConfig = {}, timeouts = SHARED_TIMEOUTS): KMSClient {
  return new KMSClient({ maxAttempts: 1, requestHandler: handler(timeouts), ...config });
}
