import type { RedactingLogger } from '../core/logger.ts';
import type { Token } from '../core/token.ts';
import { fingerprint } from './audit.ts';

// Identity re-issues the same token until its last hour, so "once per token" needs memory across
// authentications: the fingerprints of tokens already reported, a few per profile, cleared when full.
const MAX_REMEMBERED = 64;
const reported = new Set<string>();

/**
 * Logs, once per token, what parsing Identity's answer skipped as unusable (catalog entries, tenant
 * or user fields): the answer was served without them, and an operator should see that. The list
 * holds paths, catalog names and counts, never values.
 *
 * @example
 * reportSkipped(logger, token, 'billing') // WARN "Identity answer: unusable entries skipped" {profile, tokenSha256, skipped}
 */
export function reportSkipped(logger: RedactingLogger, token: Token, profile: string): void {
  if (!token.skipped) return;
  const tokenSha256 = fingerprint(token);
  if (reported.has(tokenSha256)) return;
  if (reported.size >= MAX_REMEMBERED) reported.clear();
  reported.add(tokenSha256);
  logger.warn('Identity answer: unusable entries skipped', { profile, tokenSha256, skipped: token.skipped });
}
