import { createHash, scrypt } from 'node:crypto';
import type { Credentials } from './credentials.ts';

/**
 * Who a token was issued to: username, tenant and Identity URL — never the key. A shared record
 * whose fingerprint differs from the profile's current secret is not served (the secret now names
 * another identity). SHA-256, so the table does not spell out usernames.
 *
 * @example
 * identityFingerprint(credentials, 'https://identity.api.rackspacecloud.com/v2.0') // 'q3H…' (22 chars)
 */
export function identityFingerprint(credentials: Credentials, defaultIdentityUrl: string): string {
  const tenant = credentials.tenant === null ? '' : 'tenantId' in credentials.tenant ? `id:${credentials.tenant.tenantId}` : `name:${credentials.tenant.tenantName}`;
  const url = (credentials.identityUrl ?? defaultIdentityUrl).replace(/\/+$/, '');
  return createHash('sha256').update(['identity/v1', credentials.username, tenant, url].join('\n')).digest('base64url').slice(0, 22);
}

/**
 * A refused key's fingerprint, so the fleet never re-sends it. scrypt (salted with the identity),
 * not a plain hash: a password credential may be weak, and whoever reads the table must not be able
 * to test guesses against it quickly. Computed only when a refusal is recorded or checked.
 *
 * @example
 * await keyFingerprint(credentials, identity) // 'Yc0…' (22 chars)
 */
export function keyFingerprint(credentials: Credentials, identity: string): Promise<string> {
  const secret = credentials.secret.kind === 'apiKey' ? credentials.secret.apiKey : credentials.secret.password;
  return new Promise((resolve, reject) => {
    // Stryker disable next-line ObjectLiteral: these are scrypt's defaults, spelled out because the stored fingerprints depend on them.
    scrypt(secret, `refused-key/v1\n${identity}`, 16, { N: 2 ** 14, r: 8, p: 1 }, (error, derived) => (error ? reject(error) : resolve(derived.toString('base64url'))));
  });
}
