import { AmbiguousEndpointError, EndpointNotFoundError } from './errors.ts';

/** One endpoint of a parsed catalog: strings trimmed, an empty region already `null`. */
export interface CatalogEndpoint {
  publicURL: string;
  internalURL: string | null;
  region: string | null;
  tenantId: string | null;
}

export interface CatalogService {
  name: string;
  type: string;
  endpoints: CatalogEndpoint[];
}

export type Interface = 'public' | 'internal';

export interface EndpointRequest {
  /** A service `name` (`cloudFiles`) or `type` (`object-store`). */
  service: string;
  region?: string | undefined;
  interface: Interface;
}

export interface ResolvedEndpoint {
  url: string;
  service: string;
  type: string;
  region: string | null;
  interface: Interface;
  tenantId: string | null;
}

interface Candidate {
  service: CatalogService;
  endpoint: CatalogEndpoint;
}

/**
 * Picks the one endpoint a caller asked for. Pure: no I/O, no clock. The rules, each pinned by a
 * test in test/unit/catalog.test.ts:
 *
 * 1. **Service.** An exact `name` match wins; only when no service has that name is `type` tried
 *    (a type may match several services). Matching is case-sensitive: names are identifiers.
 * 2. **Region.** When a region is asked for, endpoints in it (compared case-insensitively); when
 *    none of the matching services has one there, their region-less (global) endpoints. When no
 *    region is asked for, endpoints in the user's default region, else region-less endpoints.
 *    Another region is never substituted.
 * 3. **Interface.** `public` uses `publicURL`; `internal` keeps only endpoints with an `internalURL`
 *    (ServiceNet). One never falls back to the other.
 * 4. **Outcome.** Exactly one endpoint left: it. None: {@link EndpointNotFoundError} naming the
 *    step that emptied the list and what exists there. Several: {@link AmbiguousEndpointError}
 *    listing them, since guessing between two services or two endpoints is the caller's call.
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
  const inRegion = selectRegion(all, request.region ?? defaultRegion);
  if (inRegion.length === 0) {
    const regions = [...new Set(all.map((c) => c.endpoint.region ?? 'global'))];
    const asked = request.region ? `region '${request.region}'` : defaultRegion ? `the default region '${defaultRegion}'` : 'no region';
    throw new EndpointNotFoundError(
      `'${request.service}' has no endpoint for ${asked} and no global endpoint; pass one of the available regions.`,
      'region',
      regions,
    );
  }
  const usable = inRegion.flatMap((c) => {
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
  if (!only || rest.length > 0) {
    throw new AmbiguousEndpointError(
      `'${request.service}' matches ${usable.length} endpoints; narrow it with a service name or a region.`,
      usable.map(({ service, endpoint }) => ({ service: service.name, type: service.type, region: endpoint.region })),
    );
  }
  const { service, endpoint, url } = only;
  return {
    url,
    service: service.name,
    type: service.type,
    region: endpoint.region,
    interface: request.interface,
    tenantId: endpoint.tenantId,
  };
}

function matchServices(catalog: readonly CatalogService[], wanted: string): CatalogService[] {
  const byName = catalog.filter((s) => s.name === wanted);
  const matched = byName.length > 0 ? byName : catalog.filter((s) => s.type === wanted);
  if (matched.length === 0) {
    throw new EndpointNotFoundError(
      `The catalog has no service named or typed '${wanted}'.`,
      'service',
      catalog.map((s) => ({ name: s.name, type: s.type })),
    );
  }
  return matched;
}

function selectRegion(candidates: Candidate[], region: string | null): Candidate[] {
  if (region !== null) {
    const wanted = region.toUpperCase();
    const regional = candidates.filter((c) => c.endpoint.region?.toUpperCase() === wanted);
    if (regional.length > 0) return regional;
  }
  return candidates.filter((c) => c.endpoint.region === null);
}
