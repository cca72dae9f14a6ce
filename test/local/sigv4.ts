import { timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4, createScope, getCanonicalHeaders, getPayloadHash, getSigningKey } from '@smithy/signature-v4';
import type { HttpRequest, SourceData } from '@smithy/types';

/**
 * SigV4 verification as API Gateway's IAM authorization does it for a REST API: recompute the
 * signature with the caller's secret and compare. The crypto (canonical request, signing key,
 * HMAC) is @smithy/signature-v4's, the same code the AWS SDK signs with; this file only parses the
 * Authorization header, picks the answer, and writes API Gateway's wording.
 *
 * The wording of every refusal is API Gateway's own, as callers see it from a deployed REST API
 * (AWS knowledge-center pages on "Missing Authentication Token" and SigV4 signature mismatches, and
 * the bodies quoted in SDK issue threads). Each is 403 with `{"message": …}` and the error type in
 * `x-amzn-ErrorType`.
 */

export const SERVICE = 'execute-api';

/** SHA-256 (HMAC when given a secret) with node:crypto underneath, in the shape the signer takes. */
export class Sha256 extends Hash {
  constructor(secret?: SourceData) {
    super('sha256', secret);
  }
}
/** How far x-amz-date may be from the gateway's clock, either way (AWS: 5 minutes). */
export const SKEW_MS = 5 * 60_000;

export interface LocalKey {
  accessKeyId: string;
  secretAccessKey: string;
  /** The caller API Gateway would report: `arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`. */
  arn: string;
}

export interface SignedRequest {
  method: string;
  /** The path as sent, still percent-encoded. */
  rawPath: string;
  /** Decoded query values, repeated keys as arrays (what SigV4's canonical query sorts). */
  query: Record<string, string | string[]>;
  /** Lower-case names, as node:http gives them. */
  headers: Record<string, string | string[] | undefined>;
}

export type Refusal = { ok: false; errorType: string; message: string };
export type Verdict = { ok: true; key: LocalKey } | Refusal;

export const MISSING_TOKEN: Refusal = { ok: false, errorType: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/**
 * @example
 * await verify(request, { keys, region: 'us-east-1', now: Date.now() }) // → { ok: true, key } or a refusal
 */
export async function verify(request: SignedRequest, options: { keys: ReadonlyMap<string, LocalKey>; region: string; now: number }): Promise<Verdict> {
  const authorization = single(request.headers.authorization);
  if (authorization === undefined) return MISSING_TOKEN;
  const parsed = parseAuthorization(authorization, single(request.headers['x-amz-date']));
  if ('missing' in parsed) {
    return { ok: false, errorType: 'IncompleteSignatureException', message: `${parsed.missing.join(' ')} Authorization=${authorization}` };
  }
  const { accessKeyId, date, region, service, signedHeaders, signature, amzDate } = parsed;
  const key = options.keys.get(accessKeyId);
  if (!key) return { ok: false, errorType: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  if (service !== SERVICE) return invalid(`Credential should be scoped to correct service: '${SERVICE}'. `);
  if (region !== options.region) return invalid(`Credential should be scoped to a valid region, not '${region}'. `);
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === null || amzDate.slice(0, 8) !== date) return invalid(`Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`);
  if (signedAt < options.now - SKEW_MS) {
    return invalid(`Signature expired: ${amzDate} is now earlier than ${longDate(options.now - SKEW_MS)} (${longDate(options.now)} - 5 min.)`);
  }
  if (signedAt > options.now + SKEW_MS) {
    return invalid(`Signature not yet current: ${amzDate} is still later than ${longDate(options.now + SKEW_MS)} (${longDate(options.now)} + 5 min.)`);
  }
  if (!signedHeaders.includes('host')) return invalid(`'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.`);

  const expected = await recompute(request, key, { amzDate, region, signedHeaders });
  const given = Buffer.from(signature, 'utf8');
  const wanted = Buffer.from(expected.signature, 'utf8');
  // The signer builds the canonical request from the headers it finds, so a name in SignedHeaders
  // that was not sent would silently drop out of it: the caller signed something else.
  const allSent = signedHeaders.every((name) => Object.hasOwn(request.headers, name));
  if (allSent && given.length === wanted.length && timingSafeEqual(given, wanted)) return { ok: true, key };
  // A REST API tells the caller what it signed, so a client author can find the difference.
  return invalid(`${MISMATCH}\n\nThe Canonical String for this request should have been\n'${expected.canonicalRequest}'\n\nThe String-to-Sign should have been\n'${expected.stringToSign}'\n`);
}

const invalid = (message: string): Verdict => ({ ok: false, errorType: 'InvalidSignatureException', message });

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

type Parsed =
  | { missing: string[] }
  | { accessKeyId: string; date: string; region: string; service: string; signedHeaders: string[]; signature: string; amzDate: string };

/** `AWS4-HMAC-SHA256 Credential=AKID/20261123/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=…` */
function parseAuthorization(header: string, amzDate: string | undefined): Parsed {
  const [algorithm, ...rest] = header.trim().split(/\s+/);
  const fields = new Map<string, string>();
  if (algorithm === 'AWS4-HMAC-SHA256') {
    for (const part of rest.join(' ').split(',')) {
      const at = part.indexOf('=');
      if (at > 0) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
    }
  }
  const missing: string[] = [];
  for (const name of ['Credential', 'Signature', 'SignedHeaders']) {
    if (!fields.get(name)) missing.push(`Authorization header requires '${name}' parameter.`);
  }
  if (!amzDate) missing.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  const scope = (fields.get('Credential') ?? '').split('/');
  if (missing.length > 0 || !amzDate || scope.length !== 5 || scope[4] !== 'aws4_request') {
    return { missing: missing.length > 0 ? missing : ["Authorization header requires 'Credential' parameter."] };
  }
  const [accessKeyId, date, region, service] = scope as [string, string, string, string, string];
  return {
    accessKeyId,
    date,
    region,
    service,
    signedHeaders: (fields.get('SignedHeaders') ?? '').split(';'),
    signature: fields.get('Signature') ?? '',
    amzDate,
  };
}

/** `20261123T101500Z` → epoch ms, or null when it is not that format. */
function parseAmzDate(text: string): number | null {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

export function longDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '');
}

