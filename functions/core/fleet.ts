import { Circuit } from './circuit.ts';
import type { Timeout } from './deadline.ts';
import { DeadlineExceededError, UpstreamUnavailableError } from './errors.ts';
import { FLOOR_SECONDS } from './profile-state.ts';
import { KeyRefused, type Authenticated, type Held, type Peeked, type SharedAnswer, type SharedRecord, type SharedRequest, type SharedTier } from './shared-tier.ts';
import { StoreUnavailableError, type Backoff, type StoredState, type TokenStore } from './token-store.ts';
import { isFresh, type Token } from './token.ts';

export { KeyRefused, type Authenticated };

export interface FleetOptions {
  store: TokenStore;
  /** This instance's name in leases (random per execution environment). */
  owner: string;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  /** How long a lease lasts: the Identity budget plus a margin, so a dead holder frees it by itself. */
  leaseMs: number;
  /** How long the fleet waits after a failure Identity gave no Retry-After for (ms), by reason. */
  backoffFor: (error: unknown) => { reason: Backoff['reason']; ms: number } | null;
  /** Mean wait between polls of a record whose lease another instance holds (jittered ±50%). */
  pollMs?: number;
  /** A token Identity confirmed this recently is served (degraded) rather than asked for again. */
  quietMs?: number;
  /** How long the circuit stays open after the table or KMS failed. */
  circuitMs?: number;
  /** Clocks may disagree this much; a lease is dead by the record's clock only past it. */
  maxSkewMs?: number;
  /** How long Identity's refusal of a key is remembered (the fingerprint goes when the secret changes anyway). */
  refusedMs?: number;
  /** Timers bounding the wait for a write after authenticating: `AbortSignal.timeout`, or a test's fake clock. */
  timeout?: Timeout;
  /**
   * How long a holder may take to authenticate and publish, by this instance's watch of its lease
   * (default half the lease): past it, a waiter takes the lease over with a write conditional on
   * the record it read, so one waiter authenticates, not all (the holder may have lost its table).
   */
  takeoverMs?: number;
}

/** A write after authenticating is waited for until this long before the request's deadline, so the answer makes it. */
export const ANSWER_MARGIN_MS = 50;

export type FleetRequest = SharedRequest;
export type FleetAnswer = SharedAnswer;

/**
 * The shared tier's rules, under each instance's in-memory cache: read the profile's record; a fresh
 * token answers; otherwise one instance across the fleet takes the lease and authenticates, the
 * others poll (jittered) until it publishes or their deadline passes. A failure is written as the
 * fleet's backoff. If the store fails, the instance works alone for a while (circuit).
 *
 * @example
 * const fleet = new Fleet({ store, owner, now, sleep, random, leaseMs: 10_000, backoffFor });
 * const { token, source } = await fleet.obtain('demo', { minTtl: 300, deadline, knownIdentity: null }, authenticate);
 */
export class Fleet implements SharedTier {
  readonly #o: Required<FleetOptions>;
  readonly #circuit: Circuit;
  /** Leases seen held by another instance: when first seen, by our clock (skew-proof expiry). */
  readonly #seen = new Map<string, { owner: string; until: number; since: number }>();
  /** Profiles this instance is authenticating for right now (its own lease is live, not stale). */
  readonly #holding = new Set<string>();

  constructor(options: FleetOptions) {
    this.#o = { pollMs: 100, quietMs: 60_000, circuitMs: 30_000, maxSkewMs: 5 * 60_000, refusedMs: 24 * 3_600_000, timeout: (ms) => AbortSignal.timeout(ms), takeoverMs: options.leaseMs / 2, ...options };
    this.#circuit = new Circuit({ now: options.now, openMs: this.#o.circuitMs });
  }

  /** Why the shared tier is bypassed right now, or `null`. */
  get fallback(): string | null {
    return this.#circuit.reason;
  }

