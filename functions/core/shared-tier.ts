import type { Token } from './token.ts';

/** What the holder of the lease produced: the token and who it was issued to. */
export interface Authenticated {
  token: Token;
  identity: string;
}

export interface SharedRequest {
  minTtl: number;
  /** Epoch ms by which this request must be answered: waits for another instance stop there. */
  deadline: number;
  /** The identity of the profile's secret as this instance read it: a record for another is not served. */
  knownIdentity: string | null;
}

export interface SharedAnswer {
  token: Token;
  /** `table`: another instance's token; `identity`: this instance authenticated (holding the lease, or alone). */
  source: 'table' | 'identity';
  /** Whom the token was issued to (a rotation found while authenticating may have changed it). */
  identity: string;
  /** Why the shared tier was bypassed (table or KMS failing), for the audit line; `null` when it was used. */
  fallback: string | null;
  degradedBecause?: string;
}

/** A token the shared record holds, and whom it was issued to. */
export interface Held {
  token: Token;
  identity: string;
}

/** What the operator's flush finds in the record: its token, and whether one is there but cannot be opened. */
export interface SharedRecord {
  held: Held | null;
  /** A record that cannot be decrypted or verified (tampered, another key): never served, never revocable by us. */
  unreadable: boolean;
}

/** A fresh token found in the shared record before the secret was read. */
export interface Peeked {
  token: Token;
  identity: string;
  confirmedAt: number;
}

/**
 * The tier under each instance's memory cache. Two implementations: core/fleet.ts over a
 * {@link TokenStore} (DynamoDB when deployed), and {@link aloneTier} when the shared tier is off.
 * The vendor calls the same three methods either way.
 */
export interface SharedTier {
  /** On a memory miss, before reading the secret: one consistent read; a token fresh for `minTtl`, or `null`. */
  peek(profile: string, minTtl: number): Promise<Peeked | null>;
  /** A token through one authentication across the fleet (`authenticate` runs here only if this instance holds the lease). */
  obtain(profile: string, request: SharedRequest, authenticate: (guard: { refusedKey: string | null }) => Promise<Authenticated>): Promise<SharedAnswer>;
  /**
   * Operator flush, first step: the token the record holds, read even while the circuit is open.
   * A failing table or KMS throws: the flush must not take "unknown" for "none".
   */
  record(profile: string): Promise<SharedRecord>;
  /**
   * Operator flush, last step: drop `held` (revoked by then) fleet-wide, only if the record still
   * holds that token; `false` when another replaced it since (the caller revokes that one first).
   */
  drop(profile: string, held: Held): Promise<boolean>;
  /**
   * Does the fleet still hold `token` for `profile`? `false` once an operator flushed it or a later
   * token replaced it (this instance then drops its copy); `null` when unknown (no record, store failing).
   */
  holds(profile: string, token: Token): Promise<boolean | null>;
  /** Why this instance is working alone right now (the table or KMS failed lately), or `null`. */
  readonly fallback: string | null;
}

/** Thrown by an `authenticate` callback when Identity refused a key: the fleet records its fingerprint. */
export class KeyRefused extends Error {
  override name = 'KeyRefused';
  readonly refusedKey: string;
  /** The error the caller sees (rethrown after recording). */
  readonly original: unknown;
  constructor(refusedKey: string, original: unknown) {
    super('Identity refused the key');
    this.refusedKey = refusedKey;
    this.original = original;
  }
}

/** The shared tier turned off: every instance on its own, as before it existed. */
export const aloneTier: SharedTier = {
  peek: async () => null,
  async obtain(_profile, _request, authenticate) {
    try {
      return { ...(await authenticate({ refusedKey: null })), source: 'identity', fallback: null };
    } catch (error) {
      throw error instanceof KeyRefused ? error.original : error;
    }
  },
  record: async () => ({ held: null, unreadable: false }),
  drop: async () => true,
  holds: async () => null,
  fallback: null,
};
