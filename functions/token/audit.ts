import { createHash } from 'node:crypto';
import type { Upstream } from '../core/errors.ts';
import type { Token } from '../core/token.ts';

/** What one decision's audit line records. Filled in as the request goes; written once at the end. */
export interface AuditFacts {
  requestId: string;
  caller: string | null;
  profile: string | null;
  service: string | null;
  region: string | null;
  interface: string | null;
  /** The region the endpoint was found in (`null`: a global endpoint), beside the one asked for. */
  resolvedRegion: string | null;
  /** True only when this request neither called Identity nor waited for a call. */
  cacheHit: boolean | null;
  /** Identity calls this request made (retries included) and the time it spent on authentication. */
  identityCalls: number;
  identityMs: number | null;
  degraded: boolean;
  tokenSha256: string | null;
  /** Seconds the answered token stays valid (200s only): the TokenSecondsLeft metric. */
  secondsLeft: number | null;
  /** Why a request was refused or failed; never a secret (reasons are our own fixed texts). */
  reason: string | null;
  /** The dependency that failed, when one did: the Identity-failure alarm counts `identity`. */
  upstream: Upstream | null;
  /**
   * Beyond memory (README "Shared tier"): `table`, `identity` (this instance authenticated for the
   * fleet) or `fallback` (the table or KMS failed: the fallback alarm counts it); `null` for a
   * memory hit or with the shared tier off. `sharedFallback` says why it fell back.
   */
  shared: 'table' | 'identity' | 'fallback' | null;
  sharedFallback: string | null;
  /** The roles the role guard refused (credentials-overprivileged), else `null`: the CredentialsOverprivileged metric. */
  refusedRoles: string[] | null;
}

export function emptyFacts(requestId: string): AuditFacts {
  return { requestId, caller: null, profile: null, service: null, region: null, interface: null, resolvedRegion: null, cacheHit: null, identityCalls: 0, identityMs: null, degraded: false, tokenSha256: null, secondsLeft: null, reason: null, upstream: null, shared: null, sharedFallback: null, refusedRoles: null };
}

const fingerprints = new WeakMap<Token, string>();

/**
 * First 12 hex characters of SHA-256(token id): enough to correlate a token across audit lines
 * and Rackspace's logs, useless for replay. Memoised per token, so warm vends hash nothing.
 */
export function fingerprint(token: Token): string {
  let hash = fingerprints.get(token);
  // Stryker disable next-line ConditionalExpression: a memo; hashing again gives the same fingerprint.
  if (!hash) {
    hash = createHash('sha256').update(token.id).digest('hex').slice(0, 12);
    // Stryker disable next-line CallExpression: the memo write; hashing again gives the same fingerprint.
    fingerprints.set(token, hash);
  }
  return hash;
}
