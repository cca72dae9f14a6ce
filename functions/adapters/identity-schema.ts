import * as z from 'zod/mini';
import type { CatalogEndpoint, CatalogService } from '../core/catalog.ts';
import type { Token } from '../core/token.ts';

// Only the token itself is required of Identity's answer (`id`, a parseable `expires`). Everything
// else is read entry by entry: one unusable catalog entry is skipped and noted, never a reason to
// fail every caller. Strings are trimmed here, once: real answers carry trailing spaces.
const TokenPart = z.object({
  access: z.object({
    token: z.object({ id: z.string().check(z.trim(), z.minLength(1), z.maxLength(4096)), expires: z.string() }),
  }),
});
const Text = z.string().check(z.trim(), z.minLength(1));
/** Identifiers come as strings, sometimes as JSON numbers (`"tenantId": 123456`): read as the decimal string. */
const Id = z.union([Text, z.pipe(z.number().check(z.int(), z.nonnegative()), z.transform(String))]);
const Version = z.union([Text, z.pipe(z.number().check(z.nonnegative()), z.transform(String))]);
const Entry = z.record(z.string(), z.unknown());

// Rackspace writes `-05:00`; some Identity deployments and proxies write `-0500` or `+0000`.
// No anchor: in an instant, a sign and four digits can only be that offset, at its end; anywhere
// else the text fails ISO_INSTANT with or without the colon. `\d\d`, not `\d{2}`: unanchored, the
// quantifier decides nothing (a last group of one digit rewrites `-0500` the same).
const ISO_INSTANT = z.iso.datetime({ offset: true });
const BARE_OFFSET = /([+-]\d\d)(\d\d)/;

/** `undefined`, `null` and `""` mean "none"; a usable value is trimmed; anything else is unusable. */
function optional<T>(schema: z.ZodMiniType<T>, value: unknown): { value: T | null } | undefined {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return { value: null };
  const parsed = schema.safeParse(value);
  return parsed.success ? { value: parsed.data } : undefined;
}

const MAX_NOTES = 20;

