import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The caller header this adapter honours. It exists only here, in test/: the deployed bundle never sees it. */
export const CALLER_HEADER = 'x-local-caller-arn';

// `never` parameters accept any handler signature (middy's included); we call it as Lambda does.
type Handler = (event: never, context: never) => Promise<{ statusCode: number; headers?: Record<string, string>; body: string }>;

const ROUTE = /^\/v1\/profiles\/([^/]*)\/token$/;

/**
 * Serves a Lambda handler the way API Gateway's HTTP API would call it (payload 2.0), on
 * 127.0.0.1. We chose this over serverless-offline: it starts in milliseconds, has no build
 * step, and simulates the IAM caller with one header instead of patching an authorizer
 * serverless-offline cannot run (it crashes on `aws_iam`; see TOOLCHAIN.md).
 *
 * @example
 * const { url, close } = await serveLocally(handler, { port: 3000, defaultCaller: 'arn:aws:sts::…' });
 */
export async function serveLocally(handler: Handler, options: { port: number; defaultCaller: string | null }): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = ROUTE.exec(url.pathname);
    if (req.method !== 'GET' || !route) {
      // What API Gateway answers for a route it does not have.
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      return;
    }
    // API Gateway joins repeated query keys with commas; do the same so validation sees what production sees.
    const query: Record<string, string> = {};
    for (const [key, value] of url.searchParams) query[key] = key in query ? `${query[key]},${value}` : value;
    const caller = req.headers[CALLER_HEADER];
    const callerArn = typeof caller === 'string' ? caller : options.defaultCaller;
    const requestId = randomUUID();
    const event = {
      version: '2.0',
      routeKey: 'GET /v1/profiles/{profile}/token',
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers: req.headers,
      queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
      pathParameters: { profile: safeDecode(route[1] ?? '') },
      requestContext: {
        requestId,
        http: { method: 'GET', path: url.pathname },
        authorizer: callerArn ? { iam: { userArn: callerArn, accountId: callerArn.split(':')[4] } } : undefined,
      },
      isBase64Encoded: false,
    };
    try {
      const result = await handler(event as never, { awsRequestId: requestId } as never);
      res.writeHead(result.statusCode, result.headers).end(result.body);
    } catch {
      // What API Gateway answers when the integration fails.
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"Internal Server Error"}');
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
