import type { Token } from './token.ts';

/** Why the fleet backs off: Identity rate-limited or failing, or it refused a key (by fingerprint). */
export interface Backoff {
  /** Epoch ms until which no instance asks Identity. */
  until: number;
  reason: 'rate-limited' | 'unavailable' | 'refused';
  /** Fingerprint of the refused key ({@link keyFingerprint}); `null` unless `reason` is `refused`. */
  refusedKey: string | null;
}

/** One profile's shared record, as a store hands it back. */
export interface StoredState {
  /** Increases on every write; 0 when there is no record. Conditional writes compare it. */
  revision: number;
  /** The token, decrypted and verified; `null` when absent, flushed or unreadable. */
  token: Token | null;
  /** Fingerprint of the identity the token was issued to ({@link identityFingerprint}). */
  identity: string | null;
  /** When Identity last answered with this token (ms): stops a fleet-wide loop on a short token. */
  confirmedAt: number | null;
  /** True when a record was there but could not be decrypted or verified: it is never served. */
  unreadable: boolean;
  lease: { owner: string; until: number } | null;
  backoff: Backoff | null;
}

export interface PublishInput {
  owner: string;
  token: Token;
  identity: string;
  confirmedAt: number;
}

/**
 * The shared tier's port: the rules live in core/fleet.ts, an adapter only translates them into its
 * store's conditional writes (adapters/dynamodb-store.ts, adapters/memory-store.ts).
 */
export interface TokenStore {
  /** The profile's record, read consistently. */
  read(profile: string): Promise<StoredState>;
  /**
   * Take the lease for `owner` until `until`, only if the record is still at `revision` (nobody wrote
   * since the caller looked) — so of many instances that saw the same stale record, one wins.
   */
  acquire(profile: string, input: { owner: string; until: number; revision: number }): Promise<boolean>;
  /**
   * Store a token and release the lease. Fenced: only while `owner` still holds the lease, or when
   * the stored token (same identity) expires earlier than this one. `false` when the fence refused.
   */
  publish(profile: string, input: PublishInput): Promise<boolean>;
  /** Record a failed authentication as the fleet's backoff and release the lease, if `owner` holds it. */
  fail(profile: string, input: { owner: string; backoff: Backoff }): Promise<void>;
  /**
   * Drop the profile's token (and any lease) fleet-wide, only while the record still holds the token
   * issued to `identity` expiring at `expiresAt`: the one the caller revoked. `false` otherwise.
   */
  drop(profile: string, token: { identity: string; expiresAt: number }): Promise<boolean>;
}

/** A store's request failed (throttled, unreachable, denied): the caller falls back to its own cache. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  /** Which dependency: the table or the key service. */
  readonly dependency: 'dynamodb' | 'kms';
  constructor(dependency: 'dynamodb' | 'kms', message: string, options?: ErrorOptions) {
    super(message, options);
    this.dependency = dependency;
  }
}
