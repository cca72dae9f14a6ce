import type { Credentials } from '../core/credentials.ts';
import type { Timeout } from '../core/deadline.ts';
import { CredentialsRefusedError, DeadlineExceededError, UpstreamMisconfiguredError, UpstreamUnavailableError } from '../core/errors.ts';
import { parseRetryAfter } from '../core/retry-after.ts';
import type { RetryPolicy, RetryVerdict } from '../core/retry.ts';
import type { Config } from '../config.ts';
import type { Token } from '../core/token.ts';
import { faultName, parseAccess, safeJson } from './identity-schema.ts';

export type IdentityFault = 'rate-limited' | 'server-error' | 'network' | 'timeout' | 'malformed';

/** Identity refused the credentials (400, 401 or 403). Only 401 is worth a secret re-read. */
export class IdentityRejectedError extends CredentialsRefusedError {
  constructor(identityStatus: number, fault: string | undefined) {
    super(identityStatus, `Rackspace Identity rejected the custodied credentials (HTTP ${identityStatus}).`, {
      cause: new Error(`Identity answered ${identityStatus}${fault ? ` ${fault}` : ''}`),
    });
  }
}

/** Identity could not give an answer now. `fault` says why; all but `malformed` are worth retrying. */
export class IdentityUnavailableError extends UpstreamUnavailableError {
  readonly fault: IdentityFault;
  constructor(fault: IdentityFault, detail: string, retryAfter: number | undefined, options?: ErrorOptions) {
    super(`Rackspace Identity is unavailable (${detail}); try again shortly.`, retryAfter ?? 5, { ...options, upstream: 'identity', retryAfterGiven: retryAfter !== undefined });
    this.fault = fault;
  }
}

export interface IdentityClientOptions {
  /** Used when a secret names no `identityUrl`. */
  defaultUrl: string;
  now: () => number;
  fetch?: typeof globalThis.fetch;
  /** Per-attempt timer; `AbortSignal.timeout` unless a test drives time. */
  timeout?: Timeout;
}

/**
 * `POST {identityUrl}/tokens` once. Every outcome is either a {@link Token} or one of the
 * classified errors above; nothing else escapes. Redirects are never followed: the body holds the
 * key, and a `Location` could send it anywhere.
 *
 * @example
 * const authenticate = identityClient({ defaultUrl, now: Date.now });
 * const token = await authenticate(credentials, 3000, deadline.signal);
 */
export function identityClient(options: IdentityClientOptions): (credentials: Credentials, timeoutMs: number, deadline?: AbortSignal) => Promise<Token> {
  const fetchFn = options.fetch ?? globalThis.fetch;
  const timeout = options.timeout ?? AbortSignal.timeout;
  return async (credentials, timeoutMs, deadline) => {
    const base = (credentials.identityUrl ?? options.defaultUrl).replace(/\/+$/, '');
    const attempt = timeout(timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await fetchFn(`${base}/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(requestBody(credentials)),
        redirect: 'manual',
        signal: deadline ? AbortSignal.any([attempt, deadline]) : attempt,
      });
      text = await response.text();
    } catch (error) {
      // The request ran out of time, not Identity: answer 503 without counting it against Identity.
      // Also when the attempt's timeout fired with it: an attempt near the deadline is given exactly
      // what is left of it, so both end at the same instant.
      if (deadline?.aborted) throw new DeadlineExceededError('identity', { cause: error });
      // The attempt's signal is the only other timer: a timeout is exactly its having fired.
      const timedOut = attempt.aborted;
      throw new IdentityUnavailableError(timedOut ? 'timeout' : 'network', timedOut ? `no answer within ${timeoutMs} ms` : 'network error', undefined, { cause: error });
    }
    const json = safeJson(text);
    const { status } = response;
    if (status === 200) return accept(json, options.now());
    if (status >= 300 && status < 400) {
      throw new UpstreamMisconfiguredError(`Rackspace Identity redirected the authentication (HTTP ${status}); the configured Identity URL is wrong.`, {
        cause: new Error(`Identity answered ${status} to ${locationHost(response.headers.get('location'), base)}`),
        upstream: 'identity',
      });
    }
    if (status === 400 || status === 401 || status === 403) throw new IdentityRejectedError(status, faultName(json));
    if (status === 404 || status === 405) {
      throw new UpstreamMisconfiguredError(`Rackspace Identity has no token endpoint at the configured URL (HTTP ${status}).`, {
        cause: new Error(`Identity answered ${status}${faultName(json) ? ` ${faultName(json)}` : ''}`),
        upstream: 'identity',
      });
    }
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'), options.now());
    if (status === 413 || status === 429) throw new IdentityUnavailableError('rate-limited', `rate limited, HTTP ${status}`, retryAfter);
    throw new IdentityUnavailableError(status >= 500 ? 'server-error' : 'malformed', `HTTP ${status}`, retryAfter);
  };
}

function accept(json: unknown, now: number): Token {
  const token = parseAccess(json);
  if (!token) throw new IdentityUnavailableError('malformed', 'its answer was not the expected JSON', undefined);
  if (token.expiresAt <= now) throw new IdentityUnavailableError('malformed', 'it returned an already expired token', undefined);
  return token;
}

function requestBody({ username, secret, tenant }: Credentials): { auth: Record<string, unknown> } {
  const credentials =
    secret.kind === 'apiKey'
      ? { 'RAX-KSKEY:apiKeyCredentials': { username, apiKey: secret.apiKey } }
      : { passwordCredentials: { username, password: secret.password } };
  return { auth: { ...credentials, ...tenant } };
}

/** Only the host a redirect points at: a `Location` may carry user info, a path or a query worth hiding. */
function locationHost(location: string | null, base: string): string {
  if (!location) return 'no Location';
  try {
    return `host ${new URL(location, base).host}`;
  } catch {
    return 'an unreadable Location';
  }
}

/** Retry what may pass (rate limits, 5xx, network, timeouts), honouring Retry-After; never a refusal or junk. */
export function identityRetryVerdict(error: unknown): RetryVerdict {
  if (!(error instanceof IdentityUnavailableError) || error.fault === 'malformed') return { retry: false };
  return { retry: true, afterMs: error.retryAfterGiven ? error.retryAfterSeconds * 1000 : undefined };
}

/**
 * The retry policy of one authentication (and of every other Identity call), from the configured
 * attempts, budget and per-call timeout: the vending and the rotation function share it.
 */
export function identityRetryPolicy(
  config: Pick<Config, 'identityAttempts' | 'identityBudgetMs' | 'identityTimeoutMs'>,
  clock: Pick<RetryPolicy, 'now' | 'sleep' | 'random'>,
): RetryPolicy {
  return {
    attempts: config.identityAttempts,
    budgetMs: config.identityBudgetMs,
    attemptTimeoutMs: config.identityTimeoutMs,
    baseMs: 200,
    capMs: 2_000,
    classify: identityRetryVerdict,
    ...clock,
  };
}

export const isUnauthorized = (error: unknown): boolean => error instanceof IdentityRejectedError && error.identityStatus === 401;
