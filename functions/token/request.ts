import * as z from 'zod/mini';
import type { EndpointRequest } from '../core/catalog.ts';
import { BadRequestError } from '../core/errors.ts';

export interface ParsedRequest {
  requestId: string;
  /** The IAM caller as API Gateway's aws_iam authorizer saw it; `null` when absent. */
  callerArn: string | null;
  profile: string;
}

export interface Query {
  minTtl: number;
  endpoint: EndpointRequest | null;
}

// Loose on purpose: API Gateway adds fields over time. Only what we read is checked. The query is
// taken as it is, not copied by zod: a copy would turn a `__proto__` key into a prototype and hide it
// from parseQuery, which must name every unknown key in its 400.
// One schema for both event shapes: the deployed REST API sends payload 1.0 (the caller in
// `requestContext.identity.userArn`, repeated query keys in `multiValueQueryStringParameters`);
// an HTTP API, and local tools written for it, send payload 2.0 (`requestContext.authorizer.iam`).
const text = z.optional(z.string());
const nullableText = z.optional(z.nullable(z.string()));
// Absent or null is settled by the wrappers before the check runs, so it never sees null.
const RawQuery = z.optional(z.nullable(z.custom<Record<string, unknown>>((value) => typeof value === 'object' && !Array.isArray(value))));
const Event = z.object({
  requestContext: z.optional(
    z.object({
      requestId: z.optional(z.string()),
      authorizer: z.optional(z.nullable(z.object({ iam: z.optional(z.nullable(z.object({ userArn: nullableText }))) }))),
      identity: z.optional(z.nullable(z.object({ userArn: nullableText }))),
    }),
  ),
  pathParameters: z.optional(z.nullable(z.object({ profile: text }))),
  queryStringParameters: RawQuery,
  multiValueQueryStringParameters: RawQuery,
});

/** The path parameter `profile`: what infra/profiles.json allows as a name. */
export const PROFILE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export interface QueryParameter {
  /** What a value must match; API Gateway joins a repeated key with commas, which fails it. */
  pattern: RegExp;
  /** Said back in a 400's detail: "must be …". */
  allowed: string;
  description: string;
  default: string | null;
}

/**
 * Every query parameter the route accepts, in one place: {@link parseQuery} checks against it and
 * the OpenAPI document is built from it. A name not here is a 400.
 */
export const QUERY_PARAMETERS = {
  service: {
    // Printable, inner spaces allowed (`Cloud DNS`), none at either end (catalog names are trimmed), at
    // most 64. No comma: that is how API Gateway joins a repeated key, which must stay a 400.
    pattern: /^[^\p{C}\p{Z},](?:[^\p{C}\p{Zl}\p{Zp},]{0,62}[^\p{C}\p{Z},])?$/u,
    allowed: "a catalog service name or type such as cloudFiles, 'Cloud DNS' or object-store: 1-64 printable characters (no comma), inner spaces allowed",
    description: 'Catalog service to resolve: exact `name`, else `type` (case-sensitive).',
    default: null,
  },
  region: { pattern: /^[A-Za-z0-9]{2,16}$/, allowed: 'a region code such as DFW (any case)', description: "Region code, case-insensitive; only with `service`.", default: "the user's default region" },
  interface: { pattern: /^(public|internal)$/, allowed: "'public' or 'internal'", description: '`public` or `internal` (ServiceNet); only with `service`.', default: 'public' },
  version: {
    pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/,
    allowed: "a catalog versionId such as 2 or 1.0 (exact)",
    description: "The catalog's `versionId`, matched exactly, when a service lists several versions; only with `service`.",
    default: null,
  },
  minTtl: { pattern: /^\d{1,5}$/, allowed: 'whole seconds from 60 to 3600', description: 'Seconds the token must stay valid.', default: '300' },
} as const satisfies Record<string, QueryParameter>;
const PARAMETERS = QUERY_PARAMETERS;
type Name = keyof typeof PARAMETERS;
const NAMES = Object.keys(PARAMETERS) as Name[];

/** Shown back to the caller inside `detail`: cut short and stripped of control characters. */
const quote = (text: string) => `'${text.slice(0, 40).replace(/[\p{C}]/gu, '?')}${text.length > 40 ? '…' : ''}'`;

