import type { ResolvedEndpoint } from '../core/catalog.ts';
import type { Lease } from '../core/token-cache.ts';
import { secondsLeft } from '../core/token.ts';

/**
 * The trimmed answer: token id, expiry, tenant and (if asked for) one endpoint. Built field by
 * field from what we parsed, so the catalog, roles and user can never ride along.
 */
export function answerBody(lease: Lease, endpoint: ResolvedEndpoint | null, now: number): Record<string, unknown> {
  const { token } = lease;
  return {
    token: token.id,
    expiresAt: new Date(token.expiresAt).toISOString(),
    expiresIn: secondsLeft(token, now),
    tenant: token.tenant ? { id: token.tenant.id, name: token.tenant.name } : null,
    ...(endpoint && { endpoint }),
    ...(lease.degraded && { degraded: true }),
  };
}
