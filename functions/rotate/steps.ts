import { createHash, randomUUID } from 'node:crypto';
import type { KeySession } from '../adapters/identity-keys.ts';
import type { SecretVersionStore } from '../adapters/secret-versions.ts';
import { parseCredentials, SecretFormatError, type Credentials } from '../core/credentials.ts';
import { markSensitive } from '../core/sensitive.ts';
import type { Token } from '../core/token.ts';
import { parseSession, SESSION_STAGE, sessionText } from './session.ts';

export type Step = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

/** What a step did, for its audit line. */
export interface StepResult {
  outcome: 'reset' | 'recovered' | 'tested' | 'finished' | 'nothing-to-do' | 'already-done' | 'not-yet-set';
  /** First 12 hex characters of SHA-256 of the key the step stored or tested: correlates, reveals nothing. */
  keySha256?: string;
}

/** A rotation that cannot go on; the message says why and what to do, and never holds a secret. */
export class RotationError extends Error {
  override name = 'RotationError';
}

export interface StepDeps {
  store: SecretVersionStore;
  /** One authentication, retries included; its errors are the Identity client's. */
  authenticate: (credentials: Credentials) => Promise<Token>;
  isUnauthorized: (error: unknown) => boolean;
  /** The key calls, retries included. */
  keys: { reset(session: KeySession): Promise<string>; current(session: KeySession): Promise<string> };
  /** Runs a Secrets Manager write again while it fails transiently. */
  retryingWrite: <T>(write: () => Promise<T>) => Promise<T>;
  defaultIdentityUrl: string;
  now: () => number;
}

const PENDING = 'AWSPENDING';
const CURRENT = 'AWSCURRENT';
const fingerprint = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 12);

/**
 * One step of Secrets Manager's rotation contract for a Rackspace API key. Every step may run twice
 * (Secrets Manager re-attempts; Lambda may deliver twice) and must then do no harm: each first checks
 * what an earlier run already did.
 *
 * - createSecret: reset the key at Rackspace and store it as AWSPENDING at once (the reset refuses
 *   the old key immediately, so there is no "generate, then set" here); if the store fails, the next
 *   attempt reads the new key back with the session saved before the reset.
 * - setSecret: nothing; the reset already set the key at Rackspace.
 * - testSecret: authenticate with AWSPENDING.
 * - finishSecret: move AWSCURRENT to the new version; remove AWSPENDING and the saved session.
 *
 * @example
 * const result = await runStep('createSecret', secretArn, clientRequestToken, deps);
 */
export async function runStep(step: Step, secretId: string, token: string, deps: StepDeps): Promise<StepResult> {
  const { rotationEnabled, stages } = await deps.store.describe(secretId);
  if (!rotationEnabled) throw new RotationError('Rotation is not enabled for this secret.');
  const labels = stages[token];
  if (!labels) throw new RotationError(`Version ${token} is not a version of this secret with a staging label.`);
  if (labels.includes(CURRENT)) {
    // This rotation is over; only a leftover AWSPENDING on the current version may remain to clear.
    if (step === 'finishSecret' && labels.includes(PENDING)) await deps.retryingWrite(() => deps.store.moveStage(secretId, PENDING, { removeFrom: token }));
    return { outcome: 'already-done' };
  }
  if (!labels.includes(PENDING)) throw new RotationError(`Version ${token} is not AWSPENDING: another rotation has taken its place; this one stops.`);
  // The stack creates each secret empty (infra/custody.cjs): until the operator puts a value, no
  // version is AWSCURRENT and there is no key to rotate. Every step then skips (a scheduled
  // rotation must not fail and alarm before the first put-key), and finishSecret drops AWSPENDING
  // so that the next rotation may start, without moving AWSCURRENT onto the empty version.
  if (!Object.values(stages).some((other) => other.includes(CURRENT))) {
    if (step === 'setSecret') return { outcome: 'nothing-to-do' };
    if (step === 'finishSecret') await deps.retryingWrite(() => deps.store.moveStage(secretId, PENDING, { removeFrom: token }));
    return { outcome: 'not-yet-set' };
  }
  switch (step) {
    case 'createSecret':
      return createSecret(secretId, token, deps);
    case 'setSecret':
      return { outcome: 'nothing-to-do' };
    case 'testSecret':
      return testSecret(secretId, token, deps);
    case 'finishSecret':
      return finishSecret(secretId, token, stages, deps);
  }
}

