import { UpstreamUnavailableError, type Upstream } from './errors.ts';
import { SingleFlight } from './single-flight.ts';
import { isFresh, type Token } from './token.ts';

export interface Lease {
  token: Token;
  /** True when no Identity call was made for this request. */
  cacheHit: boolean;
  /** True when the token is valid but shorter-lived than the caller's `minTtl`. */
  degraded: boolean;
  /** Milliseconds spent in authentication when this request waited for one. */
  identityMs?: number;
  /** Why the answer is degraded, for the log (never for the caller's body). */
  degradedBecause?: string;
  /** The dependency whose failure made the answer degraded. */
  upstream?: Upstream | null;
}

export interface TokenCacheOptions {
  now: () => number;
  /**
   * After Identity answered, how long a token still short of some caller's `minTtl` is served
   * (degraded) without asking again. Rackspace re-issues the same token until its last hour, so
   * asking again at once would only repeat the same answer: this is what stops a loop.
   */
  quietMs?: number;
}

interface Entry {
  token: Token;
  confirmedAt: number;
}

interface Refreshed {
  token: Token;
  identityMs: number;
}

/**
 * One token per profile for the life of the execution environment. Concurrent misses share one
 * authentication; a failure is never cached; a cached token that is still valid is served
 * (flagged degraded) when Identity is unavailable.
 */
export class TokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #flight = new SingleFlight<Refreshed>();
  readonly #now: () => number;
  readonly #quietMs: number;

  constructor(options: TokenCacheOptions) {
    this.#now = options.now;
    this.#quietMs = options.quietMs ?? 60_000;
  }

  /**
   * A token for `key` valid for `minTtlSeconds`, from the cache or from `authenticate` (called at
   * most once at a time per key; its errors propagate and are never cached).
   */
  async lease(key: string, minTtlSeconds: number, authenticate: () => Promise<Token>): Promise<Lease> {
    const cached = this.#entries.get(key);
    const now = this.#now();
    if (cached && isFresh(cached.token, now, minTtlSeconds)) {
      return { token: cached.token, cacheHit: true, degraded: false };
    }
    if (cached && isFresh(cached.token, now, 1) && now - cached.confirmedAt < this.#quietMs) {
      return { token: cached.token, cacheHit: true, degraded: true, degradedBecause: 'identity re-issued this token moments ago' };
    }
    let refreshed: Refreshed;
    try {
      refreshed = await this.#flight.run(key, () => this.#refresh(key, authenticate));
    } catch (error) {
      const stillValid = cached && isFresh(cached.token, this.#now(), 1);
      if (stillValid && error instanceof UpstreamUnavailableError) {
        return { token: cached.token, cacheHit: true, degraded: true, degradedBecause: error.message, upstream: error.upstream };
      }
      throw error;
    }
    const { token, identityMs } = refreshed;
    if (isFresh(token, this.#now(), minTtlSeconds)) return { token, cacheHit: false, degraded: false, identityMs };
    return { token, cacheHit: false, degraded: true, identityMs, degradedBecause: 'identity issued a token shorter-lived than minTtl' };
  }

  async #refresh(key: string, authenticate: () => Promise<Token>): Promise<Refreshed> {
    const started = performance.now();
    const token = await authenticate();
    this.#entries.set(key, { token, confirmedAt: this.#now() });
    return { token, identityMs: Math.round(performance.now() - started) };
  }
}
