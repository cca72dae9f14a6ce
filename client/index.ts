import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, SourceData } from '@smithy/types';
import type * as z from 'zod/mini';
import { TokenAnswerSchema } from '../functions/token/contract.ts';
import { TokenVendorError, UnavailableError, errorFromAnswer } from './errors.ts';

export * from './errors.ts';

export interface TokenClientOptions {
  /** The API's base URL, stage included: `https://ID.execute-api.REGION.amazonaws.com/prod`. */
  url: string;
  /** AWS region to sign for. Default: the region in an execute-api host name, else AWS_REGION / AWS_DEFAULT_REGION. */
  region?: string;
  /**
   * AWS credentials or a provider of them, such as the SDK's `fromNodeProviderChain()` or a client's
   * `config.credentials`. Default: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, read
   * at each request (Lambda and most CI runners set them), so the SDK's provider chain is not bundled.
   */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** The longest Retry-After the client waits for its one retry of a 503 (default 10 s); longer → UnavailableError at once. */
  maxRetryWaitMs?: number;
  /** One HTTP request's limit (default 10 s). */
  timeoutMs?: number;
  /**
   * The most bytes of one answer's body the client reads (default 1 MiB; a token answer is about
   * 1 KiB, the longest problem a few KiB). A longer answer → TokenVendorError "Answer too large",
   * and the connection is dropped there rather than the whole body buffered.
   */
  maxAnswerBytes?: number;
  /** For tests: the clock the reuse decision reads, and the wait before a retry. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface TokenRequest {
  /** Catalog service name or type (`cloudFiles`, `object-store`); none → token only. */
  service?: string;
  /** Rackspace region code (`DFW`), any case. */
  region?: string;
  interface?: 'public' | 'internal';
  /** The catalog's `versionId`, matched exactly, when a service lists several versions. */
  version?: string;
  /** Seconds the token must stay valid, 60–3600 (default 300). A cached answer is reused until `expiresAt − minTtl`. */
  minTtl?: number;
}

/** The service's 200 answer, as JSON. `expiresIn` is recomputed on every reuse. */
export type TokenAnswer = z.infer<typeof TokenAnswerSchema>;

export interface TokenClient {
  getToken(profile: string, request?: TokenRequest): Promise<TokenAnswer>;
  /** Forgets every reused answer (after rotating something, or in tests). */
  clear(): void;
}

const DEFAULT_MIN_TTL = 300;
const DEFAULT_MAX_ANSWER_BYTES = 1024 * 1024;

/** SHA-256 (HMAC when given a secret) from node:crypto, in the shape the SDK's signer takes. */
class Sha256 extends Hash {
  constructor(secret?: SourceData) {
    super('sha256', secret);
  }
}

/**
 * A client for `GET /v1/profiles/{profile}/token`: signs with SigV4 (service execute-api), reuses an
 * answer per profile and endpoint request until `expiresAt − minTtl`, lets concurrent callers share
 * one request, retries a 503 once after its Retry-After, and throws typed errors.
 *
 * @example
 * const tokens = createTokenClient({ url: process.env.RACKSPACE_TOKEN_URL! });
 * const { token, endpoint } = await tokens.getToken('billing', { service: 'cloudFiles', region: 'ORD', interface: 'internal' });
 */
