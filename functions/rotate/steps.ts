import { createHash, randomUUID } from 'node:crypto';
import { errorName } from '../adapters/aws-errors.ts';
import type { KeySession } from '../adapters/identity-keys.ts';
import type { Revocation } from '../adapters/identity-revoke.ts';
import type { SecretVersionStore } from '../adapters/secret-versions.ts';
import { parseCredentials, SecretFormatError, type Credentials } from '../core/credentials.ts';
import { markSensitive } from '../core/sensitive.ts';
import type { Token } from '../core/token.ts';
import { claimVersionId, parseSession, SESSION_STAGE, sessionText, type SavedSession } from './session.ts';

export type Step = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

/** What became of a saved session's token after finishSecret. */
export type SessionEnd = Revocation | 'kept-in-use';

/** What a step did, for its audit line. */
export interface StepResult {
  outcome: 'reset' | 'recovered' | 'tested' | 'finished' | 'nothing-to-do' | 'already-done' | 'not-yet-set';
  /** First 12 hex characters of SHA-256 of the key the step stored or tested: correlates, reveals nothing. */
  keySha256?: string;
  /** finishSecret: each saved session token (its fingerprint) and what became of it. */
  sessions?: Array<{ tokenSha256: string; end: SessionEnd }>;
  /** Something that did not fail the step but needs an operator's eye (the audit line is then a WARN). */
  warning?: string;
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
  /** Rackspace's "Revoke token" for a token of the user's own (identity-revoke.ts); never throws. */
  revoke: (identityUrl: string, tokenId: string) => Promise<Revocation>;
  /** Runs a Secrets Manager write again while it fails transiently. */
  retryingWrite: <T>(write: () => Promise<T>) => Promise<T>;
  defaultIdentityUrl: string;
  now: () => number;
  /** Epoch ms by which Lambda ends this invocation (its timeout): a claim it saves is dead after that. */
  invocationEnds: number;
}

const PENDING = 'AWSPENDING';
const CURRENT = 'AWSCURRENT';
/** Clocks of two execution environments may disagree by this much; a claim is trusted dead only after it. */
export const CLAIM_MARGIN_MS = 10_000;
/** Claims one rotation may make: each needs a dead claimant before it, so more means something else is wrong. */
const MAX_CLAIMS = 20;
const fingerprint = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 12);
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * One step of Secrets Manager's rotation contract for a Rackspace API key. Any step may run twice or
 * overlap another run of itself (Secrets Manager re-attempts, Lambda delivers twice, an operator runs
 * rotate-secret while a rotation runs) and any invocation may die at any point; the rotation stays
 * recoverable. docs/design.md, "Rotation under overlap", has the reasoning.
 *
 * - createSecret: only one invocation may reset the key: the one whose *claim* lands, a session
 *   version put under a ClientRequestToken derived from the rotation (Secrets Manager refuses a
 *   second value under it). The claim holds until its invocation's Lambda timeout; a later
 *   invocation takes the next claim only when that one is dead. The claimant resets, reads the
 *   user's key back from Identity with the saved session and stores what Identity holds as
 *   AWSPENDING. An invocation that finds the current key already refused reads the key back with a
 *   saved session of this rotation and stores it (no reset, so no claim needed).
 * - setSecret: nothing; the reset already set the key at Rackspace.
 * - testSecret: authenticate with AWSPENDING.
 * - finishSecret: authenticate with AWSPENDING (never move AWSCURRENT onto a refused key), revoke
 *   the saved sessions' tokens unless it is the token Identity issues now (the fleet's: Rackspace
 *   answers every authentication with the same token), move AWSCURRENT, remove AWSPENDING.
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
    if (step === 'finishSecret' && labels.includes(PENDING)) await removePending(secretId, token, deps);
    return { outcome: 'already-done' };
  }
  if (!labels.includes(PENDING)) throw new RotationError(`Version ${token} is not AWSPENDING: another rotation has taken its place; this one stops.`);
  // The stack creates each secret empty (infra/custody.cjs): until the operator puts a value, no
  // version is AWSCURRENT and there is no key to rotate. Every step then skips (a scheduled
  // rotation must not fail and alarm before the first put-key), and finishSecret drops AWSPENDING
  // so that the next rotation may start, without moving AWSCURRENT onto the empty version.
  if (!Object.values(stages).some((other) => other.includes(CURRENT))) {
    if (step === 'setSecret') return { outcome: 'nothing-to-do' };
    if (step === 'finishSecret') await removePending(secretId, token, deps);
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
    return { outcome: 'recovered', keySha256: fingerprint(apiKey) };
  }
  markSensitive(`token of ${secretId}`, identity.id);
  if (!identity.userId) throw new RotationError("Rackspace Identity's answer names no user id (access.user.id); the key cannot be reset.");
  const session: SavedSession = { rotation: token, identityUrl, userId: identity.userId, tokenId: identity.id, expiresAt: identity.expiresAt, claim: randomUUID(), until: deps.invocationEnds };
  // Saved before the reset: if this invocation dies after it, the next one can still read the key back.
  await claim(secretId, token, session, deps);
  const answered = await deps.keys.reset(session);
  markSensitive(`key of ${secretId}`, answered);
  const until = iso(session.expiresAt);
  // What Rackspace holds now, not what it answered then: the key a later reset set is the one that works.
  let apiKey: string;
  try {
    apiKey = await deps.keys.current(session);
  } catch (error) {
    throw new RotationError(`The key was reset but could not be read back; run rotate-secret again before ${until}: the re-attempt reads the key back with the saved session.`, { cause: error });
  }
  markSensitive(`key of ${secretId}`, apiKey);
  try {
    await storePending(apiKey);
  } catch (error) {
    throw new RotationError(`The key was reset but could not be stored as AWSPENDING; run rotate-secret again before ${until}: the re-attempt reads the key back with the saved session.`, { cause: error });
  }
  return { outcome: 'reset', keySha256: fingerprint(apiKey) };
}

