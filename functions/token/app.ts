import middy from '@middy/core';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import { dynamoStore } from '../adapters/dynamodb-store.ts';
import { kmsDataKeys } from '../adapters/kms-data-keys.ts';
import { dynamoClient, kmsClient } from '../adapters/shared-clients.ts';
import { Envelope } from '../core/envelope.ts';
import { Fleet } from '../core/fleet.ts';
import { aloneTier, type SharedTier } from '../core/shared-tier.ts';
import { identityRevoker } from '../adapters/identity-revoke.ts';
import { isOperatorEvent, operatorFlush } from './operator.ts';
import { identityClient, IdentityUnavailableError, identityRetryPolicy, isUnauthorized } from '../adapters/identity.ts';
import { pendingReader, secretsManagerReader } from '../adapters/secrets.ts';
import { identityKeys } from '../adapters/identity-keys.ts';
import { secretHealWriter } from '../adapters/secret-heal.ts';
import { heal } from '../core/heal.ts';
import { parseCredentials } from '../core/credentials.ts';
import { authorize } from '../core/authorize.ts';
import type { Credentials } from '../core/credentials.ts';
import type { RedactingLogger } from '../core/logger.ts';
import { jsonTextResponse, type HttpResponse } from '../core/problem.ts';
import type { Profile } from '../core/profiles.ts';
import { retrying } from '../core/retry.ts';
import { guardRoles, RecentRefusals } from '../core/role-guard.ts';
import { SecretCache } from '../core/secret-cache.ts';
import { createDeadline, type Timeout } from '../core/deadline.ts';
import { DeadlineExceededError, UpstreamUnavailableError } from '../core/errors.ts';
import { randomUUID } from 'node:crypto';
import { markSensitive } from '../core/sensitive.ts';
import { secondsLeft } from '../core/token.ts';
import { createVendor, type SharedTrace } from '../core/vend.ts';
import type { Trace } from '../core/token-cache.ts';
import type { Config } from '../config.ts';
import { answerText } from './answer.ts';
import { endpointFor } from './endpoint-cache.ts';
import { fingerprint, type AuditFacts } from './audit.ts';
import { parseEvent, parseQuery } from './request.ts';
import { metricFields } from './metrics.ts';
import { reportSkipped } from './skipped-log.ts';
import { vendResponses, type VendContext } from './responses.ts';

export interface AppDeps {
  config: Config;
  profiles: ReadonlyMap<string, Profile>;
  secretsClient: SecretsManagerClient;
  logger: RedactingLogger;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  fetch?: typeof globalThis.fetch;
  /** Timers for per-call timeouts and the request's deadline; a test's fake clock drives them. */
  timeout?: Timeout;
  /** The shared tier's clients (config.fleet set): dynalite and the KMS stand-in locally, the real services otherwise. */
  dynamoClient?: DynamoDBClient;
  kmsClient?: KMSClient;
  /** This execution environment's name in the fleet's leases (random by default). */
  instanceId?: string;
}

/** Kept back from the Lambda's remaining time for the answer and its audit line. */
export const DEADLINE_MARGIN_MS = 500;
/** middy's last-resort timeout fires this long before the Lambda's, well after our own deadline. */
const BACKSTOP_MS = 100;

/**
 * Builds the handler from its dependencies: the real ones at module scope in handler.ts, local
 * emulators and a fake clock in tests, the same code either way.
 *
 * @example
 * const handler = makeHandler({ config, profiles, secretsClient: new SecretsManagerClient({}), logger });
 */
