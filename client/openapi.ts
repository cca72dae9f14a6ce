// `npm run openapi`: writes client/openapi.json from the schemas the handler and client use.
// Never edit the JSON by hand; test/integration/openapi.test.ts fails when it is out of date.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as z from 'zod/mini';
import { createDocument } from 'zod-openapi';
import pkg from '../package.json' with { type: 'json' };
import {
  AmbiguousEndpointError,
  BadRequestError,
  CredentialsOverprivilegedError,
  CredentialsUnusableError,
  EndpointNotFoundError,
  ForbiddenError,
  UpstreamUnavailableError,
} from '../functions/core/errors.ts';
import { problemResponse } from '../functions/core/problem.ts';
import { EndpointSchema, GatewayMessageSchema, ProblemBase, ProblemExtensions, TokenAnswerSchema } from '../functions/token/contract.ts';
import { PROFILE, QUERY_PARAMETERS } from '../functions/token/request.ts';

export const OPENAPI_FILE = fileURLToPath(new URL('./openapi.json', import.meta.url));

type Meta = Parameters<typeof z.globalRegistry.add>[1];
const meta = <T extends z.ZodMiniType>(schema: T, data: Meta): T => {
  z.globalRegistry.add(schema, data);
  return schema;
};

/**
 * Each problem the route can answer, as the handler writes it: type URN, title and status come
 * from the error itself. A status may have several problem types (502: unusable, overprivileged).
 */
function problems() {
  const examples: Array<[number, unknown]> = [
    [400, new BadRequestError("Query parameter 'interface' must be 'public' or 'internal'; got 'private'.", 'interface')],
    [403, new ForbiddenError('caller role not in the profile allowlist')],
    [404, new EndpointNotFoundError("'cloudFiles' has no endpoint for region 'syd' and no global endpoint; pass one of the available regions.", 'region', ['DFW', 'ORD', 'IAD'])],
    [409, new AmbiguousEndpointError("'compute' matches 2 endpoints; narrow it with a service name or a region.", [{ service: 'cloudServersOpenStack', type: 'compute', region: 'DFW' }])],
    [500, new Error('not shown')],
    [502, new CredentialsUnusableError('Rackspace Identity rejected the custodied credentials (HTTP 401).', { upstream: 'identity' })],
    [502, new CredentialsOverprivilegedError("The Rackspace user of profile 'files' holds account-management roles: identity:user-admin. …", ['identity:user-admin'])],
    [503, new UpstreamUnavailableError('Rackspace Identity is unavailable; try again shortly.', 5, { upstream: 'identity' })],
  ];
  const byStatus = new Map<number, Array<{ type: string; title: string } & Record<string, unknown>>>();
  for (const [status, error] of examples) {
    const body = JSON.parse(problemResponse(error).body) as { type: string; title: string } & Record<string, unknown>;
    byStatus.set(status, [...(byStatus.get(status) ?? []), body]);
  }
  return [...byStatus].map(([status, bodies]) => ({ status, bodies, body: bodies[0] as { type: string; title: string } & Record<string, unknown> }));
}

const WHEN: Record<number, string> = {
  400: 'A path or query parameter is malformed or unknown; `parameter` names it.',
  403: 'The service refused the caller (not in the profile\'s `allow`, or no such profile: one answer for both).',
  404: 'The catalog has no such service, region, version or interface; `missing` says which, `available` what there is.',
  409: 'Several endpoints match and nothing narrows them to one; `candidates` lists them.',
  500: 'An unexpected error; the detail is fixed and says nothing more.',
  502: 'Identity refused the custodied credentials, the secret is unusable, Identity\'s answer is unusable for the request (`credentials-unusable`), or the profile\'s Rackspace user holds roles the profile does not allow (`credentials-overprivileged`, `unexpectedRoles` names them): an operator must act.',
  503: 'Identity or Secrets Manager is unavailable or rate-limiting; retry after `Retry-After` seconds.',
};

let built: ReturnType<typeof createDocument> | undefined;

/** Built once per process: the schemas register their component ids globally, and an id names one schema. */
export function buildDocument() {
  built ??= build();
  return built;
}

