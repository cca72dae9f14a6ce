import * as z from 'zod/mini';

// The route's answers as zod schemas: the OpenAPI document (client/openapi.ts) is generated from
// them, the client parses answers with them, and test/integration/openapi.test.ts holds the
// handler's real answers to them. The handler itself builds its answers field by field
// (answer.ts, core/problem.ts) for speed, so that test is what keeps both in step.

export const EndpointSchema = z.object({
  url: z.string(),
  service: z.string(),
  type: z.string(),
  region: z.nullable(z.string()),
  interface: z.enum(['public', 'internal']),
  tenantId: z.nullable(z.string()),
  version: z.optional(z.string()),
});

export const TokenAnswerSchema = z.object({
  token: z.string(),
  expiresAt: z.iso.datetime(),
  expiresIn: z.number().check(z.int(), z.nonnegative()),
  tenant: z.nullable(z.object({ id: z.string(), name: z.nullable(z.string()) })),
  endpoint: z.optional(EndpointSchema),
  degraded: z.optional(z.literal(true)),
});

/** RFC 9457 members every problem of this service has. */
export const ProblemBase = { type: z.string(), title: z.string(), status: z.number().check(z.int()), detail: z.string() };

/** The extension members, each carried by one kind of problem (400, 404, 404, 409, 502 credentials-overprivileged). */
export const ProblemExtensions = {
  parameter: z.string(),
  missing: z.enum(['service', 'region', 'interface', 'version']),
  available: z.array(z.unknown()),
  candidates: z.array(z.unknown()),
  unexpectedRoles: z.array(z.string()),
};

/** API Gateway's own refusal (before the function runs): plain JSON, no problem type. */
export const GatewayMessageSchema = z.object({ message: z.string() });
