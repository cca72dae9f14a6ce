import { isFresh, type Token } from './token.ts';

/** The smallest `minTtl`: no answer ever carries a token with less left, degraded or not. */
export const FLOOR_SECONDS = 60;
/** Backoff after a failed authentication when Identity gave no Retry-After: doubles while failing. */
export const BACKOFF_FIRST_MS = 5_000;
export const BACKOFF_CAP_MS = 120_000;

/**
 * Everything one execution environment knows about one profile, as one plain record (no class,
 * no closures) so a store can keep it anywhere: in memory today, a shared table tomorrow.
 */
export interface ProfileState {
  /** Whom `token` was issued to (username, tenant, Identity URL): a secret naming someone else drops it. */
  identity: string;
  token: Token | null;
  /** When Identity last answered with `token` (epoch ms; 0: never). */
  confirmedAt: number;
  /** After a failed authentication, no Identity call before `until`; `failures` in a row so far. */
  backoff: { until: number; failures: number } | null;
  /** Identity refused these credentials (a tag, never the key): they are not sent again. */
  refused: { credentials: string; status: number } | null;
}

/** Where profile states live. The memory adapter is below; the handler never branches on which. */
export interface ProfileStore {
  get(profile: string): ProfileState | undefined;
  set(profile: string, state: ProfileState): void;
}

export class MemoryProfileStore implements ProfileStore {
  readonly #states = new Map<string, ProfileState>();
  get(profile: string): ProfileState | undefined {
    return this.#states.get(profile);
  }
  set(profile: string, state: ProfileState): void {
    this.#states.set(profile, state);
  }
}

/** The state for `identity`: the one held if it was for the same identity, else a blank one. */
export function forIdentity(state: ProfileState | undefined, identity: string): ProfileState {
  if (state && state.identity === identity) return state;
  return { identity, token: null, confirmedAt: 0, backoff: null, refused: null };
}

export type Verdict =
  | { kind: 'fresh'; token: Token }
  | { kind: 'degraded'; token: Token; because: string; upstreamFailed: boolean }
  | { kind: 'refused'; status: number }
  | { kind: 'backing-off'; retryAfterSeconds: number }
  | { kind: 'ask'; probe: boolean };

export interface Ask {
  now: number;
  minTtlSeconds: number;
  /** Tag of the credentials the secret holds now. */
  credentials: string;
  /** After Identity answered, how long a token short of `minTtl` is served without asking again. */
  quietMs: number;
}

/**
 * What to do for one request, from the state alone: serve, serve degraded, refuse, wait, or ask
 * Identity (a single probing attempt while recovering from a backoff).
 */
export function decide(state: ProfileState, ask: Ask): Verdict {
  const { token } = state;
  if (token && isFresh(token, ask.now, ask.minTtlSeconds)) return { kind: 'fresh', token };
  if (state.refused?.credentials === ask.credentials) return { kind: 'refused', status: state.refused.status };
  const servable = token && isFresh(token, ask.now, FLOOR_SECONDS) ? token : null;
  if (servable && ask.now - state.confirmedAt < ask.quietMs) {
    return { kind: 'degraded', token: servable, because: 'identity confirmed this token moments ago', upstreamFailed: false };
  }
  if (state.backoff && ask.now < state.backoff.until) {
    if (servable) return { kind: 'degraded', token: servable, because: 'identity failed; backing off before asking again', upstreamFailed: true };
    return { kind: 'backing-off', retryAfterSeconds: Math.max(1, Math.ceil((state.backoff.until - ask.now) / 1000)) };
  }
  return { kind: 'ask', probe: state.backoff !== null };
}

/** Identity issued `token` to `identity`: a confirmation, which ends any backoff and refusal. */
export function succeeded(identity: string, token: Token, now: number): ProfileState {
  return { identity, token, confirmedAt: now, backoff: null, refused: null };
}

/**
 * An authentication failed: back off for Identity's own wait when it gave one, else 5 s doubling
 * per failure in a row, capped at 2 minutes.
 */
export function failed(state: ProfileState, now: number, serverWaitMs: number | undefined): ProfileState {
  const failures = (state.backoff?.failures ?? 0) + 1;
  const waitMs = serverWaitMs ?? Math.min(BACKOFF_CAP_MS, BACKOFF_FIRST_MS * 2 ** (failures - 1));
  return { ...state, backoff: { until: now + waitMs, failures } };
}

/** Identity refused `credentials` with `status`: remember it until the secret holds something else. */
export function refused(state: ProfileState, credentials: string, status: number): ProfileState {
  return { ...state, refused: { credentials, status } };
}
