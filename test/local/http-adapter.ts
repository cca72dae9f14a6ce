import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { MISSING_TOKEN, verify, type LocalKey, type SignedRequest } from './sigv4.ts';

/** The header that once impersonated a caller. Refused now: callers sign with a local key instead. */
export const RETIRED_CALLER_HEADER = 'x-local-caller-arn';

// `never` parameters accept any handler signature (middy's included); we call it as Lambda does.
type Handler = (event: never, context: never) => Promise<{ statusCode: number; headers?: Record<string, string>; body: string }>;

const RESOURCE = '/v1/profiles/{profile}/token';
const ROUTE = /^\/v1\/profiles\/([^/]+)\/token$/;
const STAGE = 'local';

export interface GatewayOptions {
  port: number;
  /** Access key id → key; the gateway verifies SigV4 against these. */
  keys: ReadonlyMap<string, LocalKey>;
  region: string;
  /** Every verified request arrives as this caller instead of its key's ARN (USE_REAL_SERVICES=1: the caller named at start). */
  fixedCaller?: string;
  now?: () => number;
}

/**
 * Serves a Lambda handler on 127.0.0.1 the way a REST API with AWS_IAM authorization calls it
 * (Lambda proxy integration, payload 1.0), answering what API Gateway answers before the function
 * runs: 403 "Missing Authentication Token" for an unknown resource or method or an unsigned
 * request, and the SigV4 refusals of {@link verify}. We chose this over serverless-offline: it
 * starts in milliseconds, has no build step, and checks signatures, which serverless-offline
 * cannot do for `aws_iam` (see TOOLCHAIN.md).
 *
 * It also refuses any `Host` that is not this machine's loopback name, so a web page that rebinds
 * its own DNS name to 127.0.0.1 cannot reach it from a browser.
 *
 * @example
 * const gateway = await serveLocally(handler, { port: 3000, keys, region: 'us-east-1' });
 * gateway.requests // how many requests reached the gateway
 */
export async function serveLocally(handler: Handler, options: GatewayOptions) {
  const now = options.now ?? Date.now;
  let requests = 0;
  let port = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    const requestId = randomUUID();
    // Nothing a request carries may stop the server: a throw here would leave the socket hanging and,
    // unhandled, end `npm start`. What the parsing below misses is the gateway's own fault: a 500.
    serve(req, res, requestId).catch(() => {
      if (res.headersSent) res.destroy();
      else gatewayAnswer(res, requestId, 500, null, 'Internal server error');
    });
  });

  // node:http hands CONNECT to this event and, with no listener, closes the socket unanswered.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    const body = JSON.stringify({ message: MISSING_TOKEN.message });
    socket.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\nx-amzn-requestid: ${randomUUID()}\r\nx-amzn-errortype: ${MISSING_TOKEN.errorType}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
  });

  async function serve(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const gateway = (status: number, errorType: string | null, message: string) => gatewayAnswer(res, requestId, status, errorType, message);
    const host = req.headers.host ?? '';
    if (!isLoopbackHost(host, port)) {
      gateway(403, null, `Host '${host.slice(0, 64)}' is not served here: this local gateway answers only 127.0.0.1:${port} or localhost:${port}.`);
      return;
    }
    const url = parseTarget(req.url ?? '', port);
    if (url === null) return void gateway(400, BAD_REQUEST.errorType, BAD_REQUEST.message);
    const route = ROUTE.exec(url.pathname);
    // A REST API answers 403 "Missing Authentication Token" for a resource or method it does not have.
    if (req.method !== 'GET' || !route) return void gateway(403, MISSING_TOKEN.errorType, MISSING_TOKEN.message);
    if (req.headers[RETIRED_CALLER_HEADER] !== undefined) {
      return void gateway(403, null, `${RETIRED_CALLER_HEADER} is not accepted: sign the request (SigV4, service execute-api) with a key npm start printed.`);
    }
    const signed: SignedRequest = { method: 'GET', rawPath: url.pathname, query: multiQuery(url), headers: req.headers };
    const verdict = await verify(signed, { keys: options.keys, region: options.region, now: now() });
    if (!verdict.ok) return void gateway(403, verdict.errorType, verdict.message);
    const callerArn = options.fixedCaller ?? verdict.key.arn;
    const event = restEvent(req, url, safeDecode(route[1] ?? ''), requestId, now(), { arn: callerArn, accessKey: verdict.key.accessKeyId });
    let result: Awaited<ReturnType<Handler>>;
    try {
      result = await handler(event as never, { awsRequestId: requestId } as never);
    } catch {
      // What API Gateway answers when the integration fails.
      return void gateway(502, null, 'Internal server error');
    }
    res.writeHead(result.statusCode, { ...result.headers, 'x-amzn-requestid': requestId }).end(result.body);
  }

  // A busy port is the caller's to report (npm start names PORT), not an uncaught 'error' event.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    get requests() {
      return requests;
    },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** API Gateway's answer to a request it cannot read (a target that is not a URL, say). */
