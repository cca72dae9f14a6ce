import assert from 'node:assert/strict';
import { CreateSecretCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { SECRETS_TIMEOUTS, secretsManagerClient } from '../../functions/adapters/secrets.ts';
import { createLogger, type Sink } from '../../functions/core/logger.ts';
import { loadConfig } from '../../functions/config.ts';
import { loadProfiles } from '../../functions/core/profiles.ts';
import { makeRotationHandler } from '../../functions/rotate/app.ts';
import { makeHandler } from '../../functions/token/app.ts';
import { DEMO_USER, startIdentityEmulator } from '../emulators/identity.ts';
import { startSecretsManagerEmulator, type RotationEvent } from '../emulators/secrets-manager.ts';
import { DEMO_PROFILES, DEMO_SECRET_ID } from '../local/demo.ts';
import { call } from './events.ts';
import { observe } from './leak-guard.ts';
import { afterEach } from 'node:test';

export const ROTATION_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:rackspace-token-vendor-local-rotate';

export interface RotationRigOptions {
  /** The secret's value; by default the demo user's API key and the emulator's URL; null: created empty, as the stack creates it. */
  secret?: ((identityUrl: string) => Record<string, string>) | null;
  /** Wraps the rotation function's fetch (to crash it after a given call, say). */
  fetch?: (inner: typeof globalThis.fetch) => typeof globalThis.fetch;
  /** Invokes each step this many times in a row, as a duplicate delivery would. */
  invocationsPerStep?: number;
  /** Ends an invocation that takes longer, as Lambda's timeout does: its code simply never runs on. */
  invocationTimeoutMs?: number;
  /** Runs after every invocation of the rotation function, before Secrets Manager goes on. */
  afterInvocation?: (event: RotationEvent, failed: boolean) => Promise<void>;
  /** The clock of the rotation function and of Identity (its tokens' lifetimes); the real one by default. */
  now?: () => number;
  /** Real waits between retries (the driver), or none (the tests). */
  realSleep?: boolean;
  sink?: Sink;
  /** The Secrets Manager client's connect and request timeouts (the deployed ones by default). */
  secretsTimeouts?: typeof SECRETS_TIMEOUTS;
  /** Identity's token lifetime; under an hour, every authentication gets a token of its own. */
  identityLifetimeMs?: number;
}

/**
 * Both emulators, the demo secret, and the rotation function registered with the Secrets Manager
 * emulator under its ARN, talking to both through the real SDK client and real fetch. RotateSecret
 * through the SDK then runs the four steps the way the service does.
 *
 * @example
 * const rig = await startRotationRig();
 * await rig.rotate();
 * await rig.secrets.rotationsSettled();
 */
export async function startRotationRig(options: RotationRigOptions = {}) {
  const identity = await startIdentityEmulator({ users: [{ ...DEMO_USER }], ...(options.now && { now: options.now }), ...(options.identityLifetimeMs && { lifetimeMs: options.identityLifetimeMs }) });
  const initial = options.secret === null ? null : (options.secret?.(identity.url) ?? { username: DEMO_USER.username, apiKey: DEMO_USER.apiKey as string, identityUrl: identity.url });
  const secrets = await startSecretsManagerEmulator({ secrets: initial ? { [DEMO_SECRET_ID]: JSON.stringify(initial) } : {} });
  // The deployed client (its timeouts), on the emulator, one attempt per call so the tests count them.
  const client = secretsManagerClient(
    { endpoint: secrets.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-emulator' }, maxAttempts: 1 },
    options.secretsTimeouts,
  );
  // As the stack creates it (infra/custody.cjs): a secret with no value.
  if (!initial) await client.send(new CreateSecretCommand({ Name: DEMO_SECRET_ID }));
  const lines: string[] = [];
  const logger = createLogger({
    sink: (line) => {
      observe('rotation log line', line);
      lines.push(line);
      options.sink?.(line);
    },
  });
  // The rotation function's retry waits, in ms: recorded instead of slept unless realSleep.
  const waits: number[] = [];
  const handler = makeRotationHandler({
    config: loadConfig({ IDENTITY_URL: identity.url }),
    secretsClient: client,
    logger,
    ...(options.now && { now: options.now }),
    ...(options.realSleep ? {} : { sleep: async (ms: number) => void waits.push(ms) }),
    ...(options.fetch && { fetch: options.fetch(globalThis.fetch) }),
  });
  const invocations: Array<{ step: RotationEvent['Step']; ok: boolean }> = [];
  secrets.registerRotationFunction(ROTATION_FUNCTION_ARN, async (event) => {
    for (let i = 0; i < (options.invocationsPerStep ?? 1); i++) {
      let failed = false;
      try {
        // Lambda's context says when the invocation will be ended, as the timeout below does.
        const timeoutMs = options.invocationTimeoutMs;
        await withTimeout(handler(event, timeoutMs === undefined ? {} : { getRemainingTimeInMillis: () => timeoutMs }), timeoutMs);
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        invocations.push({ step: event.Step, ok: !failed });
        await options.afterInvocation?.(event, failed);
      }
    }
  });
  /** A vending function in a new execution environment (nothing cached), on the same Secrets Manager. */
  const vendingEnvironment = () =>
    makeHandler({
      config: loadConfig({ IDENTITY_URL: identity.url }),
      profiles: loadProfiles(DEMO_PROFILES),
      secretsClient: client,
      logger: createLogger({ sink: (line) => observe('vend log line', line) }),
      ...(options.realSleep ? {} : { sleep: async () => {} }),
    });
  return {
    identity,
    secrets,
    client,
    handler,
    waits,
    vendingEnvironment,
    /** One vend from a new environment: its status. */
    coldVend: async () => (await call(vendingEnvironment())).statusCode,
    /** The rotation function's log lines, parsed. */
    audit: () => lines.map((line) => JSON.parse(line) as { level: string; rotation: Record<string, unknown> }),
    invocations,
    /** What `aws secretsmanager rotate-secret --secret-id …` does; resolves when RotateSecret answers (the steps run after). */
    rotate: () => client.send(new RotateSecretCommand({ SecretId: DEMO_SECRET_ID, RotationLambdaARN: ROTATION_FUNCTION_ARN, RotateImmediately: true })),
    /** The secret's value under a label, parsed. */
    valueAt: (stage: string) => {
      const text = secrets.valueAt(DEMO_SECRET_ID, stage);
      return text === undefined ? undefined : (JSON.parse(text) as Record<string, string>);
    },
    /** Identity's answer to an authentication with this key: 200 or 401. */
    async identityStatus(apiKey: string): Promise<number> {
      const body = { auth: { 'RAX-KSKEY:apiKeyCredentials': { username: DEMO_USER.username, apiKey } } };
      const response = await fetch(`${identity.url}/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
      await response.arrayBuffer();
      return response.status;
    },
    async close() {
      client.destroy();
      await Promise.all([identity.close(), secrets.close()]);
    },
  };
}

export type RotationRig = Awaited<ReturnType<typeof startRotationRig>>;

function withTimeout<T>(work: Promise<T>, ms: number | undefined): Promise<T> {
  if (ms === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Task timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Starts rigs for one test file's tests and closes them after each test. */
export function rotationRigs() {
  const running: RotationRig[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((rig) => rig.close()));
  });
  return async (options?: RotationRigOptions) => {
    const started = await startRotationRig(options);
    running.push(started);
    return started;
  };
}

/** RotateSecret, then wait for the steps; RotateSecret's own refusal (a re-attempt) is returned, not thrown. */
export async function rotateAndSettle(r: RotationRig): Promise<string | null> {
  let refusal: string | null = null;
  await r.rotate().catch((error: Error) => void (refusal = `${error.name}: ${error.message}`));
  await r.secrets.rotationsSettled();
  return refusal;
}

/** The end state every successful rotation must reach, from the demo's key `oldKey`. */
export async function assertRotated(r: RotationRig, oldKey: string) {
  const current = r.valueAt('AWSCURRENT');
  assert.ok(current && current.apiKey !== oldKey, 'AWSCURRENT holds a new key');
  assert.deepEqual({ ...current, apiKey: 'x' }, { username: 'demo', apiKey: 'x', identityUrl: r.identity.url }, 'every other field kept');
  assert.equal(await r.identityStatus(current.apiKey as string), 200, 'Identity accepts the new key');
  assert.equal(await r.identityStatus(oldKey), 401, 'Identity refuses the old key');
  assert.equal(r.valueAt('AWSPREVIOUS')?.apiKey, oldKey);
  const labels = Object.values(r.secrets.stagesOf(DEMO_SECRET_ID)).flat().sort();
  assert.deepEqual(labels, ['AWSCURRENT', 'AWSPREVIOUS'], 'no AWSPENDING and no saved session left behind');
  assert.ok(r.secrets.rotations.at(-1)?.ok, 'the last rotation ran all four steps');
}
