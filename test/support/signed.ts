import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '../local/sigv4.ts';

export interface Key {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * Signs a GET for execute-api the way the AWS SDK does (its own signer), for tests of the local
 * gateway. `signingDate` and `region` let a test sign too long ago or for the wrong region.
 *
 * @example
 * const headers = await signedHeaders('http://127.0.0.1:3000/v1/profiles/demo/token', key);
 */
export async function signedHeaders(url: string, key: Key, options: { region?: string; service?: string; signingDate?: Date; headers?: Record<string, string> } = {}): Promise<Record<string, string>> {
  const target = new URL(url);
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of target.searchParams) {
    const seen = query[name];
    query[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  const signer = new SignatureV4({ service: options.service ?? 'execute-api', region: options.region ?? 'us-east-1', credentials: key, sha256: Sha256, applyChecksum: false });
  const signed = await signer.sign(
    { method: 'GET', protocol: target.protocol, hostname: target.hostname, port: Number(target.port), path: target.pathname, query, headers: { host: target.host, ...options.headers } },
    { signingDate: options.signingDate ?? new Date() },
  );
  return signed.headers;
}
