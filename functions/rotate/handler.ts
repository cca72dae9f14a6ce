import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createLogger } from '../core/logger.ts';
import { loadConfig } from '../config.ts';
import { makeRotationHandler } from './app.ts';

// Module scope runs once per execution environment; a bad configuration fails the first invocation.
export const handler = makeRotationHandler({
  config: loadConfig(process.env),
  secretsClient: new SecretsManagerClient({ maxAttempts: 2 }),
  logger: createLogger(),
});