  async peek(profile: string, minTtl: number): Promise<Peeked | null> {
    if (this.#circuit.isOpen()) return null;
    try {
      const { token, identity, confirmedAt } = await this.#o.store.read(profile);
      return token && identity !== null && isFresh(token, this.#o.now(), minTtl) ? { token, identity, confirmedAt: confirmedAt ?? 0 } : null;
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.#circuit.trip(`${error.dependency}: ${error.message}`);
      return null;
    }
  }

  async obtain(profile: string, request: FleetRequest, authenticate: (guard: { refusedKey: string | null }) => Promise<Authenticated>): Promise<FleetAnswer> {
    if (this.#circuit.isOpen()) return this.#alone(authenticate);
    try {
      return await this.#shared(profile, request, authenticate);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.#circuit.trip(`${error.dependency}: ${error.message}`);
      return this.#alone(authenticate);
    }
  }

  async holds(profile: string, token: Token): Promise<boolean | null> {
    if (this.#circuit.isOpen()) return null;
    try {
      const state = await this.#o.store.read(profile);
      if (state.revision === 0 || state.unreadable) return null;
      return state.token?.id === token.id;
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.#circuit.trip(`${error.dependency}: ${error.message}`);
      return null;
    }
  }

  async recheck(profile: string, everyMs: number): Promise<boolean> {
    if (this.#circuit.isOpen()) return true;
    try {
      return await this.#o.store.claimRecheck(profile, { now: this.#o.now(), everyMs });
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.#circuit.trip(`${error.dependency}: ${error.message}`);
      return true;
    }
  }

  /** Operator flush: the record's token, past the circuit; the table or KMS failing throws (unknown is not none). */
  async record(profile: string): Promise<SharedRecord> {
    const { token, identity, unreadable } = await this.#o.store.read(profile);
    return { held: token && identity !== null ? { token, identity } : null, unreadable };
  }

  /** Operator flush: drops `held` (revoked by then) only if the record still holds it. */
  drop(profile: string, held: Held): Promise<boolean> {
    return this.#o.store.drop(profile, { identity: held.identity, expiresAt: held.token.expiresAt });
  }

  async #alone(authenticate: (guard: { refusedKey: string | null }) => Promise<Authenticated>): Promise<FleetAnswer> {
    const fallback = this.#circuit.reason;
    try {
      return { ...(await authenticate({ refusedKey: null })), source: 'identity', fallback };
    } catch (error) {
      throw error instanceof KeyRefused ? error.original : error;
    }
  }

  async #shared(profile: string, request: FleetRequest, authenticate: (guard: { refusedKey: string | null }) => Promise<Authenticated>): Promise<FleetAnswer> {
    const { now } = this.#o;
    for (;;) {
      const state = await this.#o.store.read(profile);
      const usable = state.token && (request.knownIdentity === null || state.identity === request.knownIdentity) ? state.token : null;
      const valid = usable && isFresh(usable, now(), FLOOR_SECONDS) ? usable : null;
      const identity = state.identity ?? '';
      if (valid && isFresh(valid, now(), request.minTtl)) return { token: valid, identity, source: 'table', fallback: null };
      if (valid && state.confirmedAt !== null && now() - state.confirmedAt < this.#o.quietMs) {
        return { token: valid, identity, source: 'table', fallback: null, degradedBecause: 'identity re-issued this token moments ago' };
      }
      const backoff = state.backoff && state.backoff.reason !== 'refused' && state.backoff.until > now() ? state.backoff : null;
      if (backoff) {
        // Thrown even with a valid token: the memory cache above degrades to its own and backs off too.
        const seconds = Math.max(1, Math.ceil((backoff.until - now()) / 1000));
        throw new UpstreamUnavailableError('Rackspace Identity is unavailable (the fleet is backing off); try again shortly.', seconds, { upstream: 'identity', retryAfterGiven: true });
      }
      const mine = state.lease?.owner === this.#o.owner;
      const lease = state.lease && (mine ? this.#holding.has(profile) : !this.#overdue(profile, state.lease)) ? state.lease : null;
      if (lease) {
        const wait = this.#o.pollMs * (0.5 + this.#o.random());
        // Stops a margin before the deadline, so this answer, not the request's own timer, is what the caller gets.
        if (now() + wait > request.deadline - ANSWER_MARGIN_MS) {
          // Our time is up, not Identity failing: a deadline error (no backoff is learnt from it).
          if (valid) return { token: valid, identity, source: 'table', fallback: null, degradedBecause: 'another instance is authenticating' };
          throw new AuthenticatingElsewhereError(Math.max(1, Math.ceil((Math.min(lease.until, now() + this.#o.leaseMs) - now()) / 1000)));
        }
        await this.#o.sleep(wait);
        continue;
      }
      // Nobody holds a live lease (or its holder is overdue): try to become the holder. Conditional on
      // the revision we read, so of all the waiters that saw it, one wins; losing means someone wrote since.
      const until = await this.#acquire(profile, state.revision);
      if (until === null) continue;
      this.#seen.delete(profile);
      this.#holding.add(profile);
      try {
        return await this.#hold(profile, state, until, request.deadline, authenticate);
      } finally {
        this.#holding.delete(profile);
      }
    }
  }

  /**
   * Takes the lease. A write that failed may have landed with its answer lost: one read tells, since
   * a lease we took names us and the expiry we wrote (so we hold it, and go on as the holder). If
   * that read fails too, we act as the holder anyway: our publish and release are fenced on the lease
   * (they land only if it is ours), whereas a lease we took and never released would keep every
   * other instance waiting to its deadline. Not holding it then costs one extra Identity call.
   */
  async #acquire(profile: string, revision: number): Promise<number | null> {
    const { store, owner, now, leaseMs } = this.#o;
    const until = now() + leaseMs;
    try {
      return (await store.acquire(profile, { owner, until, revision })) ? until : null;
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
    }
    try {
      return (await this.#stillHeld(profile, until)) ? until : null;
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      return until;
    }
  }

  /** Does the record still show the lease we wrote (owner and expiry)? Publishing or releasing removes it. */
  async #stillHeld(profile: string, until: number): Promise<boolean> {
    const { lease } = await this.#o.store.read(profile);
    return lease?.owner === this.#o.owner && lease.until === until;
  }

  async #hold(profile: string, state: StoredState, until: number, deadline: number, authenticate: (guard: { refusedKey: string | null }) => Promise<Authenticated>): Promise<FleetAnswer> {
    const { store, owner, now } = this.#o;
    const refused = state.backoff?.reason === 'refused' && state.backoff.until > now() ? state.backoff.refusedKey : null;
    let result: Authenticated;
    try {
      result = await authenticate({ refusedKey: refused });
    } catch (error) {
      const original = error instanceof KeyRefused ? error.original : error;
      const backoff: Backoff | null =
        error instanceof KeyRefused
          ? { until: now() + this.#o.refusedMs, reason: 'refused', refusedKey: error.refusedKey }
          : this.#backoff(original);
      // Releases the lease too; recording is best effort: the caller's answer does not depend on it.
      await this.#until(deadline, store.fail(profile, { owner, backoff: backoff ?? { until: now(), reason: 'unavailable', refusedKey: null } }).catch((e: unknown) => this.#trip(e)));
      // The memory cache above serves its own still-valid token (degraded) and backs off, as alone.
      throw original;
    }
    await this.#until(deadline, this.#publish(profile, until, result).catch((e: unknown) => this.#trip(e)));
    return { ...result, source: 'identity', fallback: null };
  }

  /**
   * Publishes the token, which also releases the lease. A publish that failed (KMS did not seal it,
   * or the table reset or lost the write) must not leave the lease held with no token, or every
   * other instance waits on it: one read tells whether it landed (a landed publish removed our
   * lease); if not, it is tried once more, and if that fails too the lease is released, so the next
   * instance authenticates at once (one extra Identity call) instead of waiting. If the table does
   * not answer even the read, waiters take the lease over after `takeoverMs` ({@link Fleet.#overdue}).
   */
  async #publish(profile: string, until: number, result: Authenticated): Promise<void> {
    const { store, owner, now } = this.#o;
    const input = { owner, token: result.token, identity: result.identity, confirmedAt: now() };
    let failure: unknown;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await store.publish(profile, input);
        return;
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) throw error;
        failure = error;
      }
      if (!(await this.#stillHeld(profile, until))) return;
    }
    // The table answers (it just did) but the publish does not land: free the lease, keep no backoff.
    await store.fail(profile, { owner, backoff: { until: now(), reason: 'unavailable', refusedKey: null } });
    throw failure;
  }

  /**
   * Waits for `write` no later than {@link ANSWER_MARGIN_MS} before the request's deadline: the
   * caller has its answer already, and a table that does not answer must not turn it into a 503.
   * The write goes on; if it fails later, it still opens the circuit.
   */
  async #until(deadline: number, write: Promise<unknown>): Promise<void> {
    const ms = deadline - this.#o.now() - ANSWER_MARGIN_MS;
    if (ms <= 0) return;
    const signal = this.#o.timeout(ms);
    await new Promise<void>((resolve) => {
      signal.addEventListener('abort', () => resolve());
      void write.then(() => resolve());
    });
  }

  #backoff(error: unknown): Backoff | null {
    const verdict = this.#o.backoffFor(error);
    return verdict ? { until: this.#o.now() + verdict.ms, reason: verdict.reason, refusedKey: null } : null;
  }

  /**
   * A lease may be taken over when its expiry has passed by more than clocks can disagree, or when
   * we have watched it unchanged (its holder neither published nor released) for `takeoverMs` by our own clock (the
   * holder's expected time to authenticate and publish): skew cannot shorten either. The takeover
   * is a conditional write, so one waiter becomes the holder; a holder that was merely slow then
   * costs one extra Identity call, and its late publish is fenced off.
   */
  #overdue(profile: string, lease: { owner: string; until: number }): boolean {
    const now = this.#o.now();
    if (lease.until + this.#o.maxSkewMs < now) return true;
    const seen = this.#seen.get(profile);
    if (!seen || seen.owner !== lease.owner || seen.until !== lease.until) {
      this.#seen.set(profile, { ...lease, since: now });
      return false;
    }
    return now - seen.since >= Math.min(this.#o.takeoverMs, this.#o.leaseMs);
  }

  #trip(error: unknown): void {
    if (error instanceof StoreUnavailableError) this.#circuit.trip(`${error.dependency}: ${error.message}`);
  }
}

/**
 * 503 for a request whose time ran out while another instance authenticated: Retry-After is when
 * its lease ends. A deadline error, so the memory cache learns no backoff from it (Identity did
 * not fail; the holder's token is in the table moments later).
 */
export class AuthenticatingElsewhereError extends DeadlineExceededError {
  constructor(retryAfterSeconds: number) {
    super('identity');
    this.message = 'Rackspace Identity is unavailable (another instance is authenticating); try again shortly.';
    // The base class fixes 1 s; a waiter should come back when the lease ends.
    Object.defineProperty(this, 'retryAfterSeconds', { value: retryAfterSeconds });
  }
}
