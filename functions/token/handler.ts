import declaration from '../../infra/profiles.json' with { type: 'json' };
import { secretsManagerClient } from '../adapters/secrets.ts';
import { createLogger } from '../core/logger.ts';
import { loadProfiles } from '../core/profiles.ts';
import { loadConfig } from '../config.ts';
import { makeHandler } from './app.ts';

// Module scope runs once per execution environment: configuration and the profile declaration are
// validated here, so a bad deployment fails at its first cold start (fail closed), not per request.
export const handler = makeHandler({
  config: loadConfig(process.env),
  profiles: loadProfiles(declaration),
  // Two attempts, each with connect and request timeouts; the request's deadline bounds both.
  secretsClient: secretsManagerClient(),
  logger: createLogger(),
});