export const BAD_REQUEST = { errorType: 'BadRequestException', message: 'Bad Request' } as const;

function gatewayAnswer(res: ServerResponse, requestId: string, status: number, errorType: string | null, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': requestId, ...(errorType && { 'x-amzn-errortype': errorType }) });
  res.end(JSON.stringify({ message }));
}

/**
 * The request target as a URL: origin-form (`/path?query`, taken literally, so `//x/y` stays a path)
 * or absolute-form (`http://host:port/path`, RFC 9112 §3.2.2), whose path and query are what is
 * served. Null for anything else, a port out of range included.
 */
export function parseTarget(target: string, port: number): URL | null {
  if (target.startsWith('/')) return URL.parse(`http://127.0.0.1:${port}${target}`);
  if (/^https?:\/\//i.test(target)) return URL.parse(target);
  return null;
}

/** `127.0.0.1:PORT` or `localhost:PORT` (any case); anything else may be a rebound DNS name. */
export function isLoopbackHost(host: string, port: number): boolean {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`]).has(host.toLowerCase());
}

/**
 * The query's pairs as SigV4 and API Gateway read them: percent-escapes decoded, a `+` left a literal
 * plus (the signer writes it %2B). URLSearchParams reads `+` as a space, so verifying with it
 * accepted a request whose bytes differ from what was signed.
 */
function queryPairs(url: URL): Array<[string, string]> {
  return url.search
    .slice(1)
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const at = part.indexOf('=');
      return at === -1 ? [safeDecode(part), ''] : [safeDecode(part.slice(0, at)), safeDecode(part.slice(at + 1))];
    });
}

/** Decoded query values, a repeated key's as an array: what the signer canonicalises. */
function multiQuery(url: URL): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = Object.create(null);
  for (const [key, value] of queryPairs(url)) {
    const seen = query[key];
    query[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return query;
}

/** A REST API Lambda proxy event (payload 1.0), the caller in `requestContext.identity` as AWS_IAM puts it. */
function restEvent(req: IncomingMessage, url: URL, profile: string, requestId: string, now: number, caller: { arn: string; accessKey: string }) {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  // A REST API keeps the last value of a repeated key in queryStringParameters, all of them in the multi-value map.
  for (const [key, value] of queryPairs(url)) {
    single[key] = value;
    (multi[key] ??= []).push(value);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value;
  const accountId = caller.arn.split(':')[4] ?? '';
  return {
    resource: RESOURCE,
    path: url.pathname,
    httpMethod: 'GET',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: Object.keys(single).length > 0 ? single : null,
    multiValueQueryStringParameters: Object.keys(multi).length > 0 ? multi : null,
    pathParameters: { profile },
    stageVariables: null,
    requestContext: {
      resourcePath: RESOURCE,
      httpMethod: 'GET',
      path: `/${STAGE}${url.pathname}`,
      stage: STAGE,
      requestId,
      requestTimeEpoch: now,
      protocol: 'HTTP/1.1',
      accountId: '000000000000',
      apiId: 'local',
      identity: {
        accountId,
        accessKey: caller.accessKey,
        caller: `AROALOCAL:${caller.arn.split('/').pop() ?? ''}`,
        user: `AROALOCAL:${caller.arn.split('/').pop() ?? ''}`,
        userArn: caller.arn,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: req.headers['user-agent'] ?? null,
      },
    },
    body: null,
    isBase64Encoded: false,
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
