import { AmbiguousEndpointError, EndpointNotFoundError } from './errors.ts';

/** One endpoint of a parsed catalog: strings trimmed, an empty region or version already `null`. */
export interface CatalogEndpoint {
  publicURL: string;
  internalURL: string | null;
  region: string | null;
  tenantId: string | null;
  /** The catalog's `versionId` (`"2"`, `"1.0"`): what tells two endpoints of one service and region apart. */
  versionId: string | null;
}

export interface CatalogService {
  name: string;
  type: string;
  endpoints: CatalogEndpoint[];
}

export type Interface = 'public' | 'internal';

export interface EndpointRequest {
  /** A service `name` (`cloudFiles`, `Cloud DNS`) or `type` (`object-store`). */
  service: string;
  region?: string | undefined;
  interface: Interface;
  /** Exactly the catalog's `versionId`. */
  version?: string | undefined;
}

export interface ResolvedEndpoint {
  url: string;
  service: string;
  type: string;
  region: string | null;
  interface: Interface;
  tenantId: string | null;
  /** Present only when the catalog gives the endpoint a `versionId`. */
  version?: string;
}

interface Candidate {
  service: CatalogService;
  endpoint: CatalogEndpoint;
}

/**
 * Picks the one endpoint a caller asked for. Pure: no I/O, no clock. Each step narrows the list
 * left by the one before; the rules, each pinned by a test in test/unit/catalog.test.ts and
 * test/unit/catalog-public.test.ts:
 *
 * 1. **Service.** An exact `name` match wins; only when no service has that name is `type` tried
 *    (a type may match several services). Case-sensitive: names are identifiers, spaces included.
 *    A service listed without any endpoint neither matches nor hides a type match.
 * 2. **Region.** The region asked for, else the user's default region, compared case-insensitively.
 *    A region-less (global) endpoint answers a request for a region only when none of the matched
 *    services has any regional endpoint (a truly global service such as `cloudDNS`); otherwise a
 *    region with no endpoint is a 404 listing the regions that exist. Another region, or another
 *    service's global endpoint, is never substituted. With no region asked and no default region,
 *    a service that has a region-less endpoint offers only that (a global endpoint answers such a
 *    request rather than a 409 against its own regional ones); every other endpoint stays a
 *    candidate (so a service with a single regional endpoint needs no region, and a type that
 *    matches several services is still a 409).
 * 3. **Version.** When asked, only endpoints whose `versionId` equals it exactly.
 * 4. **Interface.** `public` uses `publicURL`; `internal` keeps only endpoints with an `internalURL`
 *    (ServiceNet). One never falls back to the other.
 * 5. **Outcome.** One endpoint left: it, with `version` when the catalog gives one. None:
 *    {@link EndpointNotFoundError} naming the step that emptied the list (`service`, `region`,
 *    `version` or `interface`) and what exists at that step. Several:
 *    {@link AmbiguousEndpointError} listing them (service, type, region, version, url) and
 *    suggesting only the narrowings that would tell them apart.
 *
 * @example
 * resolveEndpoint(catalog, { service: 'cloudFiles', region: 'dfw', interface: 'internal' }, 'ORD')
 * // → { url: 'https://snet-storage101.dfw1…', service: 'cloudFiles', region: 'DFW', … }
 */
export function resolveEndpoint(
  catalog: readonly CatalogService[],
  request: EndpointRequest,
  defaultRegion: string | null,
): ResolvedEndpoint {
  const services = matchServices(catalog, request.service);
  const all = services.flatMap((service) => service.endpoints.map((endpoint) => ({ service, endpoint })));
  const inRegion = selectRegion(all, request, defaultRegion);
  const versioned = selectVersion(inRegion, request);
  const usable = versioned.flatMap((c) => {
    const url = request.interface === 'internal' ? c.endpoint.internalURL : c.endpoint.publicURL;
    return url === null ? [] : [{ ...c, url }];
  });
  if (usable.length === 0) {
    throw new EndpointNotFoundError(
      `'${request.service}' has no internal (ServiceNet) URL here; only the public interface is available.`,
      'interface',
      ['public'],
    );
  }
  const [only, ...rest] = usable;
  if (!only || rest.length > 0) throw ambiguity(request.service, usable);
  const { service, endpoint, url } = only;
  return {
    url,
    service: service.name,
    type: service.type,
    region: endpoint.region,
    interface: request.interface,
    tenantId: endpoint.tenantId,
    ...(endpoint.versionId !== null && { version: endpoint.versionId }),
  };
}

