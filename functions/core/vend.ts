import { createHmac, randomBytes } from 'node:crypto';
import type { Credentials } from './credentials.ts';
import { within, type Deadline } from './deadline.ts';
import { CredentialsRefusedError, UpstreamUnavailableError } from './errors.ts';
import type { ProfileStore } from './profile-state.ts';
import type { Profile } from './profiles.ts';
import type { SecretCache } from './secret-cache.ts';
import { TokenCache, type Lease, type LeaseSource, type Trace } from './token-cache.ts';
import { isFresh, type Token } from './token.ts';

export interface AuthenticateOptions {
  /** `1`: a single probing attempt; `'all'`: the configured retry cycle. */
  attempts: 1 | 'all';
  deadline: Deadline;
  /** Called once per Identity call, for the audit line. */
  onCall: () => void;
  /** The profile authenticated for. */
  profile: string;
}

export interface VendorDeps {
  now: () => number;
  secrets: SecretCache<Credentials>;
  /** Identity URL for secrets that name none: part of the identity a token was issued to. */
  defaultIdentityUrl: string;
  /** One authentication, retries included, within the request's deadline. */
  authenticate: (credentials: Credentials, options: AuthenticateOptions) => Promise<Token>;
  /** Is this error Identity refusing the credentials with 401 (the one case worth a secret re-read)? */
  isUnauthorized: (error: unknown) => boolean;
  /** The secret's AWSPENDING credentials, or `null`: a key rotation between its reset and finishSecret. */
  pending?: (secretId: string, signal?: AbortSignal) => Promise<Credentials | null>;
  store?: ProfileStore;
  quietMs?: number;
}

export interface Vendor {
  lease(profile: Profile, minTtl: number, deadline: Deadline, trace?: Trace): Promise<Lease>;
  /** The token cache, for its per-profile state. */
  readonly tokens: TokenCache;
}

// Tags tell credentials apart without holding them: keyed with a per-environment random key, so a
// tag that reached a log or a shared store could not be checked against a guessed password.
const TAG_KEY = randomBytes(32);
const tags = new WeakMap<Credentials, { identity: string; credentials: string }>();

/** Who a token is issued to: username, tenant and Identity URL. */
export function identityOf(credentials: Credentials, defaultIdentityUrl: string): string {
  const tenant = credentials.tenant === null ? '' : 'tenantId' in credentials.tenant ? `id:${credentials.tenant.tenantId}` : `name:${credentials.tenant.tenantName}`;
  const url = (credentials.identityUrl ?? defaultIdentityUrl).replace(/\/+$/, '');
  return JSON.stringify([credentials.username, tenant, url]);
}

/**
 * The token half of the vending path: cached token, or secret → Identity. The secret is read
 * within `SECRET_TTL_SECONDS` even on a warm vend, so a secret now naming another identity drops
 * the token issued to the old one. On a 401 the secret is re-read once and, only if it changed (a
 * rotation), Identity is asked once more; if it is unchanged, its AWSPENDING version (a rotation
 * between reset and finish) is asked once instead. A key refused with no other to try is
 * remembered as refused and not sent again until the secret changes.
 *
 * @example
 * const vendor = createVendor({ now: Date.now, secrets, defaultIdentityUrl, authenticate, isUnauthorized });
 * const { token, cacheHit } = await vendor.lease(profile, 300, deadline);
 */
export function createVendor(deps: VendorDeps): Vendor {
  const tokens = new TokenCache({ now: deps.now, ...(deps.store && { store: deps.store }), ...(deps.quietMs !== undefined && { quietMs: deps.quietMs }) });

  const tagsOf = (credentials: Credentials) => {
    let tagged = tags.get(credentials);
    if (!tagged) {
      const identity = identityOf(credentials, deps.defaultIdentityUrl);
      const hmac = createHmac('sha256', TAG_KEY).update(JSON.stringify(credentials)).digest('hex').slice(0, 16);
      tags.set(credentials, (tagged = { identity, credentials: hmac }));
    }
    return tagged;
  };

  function source(profile: Profile, credentials: Credentials, deadline: Deadline): LeaseSource {
    const { identity, credentials: tag } = tagsOf(credentials);
    return {
      identity,
      credentials: tag,
      wait: (work) => within(deadline, 'identity', work),
      async authenticate(probe, trace) {
        const options: AuthenticateOptions = { attempts: probe ? 1 : 'all', deadline, onCall: () => void trace.identityCalls++, profile: profile.name };
        try {
          return { token: await deps.authenticate(credentials, options), identity };
        } catch (error) {
          if (!deps.isUnauthorized(error)) throw error;
          const reread = await within(deadline, 'secrets-manager', deps.secrets.reread(profile.secretId, deadline.signal));
          let next = reread;
          // Unchanged: a rotation may have reset the key and not yet made the new one AWSCURRENT. Its
          // AWSPENDING version is tried once; if refused too, the current key is what is remembered.
          let refusedTag = tagsOf(reread).credentials;
          if (JSON.stringify(reread) === JSON.stringify(credentials)) {
            const pending = deps.pending && (await within(deadline, 'secrets-manager', deps.pending(profile.secretId, deadline.signal)));
            if (!pending || JSON.stringify(pending) === JSON.stringify(credentials)) throw remember(error, tag);
            [next, refusedTag] = [pending, tag];
          }
          try {
            return { token: await deps.authenticate(next, options), identity: tagsOf(next).identity };
          } catch (again) {
            throw deps.isUnauthorized(again) ? remember(again, refusedTag) : again;
          }
        }
      },
    };
  }

  return {
    tokens,
    async lease(profile, minTtl, deadline, trace) {
      let credentials = deps.secrets.peek(profile.secretId);
      if (credentials !== undefined) {
        const warm = tokens.fresh(profile.name, tagsOf(credentials).identity, minTtl);
        if (warm) return warm;
      } else {
        try {
          credentials = await within(deadline, 'secrets-manager', deps.secrets.get(profile.secretId, deadline.signal));
        } catch (error) {
          // Custody could not be checked just now, but the token in hand still serves this caller.
          const held = tokens.state(profile.name)?.token;
          if (error instanceof UpstreamUnavailableError && held && isFresh(held, deps.now(), minTtl)) return { token: held, cacheHit: true, degraded: false };
          throw error;
        }
      }
      return tokens.lease(profile.name, minTtl, source(profile, credentials, deadline), trace);
    },
  };
}

function remember(error: unknown, tag: string): unknown {
  if (error instanceof CredentialsRefusedError) error.credentials = tag;
  return error;
}
