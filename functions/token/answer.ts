import type { ResolvedEndpoint } from '../core/catalog.ts';
import type { Lease } from '../core/token-cache.ts';
import { secondsLeft, type Token } from '../core/token.ts';

/**
 * The trimmed answer: token id, expiry, tenant and (if asked for) one endpoint. Built field by
 * field from what we parsed, so the catalog, roles and user can never ride along.
 */
function answerBody(lease: Lease, endpoint: ResolvedEndpoint | null, now: number): Record<string, unknown> {
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

interface LastText {
  expiresIn: number;
  degraded: boolean;
  text: string;
}

// The last text answered per token and endpoint (endpointFor returns the same object each time). Weak
// on the endpoint too, so an endpoint the resolver memo lets go takes its text with it.
const texts = new WeakMap<Token, { tokenOnly?: LastText; byEndpoint: WeakMap<ResolvedEndpoint, LastText> }>();

/**
 * {@link answerBody} as JSON text, serialised again only when something in it changed: warm vends
 * of one token and endpoint within the same second share one string.
 */
export function answerText(lease: Lease, endpoint: ResolvedEndpoint | null, now: number): string {
  let memo = texts.get(lease.token);
  // Stryker disable next-line ConditionalExpression: a memo; building the text anew gives the same text (npm run bench measures the saving).
  if (!memo) texts.set(lease.token, (memo = { byEndpoint: new WeakMap() }));
  const expiresIn = secondsLeft(lease.token, now);
  const last = endpoint ? memo.byEndpoint.get(endpoint) : memo.tokenOnly;
  // Stryker disable next-line ConditionalExpression: as above.
  if (last && last.expiresIn === expiresIn && last.degraded === lease.degraded) return last.text;
  const text = JSON.stringify(answerBody(lease, endpoint, now));
  // Stryker disable next-line ObjectLiteral: a memo entry; an empty one never matches, so the text is built anew, the same.
  const entry = { expiresIn, degraded: lease.degraded, text };
  // Stryker disable next-line CallExpression: as above, a memo write.
  if (endpoint) memo.byEndpoint.set(endpoint, entry);
  else memo.tokenOnly = entry;
  return text;
}