async function createSecret(secretId: string, token: string, deps: StepDeps): Promise<StepResult> {
  const pending = await deps.store.value(secretId, { versionId: token, stage: PENDING });
  if (pending) return { outcome: 'already-done' };
  // Stryker disable next-line ObjectLiteral: GetSecretValue naming no version and no stage reads AWSCURRENT anyway; named for the reader.
  const current = await deps.store.value(secretId, { stage: CURRENT });
  if (!current) throw new RotationError('The secret has no AWSCURRENT SecretString to rotate (no such version, or a binary one).');
  const credentials = apiKeyCredentials(secretId, current.secretString);
  const identityUrl = credentials.identityUrl ?? deps.defaultIdentityUrl;
  // The new value keeps every field of the current one; only the key changes.
  const withKey = (apiKey: string) => JSON.stringify({ ...(JSON.parse(current.secretString) as object), apiKey });
  const storePending = (apiKey: string) =>
    deps.retryingWrite(() => deps.store.put(secretId, { versionId: token, secretString: withKey(apiKey), stages: [PENDING] }));

  let identity: Token;
  try {
    identity = await deps.authenticate(credentials);
  } catch (error) {
    if (!deps.isUnauthorized(error)) throw error;
    const apiKey = await recoverKey(secretId, token, deps);
    await storePending(apiKey);
    await dropSession(secretId, deps);
    return { outcome: 'recovered', keySha256: fingerprint(apiKey) };
  }
  markSensitive(`token of ${secretId}`, identity.id);
  if (!identity.userId) throw new RotationError("Rackspace Identity's answer names no user id (access.user.id); the key cannot be reset.");
  const session = { rotation: token, identityUrl, userId: identity.userId, tokenId: identity.id, expiresAt: identity.expiresAt };
  // Saved before the reset: if this invocation dies after it, the next one can still read the key back.
  await deps.retryingWrite(() => deps.store.put(secretId, { versionId: randomUUID(), secretString: sessionText(session), stages: [SESSION_STAGE] }));
  const apiKey = await deps.keys.reset(session);
  markSensitive(`key of ${secretId}`, apiKey);
  try {
    await storePending(apiKey);
  } catch (error) {
    const until = new Date(session.expiresAt).toISOString();
    throw new RotationError(`The key was reset but could not be stored as AWSPENDING; run rotate-secret again before ${until}: the re-attempt reads the key back with the saved session.`, { cause: error });
  }
  await dropSession(secretId, deps);
  return { outcome: 'reset', keySha256: fingerprint(apiKey) };
}

/** The current key refused: this rotation's earlier attempt reset it. Read it back with the session that attempt saved. */
async function recoverKey(secretId: string, token: string, deps: StepDeps): Promise<string> {
  const saved = await deps.store.value(secretId, { stage: SESSION_STAGE });
  const session = saved ? parseSession(saved.secretString) : null;
  if (!session || session.rotation !== token) {
    throw new RotationError(
      'Rackspace Identity refuses the AWSCURRENT key and no earlier attempt of this rotation saved a session: the key was changed outside this rotation. Put the working key in the secret by hand (README, "Rotating keys").',
    );
  }
  markSensitive(`token of ${secretId}`, session.tokenId);
  if (session.expiresAt <= deps.now()) {
    throw new RotationError(
      `The key was reset by an earlier attempt of this rotation, but its saved session expired at ${new Date(session.expiresAt).toISOString()}: reset the key in the Rackspace portal and put it in the secret by hand.`,
    );
  }
  const apiKey = await deps.keys.current(session);
  markSensitive(`key of ${secretId}`, apiKey);
  return apiKey;
}

async function testSecret(secretId: string, token: string, deps: StepDeps): Promise<StepResult> {
  const pending = await deps.store.value(secretId, { versionId: token, stage: PENDING });
  if (!pending) throw new RotationError('AWSPENDING has no value for this version: createSecret has not completed.');
  const credentials = apiKeyCredentials(secretId, pending.secretString);
  const identity = await deps.authenticate(credentials);
  markSensitive(`token of ${secretId}`, identity.id);
  return { outcome: 'tested', keySha256: fingerprint(credentials.secret.apiKey) };
}

async function finishSecret(secretId: string, token: string, stages: Record<string, string[]>, deps: StepDeps): Promise<StepResult> {
  // Stryker disable next-line OptionalChaining: the id is one of the object's own keys, so stages[id] is always there; the ?. is for noUncheckedIndexedAccess.
  const currentId = Object.keys(stages).find((id) => stages[id]?.includes(CURRENT));
  await deps.retryingWrite(() => deps.store.moveStage(secretId, CURRENT, { moveTo: token, ...(currentId && { removeFrom: currentId }) }));
  // A leftover AWSPENDING would make Secrets Manager treat the next rotation as this one, unfinished.
  await deps.retryingWrite(() => deps.store.moveStage(secretId, PENDING, { removeFrom: token }));
  if (Object.values(stages).some((labels) => labels.includes(SESSION_STAGE))) await dropSession(secretId, deps);
  return { outcome: 'finished' };
}

/** Removes the saved session's label (the version is then deprecated); a failure only leaves it for finishSecret. */
async function dropSession(secretId: string, deps: StepDeps): Promise<void> {
  // Stryker disable next-line ArrowFunction: undefined in place of null is as falsy to the check below.
  const saved = await deps.store.value(secretId, { stage: SESSION_STAGE }).catch(() => null);
  if (saved) await deps.store.moveStage(secretId, SESSION_STAGE, { removeFrom: saved.versionId }).catch(() => undefined);
}

/** The secret's credentials, which must hold an API key: Rackspace resets API keys, never passwords. */
function apiKeyCredentials(secretId: string, secretString: string): Credentials & { secret: { kind: 'apiKey' } } {
  let credentials: Credentials;
  try {
    credentials = parseCredentials(secretString);
  } catch (error) {
    // Any other error's message might quote the secret, so it is not relayed.
    // Stryker disable next-line StringLiteral: never shown; parseCredentials throws only SecretFormatError.
    const why = error instanceof SecretFormatError ? error.message : 'it is unreadable';
    throw new RotationError(`The secret cannot be rotated: ${why}.`);
  }
  if (credentials.secret.kind !== 'apiKey') {
    throw new RotationError('This secret holds a password; only API keys rotate (Rackspace Identity resets API keys, not passwords). Store an apiKey instead, or turn rotation off for this secret.');
  }
  markSensitive(`key of ${secretId}`, credentials.secret.apiKey);
  return credentials as Credentials & { secret: { kind: 'apiKey' } };
}
