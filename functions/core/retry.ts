export type RetryVerdict = { retry: false } | { retry: true; afterMs?: number | undefined };

export interface RetryPolicy {
  /** Most attempts, the first included. */
  attempts: number;
  /** Wall time all attempts and waits may take together. */
  budgetMs: number;
  /** Longest a single attempt may take; the last attempts get less when the budget runs short. */
  attemptTimeoutMs: number;
  /** First backoff step; doubles per retry up to `capMs`, then "full jitter" picks in [0, step). */
  baseMs: number;
  capMs: number;
  classify: (error: unknown) => RetryVerdict;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

/**
 * Runs `attempt` until it succeeds, the error is not worth retrying, attempts run out, or the
 * budget would be overrun. A server-given wait (`afterMs`, from Retry-After) replaces the backoff;
 * if it does not fit in what is left of the budget we stop at once rather than sleep in vain.
 * The last error is rethrown unchanged, so its classification reaches the caller.
 *
 * @example
 * const token = await retrying((timeoutMs) => authenticate(credentials, timeoutMs), policy);
 */
export async function retrying<T>(attempt: (timeoutMs: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  const started = policy.now();
  for (let n = 1; ; n++) {
    const left = policy.budgetMs - (policy.now() - started);
    try {
      return await attempt(Math.max(1, Math.min(policy.attemptTimeoutMs, left)));
    } catch (error) {
      const verdict = policy.classify(error);
      if (!verdict.retry || n >= policy.attempts) throw error;
      const step = Math.min(policy.capMs, policy.baseMs * 2 ** (n - 1));
      const waitMs = verdict.afterMs ?? Math.floor(policy.random() * step);
      // Leave room for the next attempt to get an answer at all: a few hundred ms at least.
      const remaining = policy.budgetMs - (policy.now() - started) - waitMs;
      if (remaining < Math.min(250, policy.attemptTimeoutMs)) throw error;
      await policy.sleep(waitMs);
    }
  }
}
