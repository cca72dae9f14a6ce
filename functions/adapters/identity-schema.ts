import * as z from 'zod/mini';
import type { CatalogService } from '../core/catalog.ts';
import type { Token } from '../core/token.ts';

// Every string we use is trimmed here, once, at the boundary: the seeds show catalog values with trailing spaces.
const text = z.string().check(z.trim(), z.minLength(1));
const optionalText = z.optional(z.nullable(z.string().check(z.trim())));

const Endpoint = z.object({
  publicURL: text,
  internalURL: optionalText,
  region: optionalText,
  tenantId: optionalText,
  versionId: optionalText,
});

const Service = z.object({
  name: text,
  type: text,
  endpoints: z.array(Endpoint),
});

// Loose objects (z.object ignores unknown keys): Identity adds fields over time; we read only these.
const AccessJson = z.object({
  access: z.object({
    token: z.object({
      id: z.string().check(z.trim(), z.minLength(1), z.maxLength(4096)),
      expires: z.iso.datetime({ offset: true }),
      tenant: z.optional(z.nullable(z.object({ id: text, name: text }))),
    }),
    user: z.optional(z.nullable(z.object({ id: optionalText, 'RAX-AUTH:defaultRegion': optionalText }))),
    serviceCatalog: z.optional(z.nullable(z.array(Service))),
  }),
});

/** `""`, whitespace and absence all mean "none". */
const orNull = (value: string | null | undefined): string | null => (value ? value : null);

/**
 * Parses Identity's 200 answer into a {@link Token}, or `undefined` when it is not the JSON we
 * depend on. `expires` may carry `Z` or a `±hh:mm` offset; it is compared as an instant.
 *
 * @example
 * parseAccess(JSON.parse(body))?.expiresAt // epoch ms
 */
export function parseAccess(json: unknown): Token | undefined {
  const parsed = AccessJson.safeParse(json);
  if (!parsed.success) return undefined;
  const { token, user, serviceCatalog } = parsed.data.access;
  const catalog: CatalogService[] = (serviceCatalog ?? []).map((service) => ({
    name: service.name,
    type: service.type,
    endpoints: service.endpoints.map((e) => ({
      publicURL: e.publicURL,
      internalURL: orNull(e.internalURL),
      region: orNull(e.region),
      tenantId: orNull(e.tenantId),
      versionId: orNull(e.versionId),
    })),
  }));
  return {
    id: token.id,
    expiresAt: Date.parse(token.expires),
    tenant: token.tenant ?? null,
    defaultRegion: orNull(user?.['RAX-AUTH:defaultRegion']),
    catalog,
    userId: orNull(user?.id),
  };
}

/** The single key of a Rackspace error body names the fault: `{"unauthorized":{"code":401,"message":"…"}}`. */
export function faultName(json: unknown): string | undefined {
  if (json === null || typeof json !== 'object') return undefined;
  const [key] = Object.keys(json);
  return key && /^[A-Za-z]{1,40}$/.test(key) ? key : undefined;
}