/** This rotation's saved sessions: its claims in order (read by id, so no label move can hide one), then a labelled one saved before claims existed. */
async function savedSessions(secretId: string, token: string, deps: StepDeps): Promise<{ claims: Array<SavedSession | null>; all: SavedSession[] }> {
  const claims: Array<SavedSession | null> = [];
  // Stryker disable next-line EqualityOperator: claim() never puts a claim numbered MAX_CLAIMS, so reading that id as well finds nothing and ends the loop the same.
  for (let n = 0; n < MAX_CLAIMS; n++) {
    const saved = await deps.store.value(secretId, { versionId: claimVersionId(token, n) });
    // A claim that is not a session (not ours) still takes its number: the next one goes after it.
    if (!saved) break;
    const session = parseSession(saved.secretString);
    claims.push(session && session.rotation === token ? session : null);
  }
  const labelled = await deps.store.value(secretId, { stage: SESSION_STAGE });
  const legacy = labelled ? parseSession(labelled.secretString) : null;
  const valid = claims.filter((s) => s !== null);
  // The label sits on the newest claim, listed already; a session whose token is listed adds nothing (the same token reads back the same key and is revoked once).
  const all = legacy && legacy.rotation === token && !valid.some((s) => s.tokenId === legacy.tokenId) ? [...valid, legacy] : valid;
  for (const session of all) markSensitive(`token of ${secretId}`, session.tokenId);
  return { claims, all };
}

/**
 * Makes this invocation the one that resets, or stops it. The claim is the session version under
 * the rotation's next claim id; Secrets Manager keeps the first value put there and refuses any
 * other, so of invocations racing for the same claim exactly one goes on.
 */
