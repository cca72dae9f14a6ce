import { describeIssue } from '../core/issues.ts';
import * as z from 'zod/mini';
import type { Credentials } from '../core/credentials.ts';
import type { RedactingLogger } from '../core/logger.ts';
import type { Profile } from '../core/profiles.ts';
import type { SecretCache } from '../core/secret-cache.ts';
import type { SharedTier } from '../core/shared-tier.ts';
import { StoreUnavailableError } from '../core/token-store.ts';
import type { Token } from '../core/token.ts';
import type { Revocation } from '../adapters/identity-revoke.ts';
import { fingerprint } from './audit.ts';

/**
 * The operator's flush, as a direct invoke of the function (README "Flush a profile's token"):
 * `{"operation":"flush","profile":"billing","reason":"…"}`. Only `lambda:InvokeFunction` reaches
 * it; API Gateway never sends an event of this shape.
 */
const OperatorEvent = z.strictObject({
  operation: z.literal('flush'),
  profile: z.string().check(z.minLength(1), z.maxLength(64)),
  reason: z.optional(z.string().check(z.maxLength(200))),
});

/** An event meant for the operator entry point (it names an `operation`), valid or not. */
export function isOperatorEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && !Array.isArray(event) && 'operation' in event;
}

export interface OperatorDeps {
  profiles: ReadonlyMap<string, Profile>;
  shared: SharedTier;
  /** This instance's token for the profile, if any. */
  held: (profile: string) => Token | null;
  /** Drops this instance's token for the profile, answering it. */
  forget: (profile: string) => Token | null;
  secrets: SecretCache<Credentials>;
  defaultIdentityUrl: string;
  revoke: (identityUrl: string, tokenId: string) => Promise<Revocation>;
  logger: RedactingLogger;
}

export interface FlushResult {
  status: 200 | 400 | 404 | 502 | 503;
  profile: string | null;
  /** Per token dropped (the fleet's, this instance's if different): its fingerprint and what Identity said. */
  tokens: Array<{ tokenSha256: string; revocation: Revocation }>;
  detail: string;
}

/**
 * Revokes a profile's token at Rackspace, then drops it fleet-wide (the shared record; every
 * instance drops its copy at its next secret re-read, within SECRET_TTL_SECONDS), with one audit line.
 *
 * Revoked first, dropped after: a leaked token stays usable at Rackspace until it is revoked,
 * whatever we serve, and once dropped we no longer hold it to revoke. So a flush that cannot read
 * the secret or the shared record, or whose revocation Identity does not confirm, changes nothing,
 * and is invoked again.
 */
export function operatorFlush(deps: OperatorDeps): (event: unknown, context: { awsRequestId?: string }) => Promise<FlushResult> {
  return async (event, context) => {
    const parsed = OperatorEvent.safeParse(event);
    const result = await (async (): Promise<FlushResult> => {
      if (!parsed.success) return { status: 400, profile: null, tokens: [], detail: `Expected {"operation":"flush","profile":NAME,"reason"?:TEXT}: ${parsed.error.issues.map((i) => describeIssue(i, '(event)')).join('; ')}` };
      const profile = deps.profiles.get(parsed.data.profile);
      if (!profile) return { status: 404, profile: parsed.data.profile, tokens: [], detail: 'No such profile is declared.' };
      const credentials = await deps.secrets.get(profile.secretId);
      return flushProfile(deps, profile.name, credentials.identityUrl ?? deps.defaultIdentityUrl);
    })().catch((error: unknown): FlushResult => ({ status: 503, profile: parsed.success ? parsed.data.profile : null, tokens: [], detail: error instanceof Error ? error.message : 'failed' }));
    // `detail` says what happened (what was revoked, dropped, or why nothing was): never a token, only fingerprints.
    const facts = { requestId: context.awsRequestId ?? 'unknown', operation: 'flush', profile: result.profile, reason: parsed.success ? (parsed.data.reason ?? null) : null, tokens: result.tokens, status: result.status, detail: result.detail };
    deps.logger.always(result.status === 200 ? 'INFO' : 'WARN', 'flush', { audit: facts });
    return result;
  };
}

/** Rounds of read → revoke → drop before giving up on a record that keeps receiving new tokens. */
const ROUNDS = 3;

/**
 * Each round reads what is held (the shared record, past its circuit; this instance's copy),
 * revokes every token not yet revoked, and only then drops them: this instance's copy if it is still
 * the one revoked, the record's only if it still holds it (a conditional write). A token published
 * since the read is not dropped but found by the next round. Whatever fails, no token is dropped
 * that was not revoked, and the detail says what happened.
 */
async function flushProfile(deps: OperatorDeps, profile: string, identityUrl: string): Promise<FlushResult> {
  const tokens: FlushResult['tokens'] = [];
  const revoked = new Set<string>();
  const answer = (status: FlushResult['status'], detail: string): FlushResult => ({ status, profile, tokens, detail });
  // After the first round something was dropped already: the detail must not say "nothing".
  const sofar = (round: number) => (round === 0 ? 'nothing was dropped' : 'the tokens revoked before it were dropped, it was not');
  for (let round = 0; round < ROUNDS; round++) {
    let record;
    try {
      record = await deps.shared.record(profile);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      return answer(503, `The shared record could not be read (${error.dependency}: ${error.message}), so ${round === 0 ? 'nothing was revoked or dropped' : 'the flush stopped there'}: invoke again.`);
    }
    if (record.unreadable) {
      return answer(502, 'The shared record holds a token that cannot be opened (tampered with, or sealed under another key): it is never served, could not be revoked and was not dropped; the next authentication replaces it.');
    }
    for (const token of [record.held?.token ?? null, deps.held(profile)]) {
      if (!token || revoked.has(token.id)) continue;
      const revocation = await deps.revoke(identityUrl, token.id);
      tokens.push({ tokenSha256: fingerprint(token), revocation });
      if (revocation === 'failed') return answer(503, `Identity did not confirm the revocation, so ${sofar(round)}: invoke again.`);
      revoked.add(token.id);
    }
    // Looked at and dropped with nothing awaited between: a copy that is not the one revoked stays.
    const local = deps.held(profile);
    if (local && revoked.has(local.id)) deps.forget(profile);
    if (!record.held) return tokens.length ? answer(200, 'Revoked at Rackspace and dropped fleet-wide.') : answer(200, 'No token was held for this profile.');
    let dropped: boolean;
    try {
      dropped = await deps.shared.drop(profile, record.held);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      return answer(503, `Revoked at Rackspace, but the shared record did not confirm the drop (${error.dependency}: ${error.message}): invoke again.`);
    }
    if (dropped) return answer(200, 'Revoked at Rackspace and dropped fleet-wide.');
    // The record holds another token now (published since the read): the next round revokes it first.
  }
  return answer(503, `New tokens kept arriving in the shared record (${ROUNDS} rounds); those listed were revoked: invoke again.`);
}
