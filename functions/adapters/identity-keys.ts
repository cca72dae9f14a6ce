import * as z from 'zod/mini';
import type { Timeout } from '../core/deadline.ts';
import { parseRetryAfter } from '../core/retry-after.ts';
import { faultName, safeJson } from './identity-schema.ts';
import { IdentityRejectedError, IdentityUnavailableError } from './identity.ts';

/** A user's own token, enough to manage that user's API key. */
export interface KeySession {
  /** Identity v2.0 base URL, e.g. `https://identity.api.rackspacecloud.com/v2.0`. */
  identityUrl: string;
  userId: string;
  tokenId: string;
}

const KeyAnswer = z.object({
  'RAX-KSKEY:apiKeyCredentials': z.object({ apiKey: z.string().check(z.trim(), z.minLength(1), z.maxLength(1024)), username: z.optional(z.string()) }),
});

export interface IdentityKeys {
  /** `POST …/RAX-KSKEY:apiKeyCredentials/RAX-AUTH/reset`: a new key; the old one is refused from now on. */
  reset(session: KeySession, timeoutMs: number): Promise<string>;
  /** `GET …/RAX-KSKEY:apiKeyCredentials`: the user's key as it is now. */
  current(session: KeySession, timeoutMs: number): Promise<string>;
  /** The same call, with the username Identity's answer names (`null` when it names none). */
  read(session: KeySession, timeoutMs: number): Promise<{ apiKey: string; username: string | null }>;
}

/**
 * The two API-key calls of Rackspace Identity v2.0 a rotation needs, with the user's own token.
 * Errors are the Identity client's: a refusal (400/401/403/404) is {@link IdentityRejectedError},
 * anything worth retrying is {@link IdentityUnavailableError}. Redirects are never followed: the
 * request carries a token, and Identity has no reason to send it anywhere else.
 *
 * @example
 * const keys = identityKeys({ now: Date.now });
 * const newKey = await keys.reset({ identityUrl, userId, tokenId }, 3000);
 */
export function identityKeys(options: { now: () => number; fetch?: typeof globalThis.fetch; timeout?: Timeout }): IdentityKeys {
  const fetchFn = options.fetch ?? globalThis.fetch;
  // `AbortSignal.timeout` unless a test drives time.
  const timeout = options.timeout ?? AbortSignal.timeout;
  const call = async (session: KeySession, reset: boolean, timeoutMs: number): Promise<{ apiKey: string; username: string | null }> => {
    const base = session.identityUrl.replace(/\/+$/, '');
    const url = `${base}/users/${encodeURIComponent(session.userId)}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials${reset ? '/RAX-AUTH/reset' : ''}`;
    const signal = timeout(timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await fetchFn(url, {
        method: reset ? 'POST' : 'GET',
        headers: { accept: 'application/json', 'x-auth-token': session.tokenId },
        redirect: 'manual',
        signal,
      });
      text = await response.text();
    } catch (error) {
      // The call's own timer is the only one: a timeout is exactly its having fired.
      const timedOut = signal.aborted;
      throw new IdentityUnavailableError(timedOut ? 'timeout' : 'network', timedOut ? `no answer within ${timeoutMs} ms` : 'network error', undefined, { cause: error });
    }
    const json = safeJson(text);
    const { status } = response;
    if (status === 200) {
      const parsed = KeyAnswer.safeParse(json);
      if (!parsed.success) throw new IdentityUnavailableError('malformed', 'its key answer was not the expected JSON', undefined);
      const { apiKey, username } = parsed.data['RAX-KSKEY:apiKeyCredentials'];
      return { apiKey, username: username ?? null };
    }
    if ([400, 401, 403, 404].includes(status)) throw new IdentityRejectedError(status, faultName(json));
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'), options.now());
    if (status === 413 || status === 429) throw new IdentityUnavailableError('rate-limited', `rate limited, HTTP ${status}`, retryAfter);
    // A redirect or any other status: not an answer we can use, and not one to repeat.
    throw new IdentityUnavailableError(status >= 500 ? 'server-error' : 'malformed', `HTTP ${status}`, retryAfter);
  };
  return {
    reset: async (session, timeoutMs) => (await call(session, true, timeoutMs)).apiKey,
    current: async (session, timeoutMs) => (await call(session, false, timeoutMs)).apiKey,
    read: (session, timeoutMs) => call(session, false, timeoutMs),
  };
}
