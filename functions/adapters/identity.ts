import type { Credentials } from '../core/credentials.ts';
import { CredentialsUnusableError, UpstreamUnavailableError } from '../core/errors.ts';
import { parseRetryAfter } from '../core/retry-after.ts';
import type { RetryVerdict } from '../core/retry.ts';
import type { Token } from '../core/token.ts';
import { faultName, parseAccess } from './identity-schema.ts';

export type IdentityFault = 'rate-limited' | 'server-error' | 'network' | 'timeout' | 'malformed';

/** Identity refused the credentials (400, 401 or 403). Only 401 is worth a secret re-read. */
export class IdentityRejectedError extends CredentialsUnusableError {
  readonly identityStatus: number;
  constructor(identityStatus: number, fault: string | undefined) {
    super(`Rackspace Identity rejected the custodied credentials (HTTP ${identityStatus}).`, {
      cause: new Error(`Identity answered ${identityStatus}${fault ? ` ${fault}` : ''}`),
      upstream: 'identity',
    });
    this.identityStatus = identityStatus;
  }
}

/** Identity could not give an answer now. `fault` says why; all but `malformed` are worth retrying. */
export class IdentityUnavailableError extends UpstreamUnavailableError {
  readonly fault: IdentityFault;
  /** Whether Identity itself said when to come back (Retry-After), rather than our default. */
  readonly retryAfterGiven: boolean;
  constructor(fault: IdentityFault, detail: string, retryAfter: number | undefined, options?: ErrorOptions) {
    super(`Rackspace Identity is unavailable (${detail}); try again shortly.`, retryAfter ?? 5, { ...options, upstream: 'identity' });
    this.fault = fault;
    this.retryAfterGiven = retryAfter !== undefined;
  }
}

export interface IdentityClientOptions {
  /** Used when a secret names no `identityUrl`. */
  defaultUrl: string;
  now: () => number;
  fetch?: typeof globalThis.fetch;
}

/**
 * `POST {identityUrl}/tokens` once. Every outcome is either a {@link Token} or one of the two
 * classified errors above; nothing else escapes.
 *
 * @example
 * const authenticate = identityClient({ defaultUrl, now: Date.now });
 * const token = await authenticate(credentials, 3000);
 */
export function identityClient(options: IdentityClientOptions): (credentials: Credentials, timeoutMs: number) => Promise<Token> {
  const fetchFn = options.fetch ?? globalThis.fetch;
  return async (credentials, timeoutMs) => {
    const base = (credentials.identityUrl ?? options.defaultUrl).replace(/\/+$/, '');
    let response: Response;
    let text: string;
    try {
      response = await fetchFn(`${base}/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(requestBody(credentials)),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      throw new IdentityUnavailableError(timedOut ? 'timeout' : 'network', timedOut ? `no answer within ${timeoutMs} ms` : 'network error', undefined, {
        cause: error,
      });
    }
    const json = safeJson(text);
    const { status } = response;
    if (status === 200) return accept(json, options.now());
    if (status === 400 || status === 401 || status === 403) throw new IdentityRejectedError(status, faultName(json));
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

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Retry what may pass (rate limits, 5xx, network, timeouts), honouring Retry-After; never a refusal or junk. */
export function identityRetryVerdict(error: unknown): RetryVerdict {
  if (!(error instanceof IdentityUnavailableError) || error.fault === 'malformed') return { retry: false };
  return { retry: true, afterMs: error.retryAfterGiven ? error.retryAfterSeconds * 1000 : undefined };
}

export const isUnauthorized = (error: unknown): boolean => error instanceof IdentityRejectedError && error.identityStatus === 401;
