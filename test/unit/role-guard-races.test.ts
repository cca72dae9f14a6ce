import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Credentials } from '../../functions/core/credentials.ts';
import { createDeadline } from '../../functions/core/deadline.ts';
import { CredentialsOverprivilegedError } from '../../functions/core/errors.ts';
import { loadProfiles } from '../../functions/core/profiles.ts';
import { guardRoles, unexpectedRoles } from '../../functions/core/role-guard.ts';
import { SecretCache } from '../../functions/core/secret-cache.ts';
import type { Token } from '../../functions/core/token.ts';
import { createVendor } from '../../functions/core/vend.ts';
import { fakeClock, HOUR, MINUTE } from '../support/clock.ts';

// The guard as the handler wires it (after Identity answers, inside the vendor's one authentication),
// under every ordering of the awaits fast-check's scheduler picks: concurrent leases, Identity's
// answers arriving in any order, some for a user holding an account-management role.
const profile = loadProfiles({ profiles: [{ name: 'files', secretId: 's', allow: ['arn:aws:iam::123456789012:role/app'] }] }).get('files')!;
const ALICE: Credentials = { username: 'alice', secret: { kind: 'apiKey', apiKey: 'key-1' }, tenant: null, identityUrl: null };
const SUB_USER = ['identity:default', 'object-store:admin'];
const OWNER = ['identity:user-admin'];

describe('Role guard under concurrency', () => {
  it('never vends nor keeps a token whose user holds a refused role, whatever the order of answers and leases', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 5 }), async (s, ownerAnswers, leases) => {
        const clock = fakeClock();
        let calls = 0;
        // Identity's n-th answer: the owner's roles or a sub-user's; each answer a new token, answered when the scheduler says.
        const identity = s.scheduleFunction(async (n: number): Promise<Token> => ({
          id: `t${n}`, expiresAt: clock.now() + 24 * HOUR, tenant: null, defaultRegion: null, catalog: [],
          roles: ownerAnswers[n % ownerAnswers.length] ? OWNER : SUB_USER,
        }));
        const vendor = createVendor({
          now: clock.now,
          defaultIdentityUrl: 'https://identity.example/v2.0',
          secrets: new SecretCache<Credentials>({ now: clock.now, ttlMs: 5 * MINUTE, read: s.scheduleFunction(async () => structuredClone(ALICE)) }),
          authenticate: async (_used, options) => {
            options.onCall();
            const token = await identity(calls++);
            guardRoles(profile, token);
            return token;
          },
          isUnauthorized: () => false,
        });
        const lease = () => vendor.lease(profile, 300, createDeadline(clock.now, clock.timeout, 8_000));
        // Two waves: the second finds whatever the first left behind.
        for (const _wave of [1, 2]) {
          const outcomes = await s.waitFor(Promise.allSettled(Array.from({ length: leases }, lease)));
          for (const outcome of outcomes) {
            if (outcome.status === 'fulfilled') assert.deepEqual(unexpectedRoles(profile, outcome.value.token.roles ?? []), [], `vended ${outcome.value.token.id}`);
            else assert.ok(outcome.reason instanceof CredentialsOverprivilegedError, String(outcome.reason));
          }
          const kept = vendor.tokens.state(profile.name)?.token;
          if (kept) assert.deepEqual(unexpectedRoles(profile, kept.roles ?? []), [], `kept ${kept.id}`);
        }
      }),
      { numRuns: 200 },
    );
  });
});
