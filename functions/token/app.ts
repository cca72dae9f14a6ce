import middy from '@middy/core';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { identityClient, identityRetryVerdict, isUnauthorized } from '../adapters/identity.ts';
import { secretsManagerReader } from '../adapters/secrets.ts';
import { authorize } from '../core/authorize.ts';
import type { Credentials } from '../core/credentials.ts';
import type { RedactingLogger } from '../core/logger.ts';
import { jsonTextResponse, type HttpResponse } from '../core/problem.ts';
import type { Profile } from '../core/profiles.ts';
import { retrying } from '../core/retry.ts';
import { SecretCache } from '../core/secret-cache.ts';
import { markSensitive } from '../core/sensitive.ts';
import { createVendor } from '../core/vend.ts';
import type { Config } from '../config.ts';
import { answerText } from './answer.ts';
import { endpointFor } from './endpoint-cache.ts';
import { fingerprint } from './audit.ts';
import { parseEvent, parseQuery } from './request.ts';
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
}

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
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const readSecret = secretsManagerReader(deps.secretsClient);
  const secrets = new SecretCache<Credentials>({
    now,
    ttlMs: config.secretTtlSeconds * 1000,
    read: async (secretId) => {
      const credentials = await readSecret(secretId);
      markSensitive(`key of secret ${secretId}`, credentials.secret.kind === 'apiKey' ? credentials.secret.apiKey : credentials.secret.password);
      return credentials;
    },
  });
  const authenticateOnce = identityClient({ defaultUrl: config.identityUrl, now, ...(deps.fetch && { fetch: deps.fetch }) });
  const policy = {
    attempts: config.identityAttempts,
    budgetMs: config.identityBudgetMs,
    attemptTimeoutMs: config.identityTimeoutMs,
    baseMs: 200,
    capMs: 2_000,
    classify: identityRetryVerdict,
    now,
    sleep,
    random: deps.random ?? Math.random,
  };
  const vendor = createVendor({
    now,
    secrets,
    isUnauthorized,
    authenticate: async (credentials, profile) => {
      const token = await retrying((timeoutMs) => authenticateOnce(credentials, timeoutMs), policy);
      markSensitive(`token of profile ${profile}`, token.id);
      return token;
    },
  });

  const vend = async (event: unknown, context: VendContext): Promise<HttpResponse> => {
    const facts = context.audit;
    const request = parseEvent(event);
    Object.assign(facts, { requestId: request.requestId, caller: request.callerArn, profile: request.profile });
    const profile = authorize(profiles, request.profile, request.callerArn);
    const { minTtl, endpoint } = parseQuery(request.query);
    if (endpoint) Object.assign(facts, { service: endpoint.service, region: endpoint.region ?? null, interface: endpoint.interface });
    const lease = await vendor.lease(profile, minTtl);
    Object.assign(facts, {
      cacheHit: lease.cacheHit,
      identityMs: lease.identityMs ?? null,
      degraded: lease.degraded,
      tokenSha256: fingerprint(lease.token),
      reason: lease.degradedBecause ?? null,
      upstream: lease.upstream ?? null,
    });
    const resolved = endpoint ? endpointFor(lease.token, endpoint) : null;
    const headers = lease.degraded ? { 'x-token-degraded': 'true' } : undefined;
    return jsonTextResponse(200, answerText(lease, resolved, now()), headers);
  };

  // Our own budgets bound every wait, so middy's early-timeout race is not needed.
  return middy<unknown, HttpResponse, Error, VendContext>(vend, { timeoutEarlyInMillis: 0 }).use(vendResponses(logger));
}
