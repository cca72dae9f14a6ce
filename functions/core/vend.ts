import type { Credentials } from './credentials.ts';
import type { SecretCache } from './secret-cache.ts';
import { TokenCache, type Lease } from './token-cache.ts';
import type { Token } from './token.ts';
import type { Profile } from './profiles.ts';

export interface VendorDeps {
  now: () => number;
  secrets: SecretCache<Credentials>;
  /** One authentication, retries included, for the named profile. */
  authenticate: (credentials: Credentials, profile: string) => Promise<Token>;
  /** Is this error Identity refusing the credentials with 401 (the one case worth a secret re-read)? */
  isUnauthorized: (error: unknown) => boolean;
}

/**
 * The token half of the vending path: cached token, or secret → Identity. On a 401 the secret is
 * re-read once and, only if it changed (a rotation), Identity is asked once more; an unchanged
 * secret would only be refused again.
 *
 * @example
 * const vendor = createVendor({ now: Date.now, secrets, authenticate, isUnauthorized });
 * const { token, cacheHit } = await vendor.lease(profile, 300);
 */
export function createVendor(deps: VendorDeps): { lease(profile: Profile, minTtl: number): Promise<Lease> } {
  const tokens = new TokenCache({ now: deps.now });

  async function authenticate({ name, secretId }: Profile): Promise<Token> {
    const credentials = await deps.secrets.get(secretId);
    try {
      return await deps.authenticate(credentials, name);
    } catch (error) {
      if (!deps.isUnauthorized(error)) throw error;
      const reread = await deps.secrets.reread(secretId);
      if (JSON.stringify(reread) === JSON.stringify(credentials)) throw error;
      return deps.authenticate(reread, name);
    }
  }

  return {
    lease: (profile, minTtl) => tokens.lease(profile.name, minTtl, () => authenticate(profile)),
  };
}