async function claim(secretId: string, token: string, session: SavedSession, deps: StepDeps): Promise<void> {
  const { claims } = await savedSessions(secretId, token, deps);
  const last = claims.at(-1);
  // A claim that is not a session of this rotation holds nothing: its number is only skipped.
  const holds = (c: SavedSession | null | undefined): c is SavedSession => c != null && (c.until ?? 0) + CLAIM_MARGIN_MS > deps.now();
  const another = (until: number | undefined) =>
    new RotationError(
      `Another invocation of this rotation holds the claim to reset the key (until ${iso((until ?? deps.now()) + CLAIM_MARGIN_MS)}); it stores the new key as AWSPENDING itself. Nothing was changed; if that invocation dies, a re-attempt after that time finishes the rotation.`,
    );
  if (holds(last)) throw another(last.until);
  if (claims.length >= MAX_CLAIMS) throw new RotationError(`This rotation has been claimed ${MAX_CLAIMS} times without finishing; investigate the rotation function's failures before running it again.`);
  const versionId = claimVersionId(token, claims.length);
  try {
    await deps.retryingWrite(() => deps.store.put(secretId, { versionId, secretString: sessionText(session), stages: [SESSION_STAGE] }));
  } catch (error) {
    if (errorName(error) !== 'ResourceExistsException') throw error;
    // Lost the race: the winner's claim names when it ends (ours would end about then too).
    // Stryker disable next-line ArrowFunction: a winner read as undefined falls through `&&` to the same default as null.
    const winner = await deps.store.value(secretId, { versionId }).catch(() => null);
    throw another((winner && parseSession(winner.secretString)?.until) ?? deps.invocationEnds);
  }
}

/**
 * The current key refused: an invocation of this rotation reset it. Read it back with a session this
 * rotation saved (the newest first; a reset leaves every token valid). No reset, so no claim: while
 * a claimant lives it has already reset (the key it authenticated with is refused) and reads back
 * the same key, and Secrets Manager accepts the same value twice.
 */
async function recoverKey(secretId: string, token: string, deps: StepDeps): Promise<string> {
  const { all } = await savedSessions(secretId, token, deps);
  if (all.length === 0) {
    throw new RotationError(
      'Rackspace Identity refuses the AWSCURRENT key and no earlier attempt of this rotation saved a session: the key was changed outside this rotation. Put the working key in the secret by hand (docs/operations.md, "Rotating keys").',
    );
  }
  const live = all.filter((s) => s.expiresAt > deps.now()).reverse();
  if (live.length === 0) {
    const last = Math.max(...all.map((s) => s.expiresAt));
    throw new RotationError(`The key was reset by an earlier attempt of this rotation, but its saved session expired at ${iso(last)}: reset the key in the Rackspace portal and put it in the secret by hand.`);
  }
  let refusal: unknown;
  for (const session of live) {
    try {
      const apiKey = await deps.keys.current(session);
      markSensitive(`key of ${secretId}`, apiKey);
      return apiKey;
    } catch (error) {
      // A revoked session (an operator's flush) is refused; an older one may still serve.
      if (!deps.isUnauthorized(error)) throw error;
      refusal = error;
    }
  }
  throw new RotationError('The key was reset by an earlier attempt of this rotation, but Rackspace Identity refuses every session it saved (revoked): reset the key in the Rackspace portal and put it in the secret by hand.', { cause: refusal });
}

async function testSecret(secretId: string, token: string, deps: StepDeps): Promise<StepResult> {
  const pending = await deps.store.value(secretId, { versionId: token, stage: PENDING });
  // Turning rotation on without rotating at once (our schedules, RotateImmediatelyOnUpdate: false),
  // Secrets Manager checks the configuration by creating an empty AWSPENDING and invoking testSecret
  // alone. Refusing it would roll back the deploy that adds rotation; passing it moves nothing, and
  // finishSecret checks the pending key at Identity itself before AWSCURRENT moves.
  if (!pending) return { outcome: 'nothing-to-do' };
  const credentials = apiKeyCredentials(secretId, pending.secretString);
  const identity = await deps.authenticate(credentials);
  markSensitive(`token of ${secretId}`, identity.id);
  return { outcome: 'tested', keySha256: fingerprint(credentials.secret.apiKey) };
}

