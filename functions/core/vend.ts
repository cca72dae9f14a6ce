import { createHmac, randomBytes } from 'node:crypto';
import type { Credentials } from './credentials.ts';
import { within, type Deadline } from './deadline.ts';
import { CredentialsRefusedError, UpstreamUnavailableError } from './errors.ts';
import { KeyRefused, type Authenticated } from './fleet.ts';
import { identityFingerprint, keyFingerprint } from './fingerprints.ts';
import { HEAL_MARGIN_SECONDS, type HealInput, type HealOutcome, type HealResult } from './heal.ts';
import { FLOOR_SECONDS, MemoryProfileStore, type ProfileStore } from './profile-state.ts';
import type { Profile } from './profiles.ts';
import type { SecretCache } from './secret-cache.ts';
import { aloneTier, type SharedTier } from './shared-tier.ts';
import { SingleFlight } from './single-flight.ts';
import { TokenCache, type Lease, type LeaseSource, type Trace } from './token-cache.ts';
import { isFresh, type Token } from './token.ts';

export interface AuthenticateOptions {
  /** `1`: a single probing attempt; `'all'`: the configured retry cycle. */
  attempts: 1 | 'all';
  deadline: Deadline;
  /** Called once per Identity call, for the audit line. */
  onCall: () => void;
  /** The profile authenticated for. */
  profile: string;
}

export interface VendorDeps {
  now: () => number;
  secrets: SecretCache<Credentials>;
  /** Identity URL for secrets that name none: part of the identity a token was issued to. */
  defaultIdentityUrl: string;
  /** One authentication, retries included, within the request's deadline. */
  authenticate: (credentials: Credentials, options: AuthenticateOptions) => Promise<Token>;
  /** Is this error Identity refusing the credentials with 401 (the one case worth a secret re-read)? */
  isUnauthorized: (error: unknown) => boolean;
  /** The secret's AWSPENDING credentials, or `null`: a key rotation between its reset and finishSecret. */
  pending?: (secretId: string, signal?: AbortSignal) => Promise<Credentials | null>;
  store?: ProfileStore;
  quietMs?: number;
  /** The tier under the memory cache: the fleet's table, or {@link aloneTier} when it is off. */
  shared?: SharedTier;
  /** Heals a key reset from outside (core/heal.ts with its adapters); absent: a refused key is only remembered. */
  heal?: (input: HealInput) => Promise<HealOutcome>;
  /** While a profile's key is refused, its secret is re-read at most this often, fleet-wide (default 10 s). */
  recheckMs?: number;
}

/** While a key is refused, how often its secret is re-read (so an operator's fix is live within seconds). */
export const RECHECK_MS = 10_000;
/** An instance that another one beat to the re-read looks at the shared record again this much later. */
const PEEK_AGAIN_MS = 1_000;

/**
 * Where this request's token came from, beyond memory: `table` (the shared record), `identity`
 * (this instance authenticated), `fallback` (the table or KMS failed, so it worked alone); absent
 * for a memory hit. For the audit line, whose `shared: "fallback"` the fallback alarm counts.
 */
export interface SharedTrace {
  shared?: 'table' | 'identity' | 'fallback';
  sharedFallback?: string;
  /** A refused key this request tried to heal: `healed`, or why not; with the reason a step failed. */
  heal?: HealResult;
  healDetail?: string;
}

export interface Vendor {
  lease(profile: Profile, minTtl: number, deadline: Deadline, trace?: Trace & SharedTrace): Promise<Lease>;
  /** The token cache, for its per-profile state. */
  readonly tokens: TokenCache;
  /** Operator flush: drop this instance's token for the profile; answers it (to revoke it). */
  forget(profile: string): Token | null;
}

// Tags tell credentials apart without holding them: keyed with a per-environment random key, so a
// tag that reached a log or a shared store could not be checked against a guessed password.
const TAG_KEY = randomBytes(32);
const tags = new WeakMap<Credentials, { identity: string; credentials: string }>();
/** The credentials a remembered refusal was for, so the fleet can record their fingerprint. */
const refusedWith = new WeakMap<object, Credentials>();

/** Who a token is issued to: username, tenant and Identity URL (hashed: the shared record holds it too). */
export function identityOf(credentials: Credentials, defaultIdentityUrl: string): string {
  return identityFingerprint(credentials, defaultIdentityUrl);
}