function build() {
  meta(EndpointSchema, { id: 'Endpoint' });
  const query = z.object(
    Object.fromEntries(
      Object.entries(QUERY_PARAMETERS).map(([name, parameter]) => {
        // A default that is a value (`public`, `300`) is the schema's default; one that is a rule (the user's default region) is said in words.
        const literal = parameter.default !== null && parameter.pattern.test(parameter.default);
        const description = `${parameter.description} Must be ${parameter.allowed}.${parameter.default !== null && !literal ? ` Default: ${parameter.default}.` : ''}`;
        return [name, meta(z.optional(z.string().check(z.regex(parameter.pattern))), { description, ...(literal && { default: parameter.default }) })];
      }),
    ),
  );
  const path = z.object({ profile: meta(z.string().check(z.regex(PROFILE)), { description: 'A profile declared in infra/profiles.json.' }) });

  // The problem exactly as the handler writes it for this status: its type URN, title and status as
  // constants, and the extension members that problem carries; one of them when a status has several.
  const problemSchema = (status: number, body: { type: string; title: string } & Record<string, unknown>, id: string) => {
    const extensions = Object.fromEntries(Object.entries(ProblemExtensions).filter(([name]) => name in body));
    return meta(z.object({ ...ProblemBase, ...extensions, type: z.literal(body.type), title: z.literal(body.title), status: z.literal(status) }), { id });
  };
  const problemContent = (status: number, bodies: Array<{ type: string; title: string } & Record<string, unknown>>) => {
    const schemas = bodies.map((body, index) => problemSchema(status, body, index === 0 ? `Problem${status}` : `Problem${status}${pascal(body.type)}`));
    const [only] = schemas;
    return { 'application/problem+json': { schema: schemas.length === 1 && only ? only : z.union(schemas) } };
  };
  const responses: Record<string, unknown> = {
    '200': {
      description: 'The trimmed token and, when `service` was given, the one endpoint. Never cached (`Cache-Control: no-store`).',
      headers: z.object({
        'X-Token-Degraded': z.optional(meta(z.literal('true'), { description: 'Present when Identity is unavailable and a still-valid cached token is served (the body says `degraded: true`).' })),
        'Cache-Control': z.literal('no-store'),
      }),
      content: { 'application/json': { schema: meta(TokenAnswerSchema, { id: 'TokenAnswer' }) } },
    },
  };
  for (const { status, body, bodies } of problems()) {
    const response: Record<string, unknown> = { description: `${body.title}: ${WHEN[status]}`, content: problemContent(status, bodies) };
    if (status === 503) {
      response.headers = z.object({ 'Retry-After': meta(z.string().check(z.regex(/^\d+$/)), { description: 'Seconds to wait before asking again.' }) });
    }
    if (status === 403) {
      response.description = `${body.title}: ${WHEN[status]} API Gateway's own refusal (unsigned, badly signed or expired signature, no execute-api:Invoke) is plain JSON instead, with \`x-amzn-ErrorType\`.`;
      response.content = { ...problemContent(status, bodies), 'application/json': { schema: meta(GatewayMessageSchema, { id: 'GatewayMessage' }) } };
    }
    responses[String(status)] = response;
  }

  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'rackspace-token-vendor',
      version: pkg.version,
      description: 'Vends trimmed Rackspace Identity tokens and one service endpoint to IAM-authorized callers. Generated by `npm run openapi` from the zod schemas the handler uses; do not edit.',
    },
    components: {
      securitySchemes: {
        sigv4: { type: 'apiKey', name: 'Authorization', in: 'header', 'x-amazon-apigateway-authtype': 'awsSigv4', description: 'AWS SigV4, service `execute-api` (API Gateway REST API with AWS_IAM authorization).' },
      },
    },
    security: [{ sigv4: [] }],
    paths: {
      '/v1/profiles/{profile}/token': {
        get: {
          operationId: 'getToken',
          summary: 'A token (and one endpoint) for a profile',
          requestParams: { path, query },
          responses: responses as never,
        },
      },
    },
  });
}

/** `urn:…:problem:credentials-overprivileged` → `CredentialsOverprivileged`, for a component id. */
function pascal(type: string): string {
  return (type.split(':').pop() ?? type).split('-').map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join('');
}

/** The document as committed: stable key order, two-space indent, final newline. */
export function documentText(): string {
  return `${JSON.stringify(buildDocument(), null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(OPENAPI_FILE, documentText());
  console.log(`wrote ${OPENAPI_FILE}`);
}