/** Exposes the protected canonical-request and string-to-sign steps of the SDK's own signer. */
class Recomputer extends SignatureV4 {
  canonical(request: HttpRequest, headers: Record<string, string>, payloadHash: string): string {
    return this.createCanonicalRequest(request, headers, payloadHash);
  }
  toSign(amzDate: string, scope: string, canonicalRequest: string): Promise<string> {
    return this.createStringToSign(amzDate, scope, canonicalRequest, 'AWS4-HMAC-SHA256');
  }
}

async function recompute(request: SignedRequest, key: LocalKey, signed: { amzDate: string; region: string; signedHeaders: string[] }) {
  // SignedHeaders is the caller's text: a name like `constructor` or `__proto__` must find only a
  // header that was sent (none: a mismatch), never a member of Object.prototype.
  const headers: Record<string, string> = Object.create(null);
  for (const name of signed.signedHeaders) {
    const value = Object.hasOwn(request.headers, name) ? single(request.headers[name]) : undefined;
    if (typeof value === 'string') headers[name] = value;
  }
  const httpRequest: HttpRequest = { method: request.method, protocol: 'http:', hostname: headers.host ?? '', path: request.rawPath, query: request.query, headers };
  const signer = new Recomputer({ service: SERVICE, region: signed.region, credentials: key, sha256: Sha256, applyChecksum: false });
  const canonicalHeaders = getCanonicalHeaders(httpRequest, undefined, new Set(signed.signedHeaders));
  const payloadHash = await getPayloadHash(httpRequest, Sha256);
  const canonicalRequest = signer.canonical(httpRequest, canonicalHeaders, payloadHash);
  const shortDate = signed.amzDate.slice(0, 8);
  const stringToSign = await signer.toSign(signed.amzDate, createScope(shortDate, signed.region, SERVICE), canonicalRequest);
  const signingKey = await getSigningKey(Sha256, key, shortDate, signed.region, SERVICE);
  const hmac = new Sha256(signingKey);
  hmac.update(stringToSign);
  const signature = Buffer.from(await hmac.digest()).toString('hex');
  return { signature, canonicalRequest, stringToSign };
}