/**
 * Reads an API Gateway event: REST API (payload 1.0, deployed) or HTTP API (payload 2.0). A shape
 * we cannot read is a 400, never a 500.
 *
 * @example
 * parseEvent(event) // → { requestId, callerArn: 'arn:aws:sts::…', profile: 'billing' }, plus the raw query
 */
export function parseEvent(event: unknown): ParsedRequest & { query: Record<string, unknown> } {
  const parsed = Event.safeParse(event);
  if (!parsed.success) throw new BadRequestError('The request is not an API Gateway REST API (payload 1.0) or HTTP API (payload 2.0) event.', 'event');
  const { requestContext, pathParameters, queryStringParameters, multiValueQueryStringParameters } = parsed.data;
  const profile = pathParameters?.profile ?? '';
  if (!PROFILE.test(profile)) {
    throw new BadRequestError(`Path parameter 'profile' must be 1-64 lower-case letters, digits, - or _; got ${quote(profile)}.`, 'profile');
  }
  return {
    requestId: requestContext?.requestId ?? 'unknown',
    callerArn: requestContext?.authorizer?.iam?.userArn ?? requestContext?.identity?.userArn ?? null,
    profile,
    query: joinRepeated(queryStringParameters ?? {}, multiValueQueryStringParameters),
  };
}

/**
 * Payload 1.0 keeps only the last value of a repeated key in `queryStringParameters`; payload 2.0
 * joins them with commas. Joining here too keeps a repeated parameter a 400 (it fails its pattern)
 * rather than silently taking one of the values.
 */
function joinRepeated(query: Record<string, unknown>, multi: Record<string, unknown> | null | undefined): Record<string, unknown> {
  if (!multi) return query;
  const repeated = Object.entries(multi).flatMap(([key, values]) =>
    Array.isArray(values) && values.length > 1 && values.every((v) => typeof v === 'string') ? [[key, values.join(',')] as const] : [],
  );
  // fromEntries defines own properties: a key named __proto__ stays a key, never a prototype.
  return Object.fromEntries([...Object.entries(query), ...repeated]);
}

/**
 * Validates the query strictly against {@link QUERY_PARAMETERS}: unknown parameters (`__proto__`
 * and `constructor` too), malformed values, and `region`/`interface`/`version` without `service`
 * (they would be ignored, which hides a caller's mistake) are all a 400 whose detail names the
 * parameter and what is allowed. API Gateway joins repeated keys with commas, so
 * a repeated parameter fails its pattern and is reported too.
 */
export function parseQuery(raw: Record<string, unknown>): Query {
  for (const key of Object.keys(raw)) {
    if (!Object.hasOwn(PARAMETERS, key)) {
      throw new BadRequestError(`Unknown query parameter ${quote(key)}; allowed: ${NAMES.join(', ')}.`, key.slice(0, 40));
    }
  }
  const value = (name: Name): string | undefined => {
    const given = Object.hasOwn(raw, name) ? raw[name] : undefined;
    if (given === undefined) return undefined;
    if (typeof given !== 'string' || !PARAMETERS[name].pattern.test(given)) {
      throw new BadRequestError(`Query parameter '${name}' must be ${PARAMETERS[name].allowed}; got ${quote(String(given))}.`, name);
    }
    return given;
  };
  const [service, region, iface, version, minTtlText] = [value('service'), value('region'), value('interface'), value('version'), value('minTtl')];
  const minTtl = minTtlText === undefined ? 300 : Number(minTtlText);
  if (minTtl < 60 || minTtl > 3600) throw new BadRequestError(`Query parameter 'minTtl' must be ${PARAMETERS.minTtl.allowed}; got ${minTtl}.`, 'minTtl');
  if (service === undefined) {
    const stray = region !== undefined ? 'region' : iface !== undefined ? 'interface' : version !== undefined ? 'version' : undefined;
    if (stray) throw new BadRequestError(`Query parameter '${stray}' applies only together with 'service'.`, stray);
    return { minTtl, endpoint: null };
  }
  // `region` and `version` may be undefined: EndpointRequest takes that as "not asked for".
  return { minTtl, endpoint: { service, region, interface: iface === 'internal' ? 'internal' : 'public', version } };
}
