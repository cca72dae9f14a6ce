import { DEMO_CALLER } from '../local/demo.ts';
import { observeAnswer } from './leak-guard.ts';

let counter = 0;

/** An API Gateway HTTP API (payload 2.0) event for the token route, as the IAM authorizer passes it. */
export function tokenEvent(options: { profile?: string; query?: Record<string, string>; caller?: string | null; remainingMs?: number } = {}) {
  const caller = options.caller === undefined ? DEMO_CALLER : options.caller;
  const requestId = `req-${++counter}`;
  return {
    event: {
      version: '2.0',
      routeKey: 'GET /v1/profiles/{profile}/token',
      pathParameters: { profile: options.profile ?? 'demo' },
      queryStringParameters: options.query,
      requestContext: { requestId, authorizer: caller === null ? undefined : { iam: { userArn: caller } } },
    },
    // `remainingMs`: what Lambda's context.getRemainingTimeInMillis() answers (absent: not in Lambda).
    context: { awsRequestId: requestId, ...(options.remainingMs !== undefined && { getRemainingTimeInMillis: () => options.remainingMs as number }) },
  };
}

/**
 * The same request as the deployed REST API passes it (payload 1.0, AWS_IAM): the caller in
 * `requestContext.identity`, repeated query keys in `multiValueQueryStringParameters`.
 */
export function restTokenEvent(options: { profile?: string; query?: Record<string, string>; caller?: string | null } = {}) {
  const caller = options.caller === undefined ? DEMO_CALLER : options.caller;
  const requestId = `rest-${++counter}`;
  const query = options.query ?? null;
  return {
    event: {
      resource: '/v1/profiles/{profile}/token',
      path: `/v1/profiles/${options.profile ?? 'demo'}/token`,
      httpMethod: 'GET',
      pathParameters: { profile: options.profile ?? 'demo' },
      queryStringParameters: query,
      multiValueQueryStringParameters: query && Object.fromEntries(Object.entries(query).map(([key, value]) => [key, [value]])),
      requestContext: {
        requestId,
        stage: 'prod',
        authorizer: null,
        identity: { userArn: caller, accountId: caller?.split(':')[4] ?? null, sourceIp: '192.0.2.10' },
      },
    },
    context: { awsRequestId: requestId },
  };
}

type Invocable = (event: unknown, context: never) => Promise<{ statusCode: number; headers: Record<string, string>; body: string }>;

/** Invokes a handler and parses the answer's body. */
export async function call(handler: unknown, options: Parameters<typeof tokenEvent>[0] = {}) {
  const { event, context } = tokenEvent(options);
  const response = await (handler as Invocable)(event, context as never);
  observeAnswer('answer', response);
  return { ...response, json: JSON.parse(response.body) as Record<string, any> };
}

/** The `audit` objects among the structured log lines a demo's sink collected, in order. */
export function auditsIn(lines: readonly string[]): Array<Record<string, any>> {
  return lines.map((line) => JSON.parse(line) as { audit?: Record<string, any> }).flatMap((line) => (line.audit ? [line.audit] : []));
}
