import { UpstreamUnavailableError, VendError } from './errors.ts';

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

// A URN names the problem kind without pretending to be a page someone can open.
const TYPE_BASE = 'urn:rackspace-token-vendor:problem:';
const NO_STORE = 'no-store';

/** A JSON answer that no cache may keep: every answer of this service holds or concerns a token. */
export function jsonTextResponse(statusCode: number, text: string, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { 'content-type': 'application/json', 'cache-control': NO_STORE, ...headers }, body: text };
}

/**
 * RFC 9457 problem+json for any thrown value. Our own errors keep their detail (we wrote it and it
 * never holds a secret); anything else becomes a fixed 500 body, so no message or stack can leak.
 */
export function problemResponse(error: unknown): HttpResponse {
  const headers: Record<string, string> = {
    'content-type': 'application/problem+json',
    'cache-control': NO_STORE,
  };
  if (!(error instanceof VendError)) {
    const body = { type: `${TYPE_BASE}internal`, title: 'Internal error', status: 500, detail: 'An unexpected error occurred.' };
    return { statusCode: 500, headers, body: JSON.stringify(body) };
  }
  if (error instanceof UpstreamUnavailableError) headers['retry-after'] = String(error.retryAfterSeconds);
  const body = {
    type: `${TYPE_BASE}${error.slug}`,
    title: error.title,
    status: error.status,
    detail: error.message,
    ...error.extensions,
  };
  return { statusCode: error.status, headers, body: JSON.stringify(body) };
}