async function finishSecret(secretId: string, token: string, stages: Record<string, string[]>, deps: StepDeps): Promise<StepResult> {
  const pending = await deps.store.value(secretId, { versionId: token, stage: PENDING });
  if (!pending) throw new RotationError('AWSPENDING has no value for this version: createSecret has not completed, so AWSCURRENT stays where it is.');
  const credentials = apiKeyCredentials(secretId, pending.secretString);
  // Checked again here, not only in testSecret: a finish delivered out of order or after a late reset must not move AWSCURRENT onto a refused key.
  let identity: Token;
  try {
    identity = await deps.authenticate(credentials);
  } catch (error) {
    if (!deps.isUnauthorized(error)) throw error;
    throw new RotationError('Rackspace Identity refuses the AWSPENDING key, so AWSCURRENT stays where it is: the key was changed after createSecret stored it. Put the working key in the secret by hand (docs/operations.md, "Rotating keys").', { cause: error });
  }
  markSensitive(`token of ${secretId}`, identity.id);
  // Before the labels move: AWSPENDING holds a key Identity accepts, so no recovery needs a session any
  // more, and an invocation that dies after the move leaves no live session behind (a re-attempt finds
  // the rotation done and would never come back here).
  const sessions = await endSessions(secretId, token, identity.id, deps);
  // Stryker disable next-line OptionalChaining: the id is one of the object's own keys, so stages[id] is always there; the ?. is for noUncheckedIndexedAccess.
  const currentId = Object.keys(stages).find((id) => stages[id]?.includes(CURRENT));
  try {
    await deps.retryingWrite(() => deps.store.moveStage(secretId, CURRENT, { moveTo: token, ...(currentId && { removeFrom: currentId }) }));
  } catch (error) {
    // A duplicate finish moved it first: RemoveFromVersionId no longer names the holder.
    if (!(await labelled(secretId, token, CURRENT, deps))) throw error;
  }
  // A leftover AWSPENDING would make Secrets Manager treat the next rotation as this one, unfinished.
  await removePending(secretId, token, deps);
  const failed = sessions.filter((s) => s.end === 'failed').length;
  return {
    outcome: 'finished',
    keySha256: fingerprint(credentials.secret.apiKey),
    sessions,
    ...(failed > 0 && { warning: `Identity did not confirm the revocation of ${failed} saved session token(s); they stay valid until they expire. The rotation itself is complete.` }),
  };
}

async function labelled(secretId: string, token: string, stage: string, deps: StepDeps): Promise<boolean> {
  const { stages } = await deps.store.describe(secretId);
  return stages[token]?.includes(stage) ?? false;
}

async function removePending(secretId: string, token: string, deps: StepDeps): Promise<void> {
  try {
    await deps.retryingWrite(() => deps.store.moveStage(secretId, PENDING, { removeFrom: token }));
  } catch (error) {
    // A duplicate finish removed it first.
    if (await labelled(secretId, token, PENDING, deps)) throw error;
  }
}

/**
 * At the end of the rotation: the saved sessions' label goes, and their tokens are revoked, so the
 * versions left behind (readable by id) hold dead tokens. Not a token Identity issues now for the new key
 * (`inUse`): Rackspace answers every authentication of a user with the same token until its last
 * hour, so that token is the one the vending fleet holds and hands out; revoking it would break
 * every caller until it expires. A failed revocation does not fail the step: the key is rotated
 * and stored, and failing now would make Secrets Manager retry a finished rotation for a token that
 * expires on its own; the audit line says so, at WARN.
 */
async function endSessions(secretId: string, token: string, inUse: string, deps: StepDeps): Promise<Array<{ tokenSha256: string; end: SessionEnd }>> {
  let sessions: SavedSession[] = [];
  try {
    sessions = (await savedSessions(secretId, token, deps)).all;
    const holder = await deps.store.value(secretId, { stage: SESSION_STAGE });
    // Stryker disable next-line ConditionalExpression: without a holder, holder.versionId throws into the catch below, which ignores it: the same nothing.
    if (holder) await deps.store.moveStage(secretId, SESSION_STAGE, { removeFrom: holder.versionId });
  } catch {
    // Reading or unlabelling the sessions failed: what was read is still revoked; the label is only a pointer.
  }
  const ends: Array<{ tokenSha256: string; end: SessionEnd }> = [];
  for (const tokenId of new Set(sessions.map((s) => s.tokenId))) {
    const session = sessions.find((s) => s.tokenId === tokenId) as SavedSession;
    const end: SessionEnd = tokenId === inUse ? 'kept-in-use' : await deps.revoke(session.identityUrl, tokenId);
    ends.push({ tokenSha256: fingerprint(tokenId), end });
  }
  return ends;
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
