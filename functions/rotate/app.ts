import { describeIssue } from '../core/issues.ts';
import * as z from 'zod/mini';
import { identityKeys } from '../adapters/identity-keys.ts';
import { identityClient, identityRetryPolicy, isUnauthorized } from '../adapters/identity.ts';
import { identityRevoker } from '../adapters/identity-revoke.ts';
import { secretVersionStore } from '../adapters/secret-versions.ts';
import { secretsRetryVerdict } from '../adapters/secrets.ts';
import { retrying, type RetryPolicy } from '../core/retry.ts';
import type { AppDeps } from '../token/app.ts';
import { runStep, type StepDeps } from './steps.ts';

/** The vending function's dependencies that rotation needs too, wired the same way. */
export type RotationDeps = Pick<AppDeps, 'config' | 'secretsClient' | 'logger' | 'now' | 'sleep' | 'random' | 'fetch'>;

/** The rotation function's timeout (serverless.yml `functions.rotate.timeout`), when Lambda's context does not say. */
export const ROTATION_TIMEOUT_MS = 60_000;

/** The part of Lambda's context the rotation reads: when this invocation will be ended. */
export interface LambdaContext {
  getRemainingTimeInMillis?: () => number;
}

// What Secrets Manager sends (Lambda invoke payload). Loose: the service may add fields (RotationToken).
const RotationEvent = z.object({
  Step: z.enum(['createSecret', 'setSecret', 'testSecret', 'finishSecret']),
  SecretId: z.string().check(z.minLength(1), z.maxLength(2048)),
  ClientRequestToken: z.string().check(z.minLength(32), z.maxLength(64)),
});

/**
 * The rotation function: Secrets Manager invokes it once per step (README, "Rotating keys"). Wiring
 * only: the steps are in steps.ts, on the same credentials schema, Identity client, retry policy and
 * redacting logger as the vending function. One audit line per invocation, success or failure; a
 * failure is rethrown so Secrets Manager sees the step fail and the rotation stays pending.
 *
 * @example
 * const handler = makeRotationHandler({ config, secretsClient: new SecretsManagerClient({}), logger });
 * await handler({ Step: 'createSecret', SecretId: arn, ClientRequestToken: token });
 */
export function makeRotationHandler(deps: RotationDeps): (event: unknown, context?: LambdaContext) => Promise<void> {
  const { config, logger } = deps;
  const now = deps.now ?? Date.now;
  // Stryker disable next-line ArrowFunction: the production wait; tests pass their own sleep, and a real one is visible only as elapsed time.
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = deps.random ?? Math.random;
  const fetchOption = deps.fetch ? { fetch: deps.fetch } : {};
  const identityPolicy = identityRetryPolicy(config, { now, sleep, random });
  // Puts after a reset must land: more patience than a vend, short first steps (the window they leave is the callers').
  const writePolicy: RetryPolicy = { attempts: 5, budgetMs: 10_000, attemptTimeoutMs: 5_000, baseMs: 50, capMs: 1_000, classify: secretsRetryVerdict, now, sleep, random };
  const authenticateOnce = identityClient({ defaultUrl: config.identityUrl, now, ...fetchOption });
  const keys = identityKeys({ now, ...fetchOption });
  const stepDeps: Omit<StepDeps, 'invocationEnds'> = {
    store: secretVersionStore(deps.secretsClient),
    authenticate: (credentials) => retrying((timeoutMs) => authenticateOnce(credentials, timeoutMs), identityPolicy),
    isUnauthorized,
    keys: {
      reset: (session) => retrying((timeoutMs) => keys.reset(session, timeoutMs), identityPolicy),
      current: (session) => retrying((timeoutMs) => keys.current(session, timeoutMs), identityPolicy),
    },
    revoke: identityRevoker({ timeoutMs: config.identityTimeoutMs, ...fetchOption }),
    retryingWrite: (write) => retrying(() => write(), writePolicy),
    defaultIdentityUrl: config.identityUrl,
    now,
  };

  return async (event, context) => {
    const parsed = RotationEvent.safeParse(event);
    if (!parsed.success) {
      const what = parsed.error.issues.map((i) => describeIssue(i, '(event)')).join('; ');
      logger.error('rotation', { rotation: { step: null, outcome: 'failed', reason: `not a Secrets Manager rotation event: ${what}` } });
      throw new Error(`Not a Secrets Manager rotation event: ${what}`);
    }
    const { Step: step, SecretId: secretId, ClientRequestToken: version } = parsed.data;
    const started = now();
    try {
      // Lambda ends the invocation then; without a context (tests, a direct call) its configured timeout is assumed.
      const invocationEnds = started + (context?.getRemainingTimeInMillis?.() ?? ROTATION_TIMEOUT_MS);
      const result = await runStep(step, secretId, version, { ...stepDeps, invocationEnds });
      const line = { rotation: { step, secretId, version, ...result, ms: now() - started } };
      if (result.warning) logger.warn('rotation', line);
      else logger.info('rotation', line);
    } catch (error) {
      logger.error('rotation', { rotation: { step, secretId, version, outcome: 'failed', reason: reasonOf(error), ms: now() - started } });
      throw error;
    }
  };
}

/** The error's name and message, and its cause's: ours and the SDK's never hold a secret value. */
function reasonOf(error: unknown): string {
  // Stryker disable next-line StringLiteral,ConditionalExpression: never reached; every dependency (SDK, Identity adapters, our own code) throws Error instances.
  if (!(error instanceof Error)) return 'unknown error';
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.name}: ${error.message}${cause}`;
}
