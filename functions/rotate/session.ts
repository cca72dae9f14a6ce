import { createHash } from 'node:crypto';
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
  /** The invocation that saved it (random): two runs never save the same text, so only one claim lands. */
  claim?: string;
  /** Epoch ms: Lambda ends the claiming invocation by then; after it (and a margin) the claim is dead. */
  until?: number;
}

const Saved = z.strictObject({
  rotation: z.string().check(z.minLength(1)),
  identityUrl: z.string().check(z.minLength(1)),
  userId: z.string().check(z.minLength(1)),
  token: z.string().check(z.minLength(1)),
  expiresAt: z.iso.datetime(),
  // Absent in sessions saved before claims existed (a rotation left pending across the upgrade).
  claim: z.optional(z.string().check(z.minLength(1))),
  until: z.optional(z.iso.datetime()),
});

/** The version's text: `token` is a field name the logger always blanks. */
export function sessionText(session: SavedSession): string {
  const { rotation, identityUrl, userId, tokenId, expiresAt, claim, until } = session;
  const iso = (ms: number) => new Date(ms).toISOString();
  // JSON.stringify leaves out a claim that is undefined (a session saved before claims existed).
  return JSON.stringify({ rotation, identityUrl, userId, token: tokenId, expiresAt: iso(expiresAt), claim, ...(until !== undefined && { until: iso(until) }) });
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
  const { rotation, identityUrl, userId, token, expiresAt, claim, until } = parsed.data;
  return { rotation, identityUrl, userId, tokenId: token, expiresAt: Date.parse(expiresAt), ...(claim !== undefined && { claim }), ...(until !== undefined && { until: Date.parse(until) }) };
}

/**
 * The version id of a rotation's n-th claim: derived, not random, so every invocation of the same
 * rotation puts its claim under the same ClientRequestToken and Secrets Manager lets exactly one of
 * them land (a second put with another value is ResourceExistsException). A UUID's shape, as
 * PutSecretValue's ClientRequestToken expects (32–64 characters).
 */
export function claimVersionId(rotation: string, n: number): string {
  const hex = createHash('sha256').update(`rtv-rotation-claim\n${rotation}\n${n}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
