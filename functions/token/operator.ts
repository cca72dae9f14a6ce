import { describeIssue } from '../core/issues.ts';
import * as z from 'zod/mini';
import type { Credentials } from '../core/credentials.ts';
import type { RedactingLogger } from '../core/logger.ts';
import type { Profile } from '../core/profiles.ts';
import type { SecretCache } from '../core/secret-cache.ts';
import type { SharedTier } from '../core/shared-tier.ts';
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
 * the secret or whose revocation Identity does not confirm changes nothing, and is invoked again.
 */
export function operatorFlush(deps: OperatorDeps): (event: unknown, context: { awsRequestId?: string }) => Promise<FlushResult> {
  return async (event, context) => {
    const parsed = OperatorEvent.safeParse(event);
    const result = await (async (): Promise<FlushResult> => {
      if (!parsed.success) return { status: 400, profile: null, tokens: [], detail: `Expected {"operation":"flush","profile":NAME,"reason"?:TEXT}: ${parsed.error.issues.map((i) => describeIssue(i, '(event)')).join('; ')}` };
      const profile = deps.profiles.get(parsed.data.profile);
      if (!profile) return { status: 404, profile: parsed.data.profile, tokens: [], detail: 'No such profile is declared.' };
      const credentials = await deps.secrets.get(profile.secretId);
      const identityUrl = credentials.identityUrl ?? deps.defaultIdentityUrl;
      const tokens: FlushResult['tokens'] = [];
      const revoked = new Set<string>();
      const revoke = async (held: Array<Token | null>) => {
        for (const token of held) {
          if (!token || revoked.has(token.id)) continue;
          revoked.add(token.id);
          tokens.push({ tokenSha256: fingerprint(token), revocation: await deps.revoke(identityUrl, token.id) });
        }
        return !tokens.some((t) => t.revocation === 'failed');
      };
      if (!(await revoke([(await deps.shared.peek(profile.name, 0))?.token ?? null, deps.held(profile.name)]))) {
        return { status: 503, profile: profile.name, tokens, detail: 'Identity did not confirm the revocation, so nothing was dropped: invoke again.' };
      }
      // This instance's copy goes first, so a failing table leaves it serving nothing revoked; a
      // token published between the read and the drop is revoked too.
      const local = deps.forget(profile.name);
      const complete = await revoke([await deps.shared.flush(profile.name), local]);
      if (tokens.length === 0) return { status: 200, profile: profile.name, tokens, detail: 'No token was held for this profile.' };
      return { status: complete ? 200 : 503, profile: profile.name, tokens, detail: complete ? 'Revoked at Rackspace and dropped fleet-wide.' : 'Dropped fleet-wide, but Identity did not confirm the revocation of a token published during the flush.' };
    })().catch((error: unknown): FlushResult => ({ status: 503, profile: parsed.success ? parsed.data.profile : null, tokens: [], detail: error instanceof Error ? error.message : 'failed' }));
    const facts = { requestId: context.awsRequestId ?? 'unknown', operation: 'flush', profile: result.profile, reason: parsed.success ? (parsed.data.reason ?? null) : null, tokens: result.tokens, status: result.status };
    deps.logger.always(result.status === 200 ? 'INFO' : 'WARN', 'flush', { audit: facts });
    return result;
  };
}
