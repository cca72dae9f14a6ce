import { resolveEndpoint, type EndpointRequest, type ResolvedEndpoint } from '../core/catalog.ts';
import { CredentialsUnusableError } from '../core/errors.ts';
import type { Token } from '../core/token.ts';

// Resolution is pure in (token, request), so warm vends reuse it. The key is what resolution depends
// on, not the caller's raw text: a region is upper-cased, and every region the catalog does not list
// shares one key (they all resolve alike: a truly global endpoint, or a 404). Only successes are kept,
// and a success needs a service name or type, region and version the catalog lists, so entries are
// bounded by the catalog; MAX_ENTRIES caps them anyway. Entries go with the token when it is replaced.
const MAX_ENTRIES = 512;
const OTHER_REGION = '\u0000';

interface Memo {
  /** Every region the catalog lists, upper case. */
  regions: ReadonlySet<string>;
  byRequest: Map<string, ResolvedEndpoint>;
}

const memos = new WeakMap<Token, Memo>();

function memoOf(token: Token): Memo {
  let memo = memos.get(token);
  if (!memo) {
    const regions = new Set<string>();
    for (const service of token.catalog) for (const { region } of service.endpoints) if (region !== null) regions.add(region.toUpperCase());
    memos.set(token, (memo = { regions, byRequest: new Map() }));
  }
  return memo;
}

/**
 * {@link resolveEndpoint} on the token's catalog, memoised per token. A catalog Identity sent in a
 * shape we cannot read is Identity's fault: a 502 naming its answer, never a 404 blaming the caller.
 */
export function endpointFor(token: Token, request: EndpointRequest): ResolvedEndpoint {
  if (token.catalogFault !== undefined) {
    throw new CredentialsUnusableError(
      `Rackspace Identity's answer has no usable service catalog (${token.catalogFault}; a v1.1 answer?): no endpoint can be resolved, only a token. Check the profile's Identity URL (v2.0).`,
      { upstream: 'identity' },
    );
  }
  const memo = memoOf(token);
  const region = request.region === undefined ? '' : request.region.toUpperCase();
  // Stryker disable next-line StringLiteral: a version holds only letters, digits and ._- (request.ts), so any text with others keys "no version" alike.
  const version = request.version ?? '';
  const key = `${request.service}\n${region === '' || memo.regions.has(region) ? region : OTHER_REGION}\n${request.interface}\n${version}`;
  let endpoint = memo.byRequest.get(key);
  if (!endpoint) {
    endpoint = resolveEndpoint(token.catalog, request, token.defaultRegion);
    if (memo.byRequest.size >= MAX_ENTRIES) memo.byRequest.clear();
    memo.byRequest.set(key, endpoint);
  }
  return endpoint;
}

/** How many resolutions are memoised for this token (for tests and diagnostics). */
export function memoisedEndpoints(token: Token): number {
  return memos.get(token)?.byRequest.size ?? 0;
}
