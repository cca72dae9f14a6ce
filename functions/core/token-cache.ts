import { CredentialsRefusedError, DeadlineExceededError, UpstreamUnavailableError, type Upstream } from './errors.ts';
import { decide, failed, forIdentity, FLOOR_SECONDS, MemoryProfileStore, refused, succeeded, type ProfileState, type ProfileStore } from './profile-state.ts';
import { SingleFlight } from './single-flight.ts';
import { isFresh, type Token } from './token.ts';

export interface Lease {
  token: Token;
  /** True when this request neither called Identity nor waited for someone else's call. */
  cacheHit: boolean;
  /** True when the token is valid but shorter-lived than the caller's `minTtl`. */
  degraded: boolean;
  /** Why the answer is degraded, for the log (never for the caller's body). */
  degradedBecause?: string;
  /** The dependency whose failure made the answer degraded. */
  upstream?: Upstream | null;
}

/** What one request spent on Identity, for its audit line. Joining another request's call costs time, not calls. */
export interface Trace {
  identityCalls: number;
  identityMs: number;
}

/** The credentials a request holds, and how to authenticate with them. */
export interface LeaseSource {
  /** Key of the identity the secret names (username, tenant, Identity URL). */
  identity: string;
  /** Tag of the credentials (a keyed hash, never the key itself). */
  credentials: string;
  /**
   * One authentication; `probe`: a single attempt (after a backoff), not a retry cycle. Resolves
   * with the identity actually used, which a rotation found on the way may have changed. A
   * {@link CredentialsRefusedError} whose `credentials` is set is remembered.
   */
  authenticate(probe: boolean, trace: Trace): Promise<{ token: Token; identity: string }>;
  /** Bounds this request's wait for an authentication, its own or one it joined. */
  wait<T>(work: Promise<T>): Promise<T>;
}

export interface TokenCacheOptions {
  now: () => number;
  /**
   * After Identity answered, how long a token still short of some caller's `minTtl` is served
   * (degraded) without asking again. Rackspace re-issues the same token until its last hour, so
   * asking again at once would only repeat the same answer: this is what stops a loop. Absent or
   * `undefined`: 60 s (so a caller can pass its own optional setting straight on).
   */
  quietMs?: number | undefined;
  store?: ProfileStore;
}

type Outcome = { ok: true; token: Token; previous: Token | null } | { ok: false; error: unknown };

/**
 * One token per profile for the life of the execution environment, kept in a {@link ProfileState}.
 * Concurrent misses share one authentication; after a failure the profile backs off (degraded
 * answers from the cache or 503, no Identity call), then probes once; a refused key is not re-sent.
 */
export class TokenCache {
  readonly #flight = new SingleFlight<Outcome>();
  readonly #now: () => number;
  readonly #quietMs: number;
  readonly #store: ProfileStore;

  constructor(options: TokenCacheOptions) {
    this.#now = options.now;
    this.#quietMs = options.quietMs ?? 60_000;
    this.#store = options.store ?? new MemoryProfileStore();
  }

  /** The state held for `key` (for operators and tests; a copy would be needed to change it). */
  state(key: string): ProfileState | undefined {
    return this.#store.get(key);
  }

  /** A token for `key` valid for `minTtlSeconds`, from the cache or from `source.authenticate`. */
  async lease(key: string, minTtlSeconds: number, source: LeaseSource, trace: Trace = { identityCalls: 0, identityMs: 0 }): Promise<Lease> {
    const held = this.#store.get(key);
    const state = forIdentity(held, source.identity);
    if (state !== held) this.#store.set(key, state);
    const verdict = decide(state, { now: this.#now(), minTtlSeconds, credentials: source.credentials, quietMs: this.#quietMs });
    switch (verdict.kind) {
      case 'fresh':
        return { token: verdict.token, cacheHit: true, degraded: false };
      case 'degraded':
        return { token: verdict.token, cacheHit: true, degraded: true, degradedBecause: verdict.because, upstream: verdict.upstreamFailed ? 'identity' : null };
      case 'refused':
        throw new CredentialsRefusedError(
          verdict.status,
          `Rackspace Identity rejected the custodied credentials (HTTP ${verdict.status}); they are not sent again until the secret changes.`,
        );
      case 'backing-off':
        throw new UpstreamUnavailableError('Rackspace Identity is unavailable; backing off before asking again.', verdict.retryAfterSeconds, { upstream: 'identity' });
    }
    const started = this.#now();
    let outcome: Outcome;
    try {
      // Keyed by identity too: a request for a secret that now names someone else never joins the old one's call.
      outcome = await source.wait(this.#flight.run(`${key}\n${source.identity}`, () => this.#refresh(key, state, verdict.probe, source, trace)));
    } catch (error) {
      // This request's deadline passed while it waited: it answers now, the authentication goes on.
      outcome = { ok: false, error };
    } finally {
      trace.identityMs += this.#now() - started;
    }
    return this.#answer(key, minTtlSeconds, state.token, outcome);
  }

  async #refresh(key: string, state: ProfileState, probe: boolean, source: LeaseSource, trace: Trace): Promise<Outcome> {
    try {
      const { token, identity } = await source.authenticate(probe, trace);
      this.#store.set(key, succeeded(identity, token, this.#now()));
      return { ok: true, token, previous: state.token };
    } catch (error) {
      // Running out of this request's time before asking is not Identity failing: no backoff for that.
      if (error instanceof UpstreamUnavailableError && error.upstream === 'identity' && !(error instanceof DeadlineExceededError)) {
        this.#store.set(key, failed(state, this.#now(), error.retryAfterGiven ? error.retryAfterSeconds * 1000 : undefined));
      } else if (error instanceof CredentialsRefusedError && error.credentials !== null) {
        this.#store.set(key, refused(state, error.credentials, error.identityStatus));
      }
      return { ok: false, error };
    }
  }

  #answer(key: string, minTtlSeconds: number, cached: Token | null, outcome: Outcome): Lease {
    const now = this.#now();
    if (outcome.ok) {
      const { token, previous } = outcome;
      if (isFresh(token, now, minTtlSeconds)) return { token, cacheHit: false, degraded: false };
      if (isFresh(token, now, FLOOR_SECONDS)) {
        // A later expiry is a renewal that still falls short; the same expiry is Identity repeating itself.
        const because = previous && token.expiresAt <= previous.expiresAt ? 'identity re-issued the same token' : 'identity issued a token shorter-lived than minTtl';
        return { token, cacheHit: false, degraded: true, degradedBecause: because };
      }
      throw new UpstreamUnavailableError(`Rackspace Identity issued a token with less than ${FLOOR_SECONDS} s left; try again shortly.`, 5, { upstream: 'identity' });
    }
    const { error } = outcome;
    if (!(error instanceof UpstreamUnavailableError)) throw error;
    const backoff = this.#store.get(key)?.backoff;
    const stillValid = cached && isFresh(cached, now, FLOOR_SECONDS);
    if (stillValid) return { token: cached, cacheHit: false, degraded: true, degradedBecause: error.message, upstream: error.upstream };
    // The caller comes back when the backoff ends, not before: that is when we ask Identity again.
    if (backoff && backoff.until > now && error.upstream === 'identity') {
      const seconds = Math.max(1, Math.ceil((backoff.until - now) / 1000));
      if (seconds !== error.retryAfterSeconds) throw new UpstreamUnavailableError(error.message, seconds, { cause: error.cause, upstream: error.upstream });
    }
    throw error;
  }
}
