import { DeadlineExceededError, type Upstream } from './errors.ts';

/** A signal that aborts after `ms`: `AbortSignal.timeout` in production, a fake clock's timer in tests. */
export type Timeout = (ms: number) => AbortSignal;

/**
 * One request's deadline. Every wait of the request (Secrets Manager, Identity, retries, a second
 * authentication after a 401) draws from it, so the request answers, with its audit line, before
 * the Lambda timeout.
 */
export interface Deadline {
  /** Milliseconds left on the injected clock (negative once passed). */
  left(): number;
  /** Aborts when the deadline passes; created on first use, so a warm vend that waits for nothing pays nothing. */
  readonly signal: AbortSignal;
}

/**
 * A class, not an object literal with a getter: one shape for every request keeps the warm path's
 * garbage plain (a literal with an accessor per request made V8 grow its heap by 18 MB per 30k vends).
 */
class RequestDeadline implements Deadline {
  readonly #at: number;
  readonly #now: () => number;
  readonly #timeout: Timeout;
  #signal: AbortSignal | undefined;

  constructor(now: () => number, timeout: Timeout, ms: number) {
    this.#now = now;
    this.#timeout = timeout;
    this.#at = now() + ms;
  }

  left(): number {
    return this.#at - this.#now();
  }

  get signal(): AbortSignal {
    this.#signal ??= this.#timeout(Math.max(0, this.#at - this.#now()));
    return this.#signal;
  }
}

/**
 * @example
 * const deadline = createDeadline(Date.now, AbortSignal.timeout, context.getRemainingTimeInMillis() - 500);
 */
export function createDeadline(now: () => number, timeout: Timeout, ms: number): Deadline {
  return new RequestDeadline(now, timeout, ms);
}

/**
 * `work`, or a {@link DeadlineExceededError} naming `upstream` as soon as the deadline passes,
 * whichever comes first. What `work` was waiting on is cancelled by the same signal where it
 * takes one (fetch, the SDK); this is what also frees a caller that only shares someone else's wait.
 */
export function within<T>(deadline: Deadline, upstream: Upstream, work: Promise<T>): Promise<T> {
  if (deadline.left() <= 0) {
    work.catch(() => {});
    return Promise.reject(new DeadlineExceededError(upstream));
  }
  const { signal } = deadline;
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(new DeadlineExceededError(upstream));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new DeadlineExceededError(upstream));
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: once or not, a settled promise ignores a second reject.
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        // Stryker disable next-line StringLiteral,CallExpression: removing the listener only frees it early; it goes with the request's signal, and a settled promise ignores a late reject.
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        // Stryker disable next-line StringLiteral,CallExpression: as above.
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