export function makeHandler(deps: AppDeps) {
  const { config, profiles, logger } = deps;
  const now = deps.now ?? Date.now;
  // Stryker disable next-line ArrowFunction: the production wait; tests pass a fake clock's, and a real one is visible only as elapsed time.
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const readSecret = secretsManagerReader(deps.secretsClient);
  const secrets = new SecretCache<Credentials>({
    now,
    ttlMs: config.secretTtlSeconds * 1000,
    read: async (secretId, signal) => {
      const credentials = await readSecret(secretId, signal);
      markSensitive(`key of secret ${secretId}`, secretValue(credentials));
      return credentials;
    },
  });
  const timeout = deps.timeout ?? ((ms: number) => AbortSignal.timeout(ms));
  const authenticateOnce = identityClient({ defaultUrl: config.identityUrl, now, timeout, ...(deps.fetch && { fetch: deps.fetch }) });
  const policy = identityRetryPolicy(config, { now, sleep, random: deps.random ?? Math.random });
  const readPending = pendingReader(deps.secretsClient);
  const shared = sharedTier(deps, now, sleep);
  const overprivileged = new RecentRefusals(now);
  const keys = identityKeys({ now, timeout, ...(deps.fetch && { fetch: deps.fetch }) });
  const writer = secretHealWriter(deps.secretsClient);
  const vendor = createVendor({
    now,
    secrets,
    shared,
    defaultIdentityUrl: config.identityUrl,
    isUnauthorized,
    // A key reset from outside, read back with a token of the same user (core/heal.ts).
    heal: (input) =>
      heal(input, {
        now,
        defaultIdentityUrl: config.identityUrl,
        readKey: async (session) => {
          const read = await keys.read(session, config.identityTimeoutMs);
          markSensitive(`key of secret ${input.secretId}`, read.apiKey);
          return read;
        },
        parse: parseCredentials,
        ...writer,
      }),
    pending: async (secretId, signal) => {
      const credentials = await readPending(secretId, signal);
      if (credentials) markSensitive(`pending key of secret ${secretId}`, secretValue(credentials));
      return credentials;
    },
    authenticate: async (credentials, { attempts, deadline, onCall, profile }) => {
      overprivileged.check(credentials);
      // The retry cycle gets what is left of the request's time, if that is less than its own budget.
      const budgetMs = Math.min(config.identityBudgetMs, deadline.left());
      // Stryker disable next-line StringLiteral: only stops the call; the caller's own deadline wait has already rejected, naming Identity.
      if (budgetMs <= 0) throw new DeadlineExceededError('identity');
      const cycle = { ...policy, budgetMs, attempts: attempts === 1 ? 1 : config.identityAttempts };
      const token = await retrying(async (timeoutMs) => {
        onCall();
        // An attempt given all that is left of the request's time ends with the request: its timeout
        // is the request running out, not Identity failing, so no backoff may be learnt from it
        // (its timer can fire a moment before the deadline's, which the client alone cannot tell).
        const endsWithRequest = timeoutMs >= deadline.left();
        try {
          return await authenticateOnce(credentials, timeoutMs, deadline.signal);
        } catch (error) {
          if (endsWithRequest && error instanceof IdentityUnavailableError && error.fault === 'timeout') throw new DeadlineExceededError('identity', { cause: error });
          throw error;
        }
      }, cycle);
      markSensitive(`token of profile ${profile}`, token.id);
      reportSkipped(logger, token, profile);
      // Once per token, here, before the cache keeps it or the fleet's table shares it: a warm vend
      // checks nothing. An undeclared name cannot reach here; if it did, the default guard applies.
      try {
        guardRoles(profiles.get(profile) ?? { name: profile }, token);
      } catch (error) {
        overprivileged.remember(credentials, error);
        throw error;
      }
      return token;
    },
  });
  // Without a Lambda context (tests, `npm start`) a request gets what the deployed function would: budget + 2 s.
  const lambdaTimeoutMs = config.identityBudgetMs + 2_000;

  const vend = async (event: unknown, context: VendContext): Promise<HttpResponse> => {
    const facts = context.audit;
    const request = parseEvent(event);
    Object.assign(facts, { requestId: request.requestId, caller: request.callerArn, profile: request.profile });
    const profile = authorize(profiles, request.profile, request.callerArn);
    const { minTtl, endpoint } = parseQuery(request.query);
    if (endpoint) Object.assign(facts, { service: endpoint.service, region: endpoint.region ?? null, interface: endpoint.interface });
    // One deadline for everything this request waits on, taken from the Lambda's remaining time.
    const remaining = context.getRemainingTimeInMillis?.() ?? lambdaTimeoutMs;
    const deadline = createDeadline(now, timeout, remaining - DEADLINE_MARGIN_MS);
    const trace: Trace & SharedTrace = { identityCalls: 0, identityMs: 0 };
    let lease;
    try {
      lease = await vendor.lease(profile, minTtl, deadline, trace);
    } finally {
      facts.identityCalls = trace.identityCalls;
      facts.identityMs = trace.identityCalls > 0 || trace.identityMs > 0 ? trace.identityMs : null;
      facts.shared = trace.shared ?? null;
      facts.sharedFallback = trace.sharedFallback ?? null;
      facts.heal = trace.heal ?? null;
      facts.healDetail = trace.healDetail ?? null;
    }
    Object.assign(facts, {
      cacheHit: lease.cacheHit,
      degraded: lease.degraded,
      tokenSha256: fingerprint(lease.token),
      secondsLeft: secondsLeft(lease.token, now()),
      reason: lease.degradedBecause ?? null,
      upstream: lease.upstream ?? null,
    });
    const resolved = endpoint ? endpointFor(lease.token, endpoint) : null;
    if (resolved) facts.resolvedRegion = resolved.region;
    const headers = lease.degraded ? { 'x-token-degraded': 'true' } : undefined;
    return jsonTextResponse(200, answerText(lease, resolved, now()), headers);
  };

  // The request's deadline bounds every wait; middy's early timeout stays as the last backstop, for
  // a wait we failed to bound: a 503 problem with its audit line instead of API Gateway's bare 5xx.
  const metrics = (facts: AuditFacts, status: number) => metricFields(facts, status, config.stage, facts.profile !== null && profiles.has(facts.profile), now());
  // The operator's flush arrives as a direct invoke (docs/operations.md "Flush a profile's token"), never through API Gateway.
  const flush = operatorFlush({
    profiles,
    shared,
    held: (name) => vendor.tokens.state(name)?.token ?? null,
    forget: vendor.forget,
    secrets,
    defaultIdentityUrl: config.identityUrl,
    revoke: identityRevoker({ timeoutMs: config.identityTimeoutMs, ...(deps.fetch && { fetch: deps.fetch }) }),
    logger,
  });
  const vending = middy<unknown, HttpResponse, Error, VendContext>(vend, {
    timeoutEarlyInMillis: BACKSTOP_MS,
    timeoutEarlyResponse: () => {
      throw new DeadlineExceededError(null);
    },
  }).use(vendResponses(logger, metrics));
  const flushed = async (event: unknown, context: VendContext): Promise<HttpResponse> => {
    const result = await flush(event, context);
    return jsonTextResponse(result.status, JSON.stringify(result));
  };
  // No async frame of its own: a vend returns middy's promise as it is.
  return (event: unknown, context: VendContext): Promise<HttpResponse> => (isOperatorEvent(event) ? flushed(event, context) : vending(event, context));
}

