import { createLogger } from '../core/logger.ts';
import { loadConfig } from '../config.ts';
import { secretsManagerClient } from '../adapters/secrets.ts';
import { makeRotationHandler } from './app.ts';

// Module scope runs once per execution environment; a bad configuration fails the first invocation.
// The client is the vending function's: connect and request timeouts on every call, so a Secrets
// Manager call that is never answered fails (and is audited) long before Lambda's 60 s kill.
export const handler = makeRotationHandler({
  config: loadConfig(process.env),
  secretsClient: secretsManagerClient(),
  logger: createLogger(),
});
