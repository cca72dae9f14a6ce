import { resolveEndpoint, type EndpointRequest, type ResolvedEndpoint } from '../core/catalog.ts';
import type { Token } from '../core/token.ts';

// Resolution is pure in (token, request), so warm vends reuse it. Only successes are kept: entries
// per token are bounded by the catalog's endpoints (times the case variants of a region asked for),
// and they go with the token when it is replaced.
const resolved = new WeakMap<Token, Map<string, ResolvedEndpoint>>();

/** {@link resolveEndpoint} on the token's catalog, memoised per token. */
export function endpointFor(token: Token, request: EndpointRequest): ResolvedEndpoint {
  let byRequest = resolved.get(token);
  if (!byRequest) resolved.set(token, (byRequest = new Map()));
  const key = `${request.service}\n${request.region ?? ''}\n${request.interface}\n${request.version ?? ''}`;
  let endpoint = byRequest.get(key);
  if (!endpoint) {
    endpoint = resolveEndpoint(token.catalog, request, token.defaultRegion);
    byRequest.set(key, endpoint);
  }
  return endpoint;
}