/** What was left out, for one log line: paths, catalog names and counts, never values. Bounded. */
class Notes {
  readonly #entries: string[] = [];
  #more = 0;
  add(what: string): void {
    if (this.#entries.length < MAX_NOTES) this.#entries.push(what);
    else this.#more++;
  }
  list(): string[] {
    return this.#more > 0 ? [...this.#entries, `… and ${this.#more} more`] : this.#entries;
  }
}

/**
 * Parses Identity's 200 answer into a {@link Token}, or `undefined` when the token itself is not
 * there (no `access.token.id`, or an `expires` that is not an ISO 8601 instant with `Z` or an
 * offset, `-05:00` or `-0500`). Unusable catalog entries, tenant or user fields are skipped and
 * listed in `token.skipped`.
 *
 * @example
 * parseAccess(JSON.parse(body))?.expiresAt // epoch ms
 */
export function parseAccess(json: unknown): Token | undefined {
  const parsed = TokenPart.safeParse(json);
  if (!parsed.success) return undefined;
  const expiresAt = parseExpires(parsed.data.access.token.expires);
  if (expiresAt === undefined) return undefined;
  const access = json as { access: Record<string, unknown> & { token: Record<string, unknown> } };
  const notes = new Notes();
  const token: Token = {
    id: parsed.data.access.token.id,
    expiresAt,
    tenant: readTenant(access.access.token.tenant, notes),
    defaultRegion: readDefaultRegion(access.access.user, notes),
    catalog: readCatalog(access.access.serviceCatalog, notes),
    userId: readUserId(access.access.user),
    roles: readRoles(access.access.user, notes),
  };
  if (access.access.serviceCatalog !== undefined && access.access.serviceCatalog !== null && !Array.isArray(access.access.serviceCatalog)) {
    token.catalogFault = 'serviceCatalog is not a list';
  }
  const skipped = notes.list();
  if (skipped.length > 0) token.skipped = skipped;
  return token;
}

function parseExpires(text: string): number | undefined {
  const normal = text.trim().replace(BARE_OFFSET, '$1:$2');
  if (!ISO_INSTANT.safeParse(normal).success) return undefined;
  const instant = Date.parse(normal);
  return Number.isFinite(instant) ? instant : undefined;
}

function readTenant(value: unknown, notes: Notes): Token['tenant'] {
  if (value === undefined || value === null) return null;
  const tenant = Entry.safeParse(value);
  const id = tenant.success ? optional(Id, tenant.data.id) : undefined;
  if (!tenant.success || !id || id.value === null) {
    notes.add('token.tenant (no usable id)');
    return null;
  }
  const name = optional(Id, tenant.data.name);
  if (!name) notes.add('token.tenant.name (not a string)');
  return { id: id.value, name: name?.value ?? null };
}

function readDefaultRegion(value: unknown, notes: Notes): string | null {
  if (value === undefined || value === null) return null;
  const user = Entry.safeParse(value);
  const region = user.success ? optional(Text, user.data['RAX-AUTH:defaultRegion']) : undefined;
  if (!region) notes.add('user.RAX-AUTH:defaultRegion (not a string)');
  return region?.value ?? null;
}

/** Only the rotation function needs it, and it says so itself when it is missing: no note here. */
function readUserId(value: unknown): string | null {
  const user = Entry.safeParse(value);
  return user.success ? (optional(Id, user.data.id)?.value ?? null) : null;
}

/** The names of the user's roles; `null` without a roles list (the role guard then refuses: it cannot check). */
function readRoles(value: unknown, notes: Notes): string[] | null {
  const user = Entry.safeParse(value);
  const roles = user.success ? user.data.roles : undefined;
  if (!Array.isArray(roles)) return null;
  const names = roles.flatMap((role: unknown, index): string[] => {
    const entry = Entry.safeParse(role);
    const name = entry.success ? Text.safeParse(entry.data.name) : undefined;
    if (name?.success) return [name.data];
    notes.add(`user.roles[${index}] (no usable name)`);
    return [];
  });
  return [...new Set(names)];
}

function readCatalog(value: unknown, notes: Notes): CatalogService[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    notes.add('serviceCatalog (not a list)');
    return [];
  }
  return value.flatMap((item: unknown, index): CatalogService[] => {
    // An entry that is no object at all has no usable field either.
    const service = Entry.safeParse(item);
    const fields: Record<string, unknown> = service.success ? service.data : {};
    const name = Text.safeParse(fields.name);
    const type = Text.safeParse(fields.type);
    const endpoints = Array.isArray(fields.endpoints) ? fields.endpoints : undefined;
    if (!name.success || !type.success || !endpoints) {
      const missing = [!name.success && 'name', !type.success && 'type', !endpoints && 'endpoints'].filter(Boolean).join(', ');
      notes.add(`serviceCatalog[${index}]${name.success ? ` '${name.data}'` : ''} (no usable ${missing})`);
      return [];
    }
    const usable = endpoints.flatMap((endpoint: unknown) => readEndpoint(endpoint));
    if (usable.length < endpoints.length) notes.add(`'${name.data}': ${endpoints.length - usable.length} of ${endpoints.length} endpoints (no usable publicURL, or a region that is not a string)`);
    return [{ name: name.data, type: type.data, endpoints: usable }];
  });
}

function readEndpoint(value: unknown): CatalogEndpoint[] {
  const endpoint = Entry.safeParse(value);
  if (!endpoint.success) return [];
  const { publicURL, internalURL, region, tenantId, versionId, version } = endpoint.data;
  const url = Text.safeParse(publicURL);
  const where = optional(Text, region);
  if (!url.success || !where) return [];
  // Older answers nest it: `"version": { "versionId": "1.0", … }` (libcloud's Rackspace fixtures).
  const nested = Entry.safeParse(version);
  return [
    {
      publicURL: url.data,
      internalURL: optional(Text, internalURL)?.value ?? null,
      region: where.value,
      tenantId: optional(Id, tenantId)?.value ?? null,
      versionId: optional(Version, versionId ?? (nested.success ? nested.data.versionId : undefined))?.value ?? null,
    },
  ];
}

/** The single key of a Rackspace error body names the fault: `{"unauthorized":{"code":401,"message":"…"}}`. */
export function faultName(json: unknown): string | undefined {
  if (json === null || typeof json !== 'object') return undefined;
  const [key] = Object.keys(json);
  return key && /^[A-Za-z]{1,40}$/.test(key) ? key : undefined;
}

/** A body as JSON, or undefined when it is not JSON (an HTML error page, an empty body). */
export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON: answered as undefined below.
  }
  return undefined;
}