/**
 * The token half of the vending path: cached token, or secret → Identity. The secret is read
 * within `SECRET_TTL_SECONDS` even on a warm vend, so a secret now naming another identity drops
 * the token issued to the old one. On a 401 the secret is re-read once and, only if it changed (a
 * rotation), Identity is asked once more; if it is unchanged, its AWSPENDING version (a rotation
 * between reset and finish) is asked once instead. A key refused with no other to try is
 * remembered as refused and not sent again until the secret changes.
 *
 * @example
 * const vendor = createVendor({ now: Date.now, secrets, defaultIdentityUrl, authenticate, isUnauthorized });
 * const { token, cacheHit } = await vendor.lease(profile, 300, deadline);
 */
export function createVendor(deps: VendorDeps): Vendor {
  const store = deps.store ?? new MemoryProfileStore();
  const tokens = new TokenCache({ now: deps.now, store, quietMs: deps.quietMs });
  const shared = deps.shared ?? aloneTier;
  // Concurrent cold requests share one read of the shared record.
  const peeks = new SingleFlight<Awaited<ReturnType<SharedTier['peek']>>>();
  // While a key is refused: one re-read of the secret at a time, at most one per recheckMs per instance.
  const rechecks = new SingleFlight<{ credentials: Credentials; lease: Lease | null }>();
  const recheckedAt = new Map<string, number>();
  const recheckMs = deps.recheckMs ?? RECHECK_MS;

  const tagsOf = (credentials: Credentials) => tags.get(credentials) ?? tag(credentials);
  const tag = (credentials: Credentials) => {
    const identity = identityOf(credentials, deps.defaultIdentityUrl);
    const hmac = createHmac('sha256', TAG_KEY).update(JSON.stringify(credentials)).digest('hex').slice(0, 16);
    const tagged = { identity, credentials: hmac };
    // Stryker disable next-line CallExpression: the memo; without it every lease computes the same tags again (an HMAC and a fingerprint), only with more work.
    tags.set(credentials, tagged);
    return tagged;
  };

  function source(profile: Profile, credentials: Credentials, deadline: Deadline, minTtl: number, trace: Trace & SharedTrace): LeaseSource {
    const { identity, credentials: tag } = tagsOf(credentials);
    // One authentication with Identity: the holder of the fleet's lease (or an instance alone) runs it.
    const identityCall = async (probe: boolean, guard: { refusedKey: string | null }) => {
      const options: AuthenticateOptions = { attempts: probe ? 1 : 'all', deadline, onCall: () => void trace.identityCalls++, profile: profile.name };
      let current = credentials;
      // The fleet remembers a refused key: never send it again; a rotated secret may be read since.
      if (guard.refusedKey !== null && (await keyFingerprint(current, identity)) === guard.refusedKey) {
        current = await within(deadline, 'secrets-manager', deps.secrets.reread(profile.secretId, deadline.signal));
        const now = tagsOf(current);
        if (now.identity === identity && (await keyFingerprint(current, identity)) === guard.refusedKey) {
          const refusal = new CredentialsRefusedError(401, 'Rackspace Identity rejected the custodied credentials (HTTP 401); they are not sent again until the secret changes.');
          throw new KeyRefused(guard.refusedKey, remember(refusal, now.credentials, current));
        }
      }
      let answer: Authenticated;
      try {
        answer = await authenticateWith(current, options);
      } catch (error) {
        const refused = error instanceof CredentialsRefusedError ? refusedWith.get(error) : undefined;
        if (!refused) throw error;
        const who = tagsOf(refused).identity;
        throw new KeyRefused(await keyFingerprint(refused, who), error);
      }
      // A token no caller may be served is a failed authentication: thrown here, the memory cache
      // and the fleet's record both learn a backoff, and nobody publishes it or asks again at once.
      if (!isFresh(answer.token, deps.now(), FLOOR_SECONDS)) {
        throw new UpstreamUnavailableError(`Rackspace Identity issued a token with less than ${FLOOR_SECONDS} s left; try again shortly.`, 5, { upstream: 'identity' });
      }
      return answer;
    };
    const authenticateWith = async (used: Credentials, options: AuthenticateOptions) => {
      const usedTags = tagsOf(used);
      try {
        return { token: await deps.authenticate(used, options), identity: usedTags.identity };
      } catch (error) {
        if (!deps.isUnauthorized(error)) throw error;
        const reread = await within(deadline, 'secrets-manager', deps.secrets.reread(profile.secretId, deadline.signal));
        let next = reread;
        // Unchanged: a rotation may have reset the key and not yet made the new one AWSCURRENT. Its
        // AWSPENDING version is tried once; if refused too, the current key is what is remembered.
        let refused = reread;
        if (JSON.stringify(reread) === JSON.stringify(used)) {
          const pending = deps.pending && (await within(deadline, 'secrets-manager', deps.pending(profile.secretId, deadline.signal)));
          if (!pending || JSON.stringify(pending) === JSON.stringify(used)) {
            // No rotation under way: the key was reset from outside, or it is simply wrong.
            const healed = await healKey(used, usedTags.identity);
            if (!healed) throw remember(error, usedTags.credentials, used);
            [next, refused] = [healed, healed];
          } else {
            [next, refused] = [pending, used];
          }
        }
        try {
          return { token: await deps.authenticate(next, options), identity: tagsOf(next).identity };
        } catch (again) {
          throw deps.isUnauthorized(again) ? remember(again, tagsOf(refused).credentials, refused) : again;
        }
      }
    };
    /** The key Identity holds now, stored as the secret's current version; `null` when not healed. */
    const healKey = async (used: Credentials, who: string): Promise<Credentials | null> => {
      if (!deps.heal) return null;
      const held = await heldToken(profile.name, who);
      const outcome = await within(deadline, 'identity', deps.heal({ secretId: profile.secretId, refused: used, held, rotates: profile.rotates === true }));
      trace.heal = outcome.result;
      if (outcome.result !== 'healed') {
        // Stryker disable next-line ConditionalExpression: an outcome without detail would write undefined, which the audit line shows as null alike.
      if (outcome.detail) trace.healDetail = outcome.detail;
        return null;
      }
      if (outcome.rotation !== 'off') trace.healDetail = `rotation ${outcome.rotation}`;
      // The cache takes the new version now, so later vends send the healed key too.
      // Stryker disable next-line StringLiteral: never shown; any failure of this re-read, the deadline's too, answers the healed credentials.
      return within(deadline, 'secrets-manager', deps.secrets.reread(profile.secretId, deadline.signal)).catch(() => outcome.credentials);
    };
    return {
      identity,
      credentials: tag,
      wait: (work) => within(deadline, 'identity', work),
      async authenticate(probe) {
        const request = { minTtl, deadline: deps.now() + deadline.left(), knownIdentity: identity };
        let answer;
        try {
          answer = await shared.obtain(profile.name, request, (guard) => identityCall(probe, guard));
        } finally {
          // aloneTier answers fallback: null and has none, so working alone never records one.
          const fallback = answer ? answer.fallback : shared.fallback;
          if (fallback !== null) Object.assign(trace, { shared: 'fallback', sharedFallback: fallback });
          else if (shared !== aloneTier) trace.shared = answer ? answer.source : 'identity';
        }
        return { token: answer.token, identity: answer.identity };
      },
    };
  }

  /**
   * A token issued to `identity` that can still make one call: this instance's, else the shared
   * record's; an expired one of ours rather than none (the heal then says why it could not).
   */
  async function heldToken(name: string, identity: string): Promise<Token | null> {
    const state = tokens.state(name);
    // Stryker disable next-line OptionalChaining: the lease stored this profile's state before authenticating, and the store never deletes one; the ?. is for the type.
    const mine = state?.identity === identity ? state.token : null;
    if (mine && isFresh(mine, deps.now(), HEAL_MARGIN_SECONDS)) return mine;
    // Stryker disable next-line ArrowFunction: undefined is as falsy as null: the token in hand is answered alike.
    const peeked = await shared.peek(name, HEAL_MARGIN_SECONDS).catch(() => null);
    return peeked && peeked.identity === identity ? peeked.token : mine;
  }

  /**
   * The profile's key is refused: re-read the secret, at most once per `recheckMs` on this instance
   * and, through the shared tier, across the fleet. When another instance re-read it just now, a
   * token it got with a fixed key is in the shared record: that answers instead.
   */
  function recheck(profile: Profile, credentials: Credentials, minTtl: number, deadline: Deadline, trace: Trace & SharedTrace) {
    return rechecks.run(profile.name, async () => {
      const last = recheckedAt.get(profile.name);
      // Stryker disable next-line ConditionalExpression: with no re-read yet, now - undefined is NaN and the comparison is false alike; the check is for the type.
      if (last !== undefined && deps.now() - last < recheckMs) return { credentials, lease: null };
      recheckedAt.set(profile.name, deps.now());
      if (!(await shared.recheck(profile.name, recheckMs))) {
        // Another instance re-reads it: look again in a second for the token a fixed key got it.
        recheckedAt.set(profile.name, deps.now() - recheckMs + PEEK_AGAIN_MS);
        return { credentials, lease: await fromShared(profile, minTtl, trace) };
      }
      return { credentials: await within(deadline, 'secrets-manager', deps.secrets.reread(profile.secretId, deadline.signal)), lease: null };
    });
  }

  /** A memory miss before the secret is read: a fresh token in the shared record answers at once. */
  async function fromShared(profile: Profile, minTtl: number, trace: Trace & SharedTrace): Promise<Lease | null> {
    const held = tokens.state(profile.name)?.token;
    if (held && isFresh(held, deps.now(), minTtl)) return null;
    const peeked = await peeks.run(profile.name, () => shared.peek(profile.name, minTtl));
    if (!peeked || !isFresh(peeked.token, deps.now(), minTtl)) {
      if (shared.fallback !== null) Object.assign(trace, { shared: 'fallback', sharedFallback: shared.fallback });
      return null;
    }
    store.set(profile.name, { identity: peeked.identity, token: peeked.token, confirmedAt: peeked.confirmedAt, backoff: null, refused: null });
    trace.shared = 'table';
    return { token: peeked.token, cacheHit: false, degraded: false };
  }

  function forget(name: string): Token | null {
    const held = store.get(name);
    if (held) store.set(name, { identity: held.identity, token: null, confirmedAt: 0, backoff: null, refused: held.refused });
    return held?.token ?? null;
  }

  return {
    tokens,
    forget,
    // Stryker disable next-line ObjectLiteral: a trace the caller did not pass is only written to (counts and sources nobody reads), so {} in its place changes no answer.
    async lease(profile, minTtl, deadline, trace = { identityCalls: 0, identityMs: 0 }) {
      let credentials = deps.secrets.peek(profile.secretId);
      const justRead = credentials === undefined;
      if (credentials === undefined) {
        // Once per SECRET_TTL_SECONDS, with the secret: a token the fleet no longer holds (an
        // operator flushed it, or a later one replaced it) is dropped here too.
        const held = tokens.state(profile.name)?.token;
        if (held && (await shared.holds(profile.name, held)) === false) forget(profile.name);
        const hit = await fromShared(profile, minTtl, trace);
        if (hit) return hit;
        try {
          credentials = await within(deadline, 'secrets-manager', deps.secrets.get(profile.secretId, deadline.signal));
        } catch (error) {
          // Custody could not be checked just now, but the token in hand still serves this caller.
          const held = tokens.state(profile.name)?.token;
          if (error instanceof UpstreamUnavailableError && held && isFresh(held, deps.now(), minTtl)) return { token: held, cacheHit: true, degraded: false };
          throw error;
        }
      }
      // The secret was just read: that counts as this instance's re-read.
      if (justRead) recheckedAt.set(profile.name, deps.now());
      const state = tokens.state(profile.name);
      // Refused, and no token to serve: the secret may have been fixed since (re-read, rate-limited).
      if (!justRead && state?.refused && state.refused.credentials === tagsOf(credentials).credentials && !(state.token && isFresh(state.token, deps.now(), minTtl))) {
        const rechecked = await recheck(profile, credentials, minTtl, deadline, trace);
        if (rechecked.lease) return rechecked.lease;
        credentials = rechecked.credentials;
      }
      return tokens.lease(profile.name, minTtl, source(profile, credentials, deadline, minTtl, trace), trace);
    },
  };
}

function remember(error: unknown, tag: string, credentials: Credentials): unknown {
  if (error instanceof CredentialsRefusedError) {
    error.credentials = tag;
    refusedWith.set(error, credentials);
  }
  return error;
}