/** The API key or password a secret holds: what the log must never show. */
const secretValue = ({ secret }: Credentials) => (secret.kind === 'apiKey' ? secret.apiKey : secret.password);

/**
 * The tier under the memory cache: the fleet's table when configured (FLEET_TABLE), else every
 * instance alone. The lease lasts the Identity budget plus 2 s (the secret read): a holder that
 * dies frees it by itself.
 */
function sharedTier(deps: AppDeps, now: () => number, sleep: (ms: number) => Promise<void>): SharedTier {
  const fleet = deps.config.fleet;
  if (!fleet) return aloneTier;
  const envelope = new Envelope({ keys: kmsDataKeys(deps.kmsClient ?? kmsClient(), fleet.keyId), now });
  return new Fleet({
    store: dynamoStore({ client: deps.dynamoClient ?? dynamoClient(), table: fleet.table, stage: fleet.stage, envelope }),
    owner: deps.instanceId ?? randomUUID(),
    now,
    sleep,
    random: deps.random ?? Math.random,
    leaseMs: deps.config.identityBudgetMs + 2_000,
    ...(deps.timeout && { timeout: deps.timeout }),
    backoffFor: (error) =>
      error instanceof UpstreamUnavailableError && error.upstream === 'identity' && !(error instanceof DeadlineExceededError)
        ? { reason: error.retryAfterGiven ? 'rate-limited' : 'unavailable', ms: error.retryAfterGiven ? error.retryAfterSeconds * 1000 : 5_000 }
        : null,
  });
}
