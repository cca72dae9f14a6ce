import * as z from 'zod/mini';
import type { KeySession } from '../adapters/identity-keys.ts';

/**
 * The staging label of the version that holds a rotation's Identity session. createSecret writes it
 * before the reset, so an invocation that dies after the reset (or whose put of the new key never
 * lands) leaves the next one a token with which to read the new key back (GET apiKeyCredentials).
 * The session is a token of the same user whose API key the secret already holds, in the same
 * secret, under the same KMS key: whoever may read it may read the key, a stronger credential.
 */
export const SESSION_STAGE = 'RTV_ROTATION_SESSION';

export interface SavedSession extends KeySession {
  /** The rotation (ClientRequestToken) that saved it: only that rotation may use it. */
  rotation: string;
  /** Epoch ms: the token, and with it the chance to recover the key, ends then. */
  expiresAt: number;
}

const Saved = z.strictObject({
  rotation: z.string().check(z.minLength(1)),
  identityUrl: z.string().check(z.minLength(1)),
  userId: z.string().check(z.minLength(1)),
  token: z.string().check(z.minLength(1)),
  expiresAt: z.iso.datetime(),
});

/** The version's text: `token` is a field name the logger always blanks. */
export function sessionText(session: SavedSession): string {
  const { rotation, identityUrl, userId, tokenId, expiresAt } = session;
  return JSON.stringify({ rotation, identityUrl, userId, token: tokenId, expiresAt: new Date(expiresAt).toISOString() });
}

/** The saved session, or `null` when the text is not one (it is then ignored, never trusted). */
export function parseSession(text: string): SavedSession | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: json stays undefined, which the schema below refuses.
  }
  const parsed = Saved.safeParse(json);
  if (!parsed.success) return null;
  const { token, expiresAt, ...rest } = parsed.data;
  return { ...rest, tokenId: token, expiresAt: Date.parse(expiresAt) };
}