export function createTokenClient(options: TokenClientOptions): TokenClient {
  const base = new URL(options.url);
  const region = options.region ?? regionFromHost(base.hostname) ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new TypeError('createTokenClient: no AWS region to sign for; pass `region` or set AWS_REGION.');
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const maxRetryWaitMs = options.maxRetryWaitMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxAnswerBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
  const signer = new SignatureV4({ service: 'execute-api', region, credentials: options.credentials ?? credentialsFromEnvironment, sha256: Sha256, applyChecksum: false });

  const reusable = new Map<string, { answer: TokenAnswer; expiresAtMs: number }>();
  const inFlight = new Map<string, Promise<{ answer: TokenAnswer; expiresAtMs: number }>>();

  async function fetchOnce(profile: string, query: Record<string, string>) {
    const path = `${base.pathname.replace(/\/+$/, '')}/v1/profiles/${encodeURIComponent(profile)}/token`;
    const signed = await signer.sign({
      method: 'GET',
      protocol: base.protocol,
      hostname: base.hostname,
      ...(base.port && { port: Number(base.port) }),
      path,
      query,
      headers: { host: base.host },
    });
    // The query exactly as SigV4 canonicalises it (a space is %20): URLSearchParams would send `+`,
    // which API Gateway reads as a literal plus, so the signature would not match what arrives.
    const search = Object.entries(query).map(([name, value]) => `${uriEscape(name)}=${uriEscape(value)}`).join('&');
    const url = new URL(`${path}${search && `?${search}`}`, base);
    let response: Response;
    try {
      response = await fetch(url, { headers: signed.headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
      const text = await readBounded(response, maxAnswerBytes);
      if (text !== null) return { status: response.status, headers: response.headers, text };
    } catch (error) {
      throw new UnavailableError(0, 'Token vendor unreachable', `No answer from ${base.host}: ${describe(error)}`, { cause: error });
    }
    throw new TokenVendorError(response.status, 'Answer too large', `The answer from ${base.host} (HTTP ${response.status}) is longer than ${maxAnswerBytes} bytes; the client stopped reading it.`);
  }

  async function request(profile: string, query: Record<string, string>) {
    for (let attempt = 1; ; attempt++) {
      const { status, headers, text } = await fetchOnce(profile, query);
      if (status === 200) {
        const parsed = TokenAnswerSchema.safeParse(safeJson(text));
        if (!parsed.success) throw new TokenVendorError(200, 'Unexpected answer', 'The 200 answer is not a token answer.');
        return { answer: parsed.data, expiresAtMs: Date.parse(parsed.data.expiresAt) };
      }
      const retryAfter = retryAfterSeconds(headers.get('retry-after'), now());
      const error = errorFromAnswer(status, headers, text, retryAfter);
      const waitMs = (retryAfter ?? 1) * 1000;
      if (!(error instanceof UnavailableError) || attempt > 1 || waitMs > maxRetryWaitMs) throw error;
      await sleep(waitMs);
    }
  }

  return {
    async getToken(profile, wanted = {}) {
      const minTtl = wanted.minTtl ?? DEFAULT_MIN_TTL;
      const query: Record<string, string> = {};
      if (wanted.service !== undefined) query.service = wanted.service;
      if (wanted.region !== undefined) query.region = wanted.region;
      if (wanted.interface !== undefined) query.interface = wanted.interface;
      if (wanted.version !== undefined) query.version = wanted.version;
      // One key per profile and endpoint request; region codes are case-insensitive.
      const key = JSON.stringify([profile, wanted.service ?? null, wanted.region?.toUpperCase() ?? null, wanted.interface ?? 'public', wanted.version ?? null]);
      const fresh = (entry: { expiresAtMs: number } | undefined) => entry !== undefined && now() < entry.expiresAtMs - minTtl * 1000;
      const view = (entry: { answer: TokenAnswer; expiresAtMs: number }): TokenAnswer => ({ ...entry.answer, expiresIn: Math.max(0, Math.floor((entry.expiresAtMs - now()) / 1000)) });

      const cached = reusable.get(key);
      if (fresh(cached)) return view(cached!);
      const shared = inFlight.get(key);
      if (shared) {
        const entry = await shared;
        if (fresh(entry)) return view(entry);
      }
      const flight = request(profile, { ...query, minTtl: String(minTtl) });
      inFlight.set(key, flight);
      try {
        const entry = await flight;
        reusable.set(key, entry);
        return view(entry);
      } finally {
        if (inFlight.get(key) === flight) inFlight.delete(key);
      }
    },
    clear() {
      reusable.clear();
    },
  };
}

/** `abc.execute-api.eu-west-1.amazonaws.com` → `eu-west-1`; a custom domain or localhost → undefined. */
export function regionFromHost(hostname: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(hostname)?.[1];
}

async function credentialsFromEnvironment(): Promise<AwsCredentialIdentity> {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = process.env;
  if (!accessKeyId || !secretAccessKey) {
    throw new TokenVendorError(0, 'No AWS credentials', 'Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass `credentials` (for example fromNodeProviderChain() from @aws-sdk/credential-providers).');
  }
  return { accessKeyId, secretAccessKey, ...(sessionToken && { sessionToken }) };
}

/** The body as text, or null once it passes `limit` bytes (the rest is never read: the stream is cancelled). */
async function readBounded(response: Response, limit: number): Promise<string | null> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) {
    await response.body?.cancel();
    return null;
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    // Breaking out of the loop cancels the stream, which closes the connection.
    if (size > limit) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** RFC 3986 percent-encoding, as SigV4 wants it: everything but A-Z a-z 0-9 - . _ ~ escaped. */
function uriEscape(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Retry-After as seconds: a number, or an HTTP date relative to `now`. */
function retryAfterSeconds(header: string | null, now: number): number | null {
  if (header === null) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/** fetch says "fetch failed" and hides the reason (ECONNREFUSED, a timeout…) in its cause. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  return cause && typeof cause === 'object' ? `${error.message} (${String(cause.code ?? cause.message)})` : error.message;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