function matchServices(catalog: readonly CatalogService[], wanted: string): CatalogService[] {
  // A service listed without any endpoint (Identity's own entry can be) cannot answer, nor shadow a type.
  const usable = catalog.filter((s) => s.endpoints.length > 0);
  const byName = usable.filter((s) => s.name === wanted);
  const matched = byName.length > 0 ? byName : usable.filter((s) => s.type === wanted);
  if (matched.length === 0) {
    const listed = catalog.some((s) => s.name === wanted || s.type === wanted);
    throw new EndpointNotFoundError(
      listed ? `The catalog lists '${wanted}' without any endpoint.` : `The catalog has no service named or typed '${wanted}'.`,
      'service',
      usable.map((s) => ({ name: s.name, type: s.type })),
    );
  }
  return matched;
}

function selectRegion(all: Candidate[], request: EndpointRequest, defaultRegion: string | null): Candidate[] {
  const region = request.region ?? defaultRegion;
  if (region === null) {
    // Nothing names a region: a service's region-less endpoint is the one meant (PRODUCT.md's
    // default, "else a region-less endpoint"). Per service: another service's global endpoint
    // never stands in for this one's regional ones, so several services still make a 409.
    const hasGlobal = new Set(all.filter((c) => c.endpoint.region === null).map((c) => c.service));
    return all.filter((c) => c.endpoint.region === null || !hasGlobal.has(c.service));
  }
  const wanted = region.toUpperCase();
  const regional = all.filter((c) => c.endpoint.region?.toUpperCase() === wanted);
  if (regional.length > 0) return regional;
  const regions = distinct(all.map((c) => c.endpoint.region));
  if (regions.every((r) => r === null)) return all;
  const asked = request.region ? `region '${request.region}'` : `the default region '${defaultRegion}'`;
  throw new EndpointNotFoundError(
    `'${request.service}' has no endpoint in ${asked}; pass one of the available regions.`,
    'region',
    regions.filter((r) => r !== null),
  );
}

function selectVersion(candidates: Candidate[], request: EndpointRequest): Candidate[] {
  if (request.version === undefined) return candidates;
  const matched = candidates.filter((c) => c.endpoint.versionId === request.version);
  if (matched.length > 0) return matched;
  const versions = distinct(candidates.map((c) => c.endpoint.versionId)).filter((v) => v !== null);
  throw new EndpointNotFoundError(
    `'${request.service}' has no endpoint with version '${request.version}' here; ${versions.length > 0 ? 'pass one of the available versions' : 'the catalog gives it no version: leave version out'}.`,
    'version',
    versions,
  );
}

/** The 409, with a hint for each narrowing that would tell the candidates apart, and only those. */
function ambiguity(asked: string, usable: (Candidate & { url: string })[]): AmbiguousEndpointError {
  const hints: string[] = [];
  const regions = distinct(usable.map((c) => c.endpoint.region));
  const versions = distinct(usable.map((c) => c.endpoint.versionId));
  const names = distinct(usable.map((c) => c.service.name));
  if (regions.length > 1) hints.push(`a region (${regions.filter((r) => r !== null).join(', ')})`);
  if (versions.length > 1) hints.push(`a version (${versions.filter((v) => v !== null).join(', ')})`);
  if (names.length > 1) hints.push(`a service name (${names.join(', ')})`);
  const detail =
    hints.length > 0
      ? `'${asked}' matches ${usable.length} endpoints; narrow it with ${hints.join(' or ')}.`
      : `'${asked}' matches ${usable.length} endpoints that the catalog does not tell apart (same service, region and version).`;
  return new AmbiguousEndpointError(
    detail,
    usable.map(({ service, endpoint, url }) => ({
      service: service.name,
      type: service.type,
      region: endpoint.region,
      ...(endpoint.versionId !== null && { version: endpoint.versionId }),
      url,
    })),
  );
}

const distinct = <T>(values: T[]): T[] => [...new Set(values)];
