import type { Credentials } from './credentials.ts';
import type { Token } from './token.ts';

/** A held token needs this much life left to be used for the key call (and the call's own timeout). */
export const HEAL_MARGIN_SECONDS = 10;

/** Why a refused key was not healed; `healed` when the secret now holds the key Identity returned. */
export type HealResult =
  | 'healed'
  | 'no-token'
  | 'token-expired'
  | 'not-an-api-key'
  | 'rotation-underway'
  | 'key-unreadable'
  | 'other-user'
  | 'same-key'
  | 'secret-unreadable'
  | 'secret-changed'
  | 'write-refused';

export type HealOutcome =
  | { result: 'healed'; credentials: Credentials; rotation: 'started' | 'failed' | 'off' }
  | { result: Exclude<HealResult, 'healed'>; detail?: string };

/** The one write the heal makes was refused because AWSCURRENT is no longer on the version read. */
export class SecretMovedError extends Error {
  override name = 'SecretMovedError';
}

export interface HealDeps {
  now: () => number;
  defaultIdentityUrl: string;
  /** The user's key as Identity holds it now, read with that user's own token (GET apiKeyCredentials). */
  readKey(session: { identityUrl: string; userId: string; tokenId: string }): Promise<{ apiKey: string; username: string | null }>;
  /**
   * Is a rotation between its reset and its put of AWSPENDING (its saved session's label is on the
   * secret)? The key Identity refuses the current one for is then the rotation's own, not a reset
   * from outside: the rotation stores it.
   */
  rotationUnderWay(secretId: string): Promise<boolean>;
  /** The secret's AWSCURRENT version: its id and text; `null` when it has none. */
  current(secretId: string): Promise<{ versionId: string; secretString: string } | null>;
  /** Parses a secret's text; throws on a secret that is not usable credentials. */
  parse(secretString: string): Credentials;
  /**
   * Stores `secretString` as a new version and moves AWSCURRENT onto it only from `fromVersionId`
   * (a compare-and-swap); {@link SecretMovedError} when AWSCURRENT has moved since.
   */
  replace(secretId: string, fromVersionId: string, secretString: string): Promise<void>;
  /** Starts a rotation of the secret now (RotateSecret). */
  rotate(secretId: string): Promise<void>;
}

export interface HealInput {
  secretId: string;
  /** The credentials Identity just refused (the secret's current value, re-read). */
  refused: Credentials;
  /** A token issued to the same user, held in memory or in the shared record; `null` when none. */
  held: Token | null;
  /** Whether the profile's secret rotates: a healed key is then rotated away at once. */
  rotates: boolean;
}

/**
 * Identity refused the custodied key while a token of the same user is still held: someone reset
 * the key from outside. Reads the user's current key with that token and, if it differs, stores
 * exactly that key as the secret's new AWSCURRENT, only if AWSCURRENT is still the version that
 * holds the refused key. Writes nothing but a key Identity itself returned for that user; every
 * other field of the secret is kept. Then, if the secret rotates, starts a rotation, so the key
 * whoever reset it knows stops working.
 *
 * @example
 * const outcome = await heal({ secretId, refused, held, rotates: true }, deps);
 * if (outcome.result === 'healed') authenticate(outcome.credentials);
 */
export async function heal(input: HealInput, deps: HealDeps): Promise<HealOutcome> {
  const { refused, held, secretId } = input;
  if (refused.secret.kind !== 'apiKey') return { result: 'not-an-api-key' };
  if (!held?.userId) return { result: 'no-token' };
  if (held.expiresAt - deps.now() < HEAL_MARGIN_SECONDS * 1000) return { result: 'token-expired' };
  try {
    if (await deps.rotationUnderWay(secretId)) return { result: 'rotation-underway' };
  } catch (error) {
    return { result: 'secret-unreadable', detail: describe(error) };
  }
  const identityUrl = refused.identityUrl ?? deps.defaultIdentityUrl;
  let read: { apiKey: string; username: string | null };
  try {
    read = await deps.readKey({ identityUrl, userId: held.userId, tokenId: held.id });
  } catch (error) {
    return { result: 'key-unreadable', detail: `GET apiKeyCredentials with the held token: ${describe(error)}` };
  }
  // The token is the same user's (same identity fingerprint); Identity's answer must say so too.
  if (read.username !== null && read.username !== refused.username) return { result: 'other-user' };
  if (read.apiKey === refused.secret.apiKey) return { result: 'same-key' };
  let current: { versionId: string; secretString: string } | null;
  try {
    current = await deps.current(secretId);
  } catch (error) {
    return { result: 'secret-unreadable', detail: describe(error) };
  }
  if (!current || !holds(current.secretString, refused, deps)) return { result: 'secret-changed' };
  const secretString = JSON.stringify({ ...(JSON.parse(current.secretString) as object), apiKey: read.apiKey });
  try {
    await deps.replace(secretId, current.versionId, secretString);
  } catch (error) {
    if (error instanceof SecretMovedError) return { result: 'secret-changed' };
    return { result: 'write-refused', detail: describe(error) };
  }
  const credentials: Credentials = { ...refused, secret: { kind: 'apiKey', apiKey: read.apiKey } };
  if (!input.rotates) return { result: 'healed', credentials, rotation: 'off' };
  try {
    await deps.rotate(secretId);
    return { result: 'healed', credentials, rotation: 'started' };
  } catch {
    return { result: 'healed', credentials, rotation: 'failed' };
  }
}

/** Does this text hold exactly the refused credentials (nobody changed the secret since)? */
function holds(secretString: string, refused: Credentials, deps: HealDeps): boolean {
  try {
    return JSON.stringify(deps.parse(secretString)) === JSON.stringify(refused);
  } catch {}
  // Text that does not parse is not the refused credentials either.
  return false;
}

/** Name and message of our own and the SDK's errors: neither ever holds a key or a token. */
function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 200) : 'unknown error';
}
