import { secretsManagerClient } from '../../functions/adapters/secrets.ts';
import { createLogger, type Sink } from '../../functions/core/logger.ts';
import { loadProfiles } from '../../functions/core/profiles.ts';
import { loadConfig } from '../../functions/config.ts';
import { makeHandler, type AppDeps } from '../../functions/token/app.ts';
import { DEMO_USER, startIdentityEmulator, type IdentityEmulatorOptions } from '../emulators/identity.ts';
import { startSecretsManagerEmulator } from '../emulators/secrets-manager.ts';
import type { FakeClock } from '../support/clock.ts';
import { dynamoClient, kmsClient } from '../../functions/adapters/shared-clients.ts';
import { LOCAL_CREDENTIALS, startDynamoEmulator, type DynamoEmulator } from '../emulators/dynamodb.ts';
import { startKmsEmulator, type KmsEmulator } from '../emulators/kms.ts';
import { observe } from '../support/leak-guard.ts';

export const DEMO_SECRET_ID = 'rackspace-token-vendor/demo';
export const DEMO_CALLER = 'arn:aws:sts::000000000000:assumed-role/local-caller/you';
// The demo custodies a least-privilege sub-user (test/emulators/identity.ts DEMO_USER) and says
// which roles it holds, as an operator's profile should: any other role would be refused.
export const DEMO_PROFILES = {
  profiles: [{ name: 'demo', description: 'Local demo profile', secretId: DEMO_SECRET_ID, allow: ['arn:aws:iam::000000000000:role/local-caller'], roles: ['identity:default', 'object-store:admin'] }],
};

export interface DemoOptions {
  identity?: Partial<IdentityEmulatorOptions>;
  /** Overrides for the handler's dependencies (a fake clock, a log sink, fast retries…). */
  deps?: Partial<AppDeps>;
  env?: Record<string, string>;
  sink?: Sink;
  /** Send Secrets Manager calls elsewhere (a server that never answers, say). */
  secretsEndpoint?: string;
  secretsTimeouts?: { connectMs: number; requestMs: number };
  /**
   * A test's fake clock (test/support/clock.ts) for everything at once: the handler's now, sleep and
   * timers, both emulators' clocks and their injected delays. `deps` and `identity` still override.
   */
  clock?: FakeClock;
  /** The shared tier (dynalite + the KMS stand-in), on unless `false`: as deployed by default. */
  shared?: boolean;
}

/** The shared tier's emulators and what points a handler at them. */
export interface SharedEmulators {
  dynamo: DynamoEmulator;
  kms: KmsEmulator;
  env: Record<string, string>;
}

/** dynalite and the KMS stand-in, with the environment a deployment would set (FLEET_*). */
export async function startSharedEmulators(): Promise<SharedEmulators> {
  const [dynamo, kms] = await Promise.all([startDynamoEmulator(), startKmsEmulator()]);
  return { dynamo, kms, env: { FLEET_TABLE: dynamo.table, FLEET_KEY_ID: kms.alias } };
}

/**
 * Both emulators, a demo secret and a handler wired to them with the real SDK client and real
 * fetch. Used by `npm start`, the integration tests and the benchmarks alike.
 *
 * @example
 * const demo = await startDemo();
 * await demo.handler(event, context);
 * await demo.close();
 */
export async function startDemo(options: DemoOptions = {}) {
  const { clock } = options;
  const identity = await startIdentityEmulator({ users: [{ ...DEMO_USER }], ...(clock && { now: clock.now, time: clock }), ...options.identity });
  const secrets = await startSecretsManagerEmulator({
    ...(clock && { time: clock }),
    secrets: { [DEMO_SECRET_ID]: JSON.stringify({ username: DEMO_USER.username, apiKey: DEMO_USER.apiKey, identityUrl: identity.url }) },
  });
  // The deployed client (timeouts included), pointed at the emulator.
  const secretsClient = secretsManagerClient({
    endpoint: options.secretsEndpoint ?? secrets.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-emulator' },
    maxAttempts: 1,
  }, options.secretsTimeouts);
  const sink = options.sink;
  const logger = createLogger(sink ? { sink: (line) => { observe('log line', line); sink(line); } } : {});
  const shared = options.shared === false ? null : await startSharedEmulators();
  const clients: Array<{ destroy(): void }> = [secretsClient];
  // One pair of clients for every instance, as the Secrets Manager client is: a client is only
  // transport, and a thousand simulated instances must not open two thousand connection pools.
  const sharedDeps: Partial<AppDeps> = {};
  if (shared) {
    const local = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS };
    sharedDeps.dynamoClient = dynamoClient({ ...local, endpoint: shared.dynamo.endpoint });
    sharedDeps.kmsClient = kmsClient({ ...local, endpoint: shared.kms.endpoint });
    clients.push(sharedDeps.dynamoClient, sharedDeps.kmsClient);
  }
  /** One more execution environment: its own memory (caches, data keys, circuit), the same emulators and table. */
  const instance = (deps: Partial<AppDeps> = {}) => {
    return makeHandler({
      config: loadConfig({ IDENTITY_URL: identity.url, ...shared?.env, ...options.env }),
      profiles: loadProfiles(DEMO_PROFILES),
      secretsClient,
      logger,
      ...sharedDeps,
      ...(clock && { now: clock.now, sleep: clock.sleep, timeout: clock.timeout }),
      ...options.deps,
      ...deps,
    });
  };
  const handler = instance();
  return {
    handler,
    instance,
    identity,
    secrets,
    shared,
    async close() {
      for (const client of clients.splice(0)) client.destroy();
      await Promise.all([identity.close(), secrets.close(), shared?.dynamo.close(), shared?.kms.close()]);
    },
  };
}
