import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import declaration from '../../infra/profiles.json' with { type: 'json' };
import { createLogger } from '../core/logger.ts';
import { loadProfiles } from '../core/profiles.ts';
import { loadConfig } from '../config.ts';
import { makeHandler } from './app.ts';

// Module scope runs once per execution environment: configuration and the profile declaration are
// validated here, so a bad deployment fails at its first cold start (fail closed), not per request.
export const handler = makeHandler({
  config: loadConfig(process.env),
  profiles: loadProfiles(declaration),
  // Two attempts: our own budget covers the rest, and a stuck call must not eat the Lambda timeout.
  secretsClient: new SecretsManagerClient({ maxAttempts: 2 }),
  logger: createLogger(),
});
