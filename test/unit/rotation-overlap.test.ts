import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseSession } from '../../functions/rotate/session.ts';
import { runStep, type Step, type StepResult } from '../../functions/rotate/steps.ts';
import { SecretVersions } from '../emulators/secret-versions.ts';
import { crashingGate, IdentityModel, modelDeps, SECRET_ID, versionStore, type Crash, type Gate } from '../support/rotation-model.ts';

// Every ordering of the awaits of two or three step invocations of one rotation running at once
// (a second rotate-secret, a duplicate delivery, a re-attempt while the first still runs), each of
// which may die at any of its calls, before or after the call took effect (Lambda's timeout). The
// invariant is the one operators rely on:
// - after the runs end, a key Rackspace accepts is stored in the secret (AWSCURRENT or AWSPENDING),
//   or a saved session of this rotation can still read it back;
// - a finishSecret that answers success leaves an AWSCURRENT that Rackspace accepts;
// - a re-attempt of the rotation (the steps again, one by one, after the dead invocations' time is
//   up) then finishes it: AWSCURRENT is accepted, the old key is refused, no AWSPENDING is left.
// FUZZ_ROTATION=N runs N cases instead of the default.

const NOW = Date.parse('2026-11-22T10:00:00Z');
const LAMBDA_TIMEOUT_MS = 60_000;
const OLD_KEY = 'key-0-0123456789abcdef0123456789';
const V1 = '11111111-1111-4111-8111-111111111111';
const V2 = '22222222-2222-4222-8222-222222222222';
const STEPS: Step[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];
const RUNS = Number(process.env.FUZZ_ROTATION ?? 150);

function world(sameToken: boolean) {
  let t = NOW;
  const now = () => t;
  const versions = new SecretVersions('us-east-1', () => {});
  const secret = versions.create(SECRET_ID);
  secret.rotationEnabled = true;
  versions.put(secret, JSON.stringify({ username: 'demo', apiKey: OLD_KEY }), ['AWSCURRENT'], V1);
  // RotateSecret's new version: AWSPENDING, no value yet.
  versions.put(secret, undefined, ['AWSPENDING'], V2);
  const identity = new IdentityModel(OLD_KEY, now, sameToken);
  const store = versionStore(versions, secret);
  const keyAt = (stage: string) => {
    const holder = versions.holderOf(secret, stage);
    return holder?.secretString === undefined ? undefined : (JSON.parse(holder.secretString) as { apiKey?: string }).apiKey;
  };
  return {
    identity,
    store,
    now,
    advance: (ms: number) => void (t += ms),
    keyAt,
    labels: () => Object.values(versions.stagesOf(secret)).flat(),
    /** The sessions this rotation saved, in any version. */
    sessions: () => [...secret.versions.values()].flatMap((v) => {
      const session = v.secretString === undefined ? null : parseSession(v.secretString);
      return session !== null && session.rotation === V2 ? [session] : [];
    }),
  };
}

/** A saved session of this rotation whose token Identity still honours: the key can be read back with it. */
function liveSession(w: World): boolean {
  return w.sessions().some((s) => w.identity.live(s.tokenId) && s.expiresAt > w.now());
}

type World = ReturnType<typeof world>;
const direct: Gate = async (_what, effect) => effect();

async function step(w: World, name: Step, gate: Gate = direct): Promise<StepResult> {
  return runStep(name, SECRET_ID, V2, modelDeps(w, gate, w.now() + LAMBDA_TIMEOUT_MS));
}

const invocation = fc.record({
  step: fc.oneof({ arbitrary: fc.constant<Step>('createSecret'), weight: 4 }, { arbitrary: fc.constantFrom<Step>('setSecret', 'testSecret', 'finishSecret'), weight: 2 }),
  crash: fc.option(fc.record({ at: fc.nat({ max: 12 }), after: fc.boolean() }), { freq: 2 }),
});

describe('Rotation steps under overlap, duplicates and crashes (every ordering of their awaits)', () => {
  it('always leaves a key Rackspace accepts stored or recoverable, never reports a refused AWSCURRENT as finished, and a re-attempt finishes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 3 }), fc.array(invocation, { minLength: 2, maxLength: 3 }), fc.boolean(), fc.scheduler(), async (done, runs, sameToken, s) => {
        const w = world(sameToken);
        // The steps this rotation already finished, one by one, before the overlap.
        for (const name of STEPS.slice(0, done)) await step(w, name);
        const violations: string[] = [];
        const running = runs.map(({ step: name, crash }: { step: Step; crash: Crash | null }) =>
          step(w, name, crashingGate((what) => s.schedule(Promise.resolve(what), `${name}: ${what}`), crash)).then(
            (result) => {
              if (name === 'finishSecret' && !w.identity.accepts(w.keyAt('AWSCURRENT'))) violations.push(`finishSecret answered ${result.outcome} with AWSCURRENT refused`);
            },
            () => undefined,
          ),
        );
        await s.waitIdle();
        void running;
        assert.deepEqual(violations, []);
        const stored = w.identity.accepts(w.keyAt('AWSCURRENT')) || w.identity.accepts(w.keyAt('AWSPENDING')) || liveSession(w);
        assert.ok(stored, 'the key Rackspace accepts is stored nowhere and no saved session can read it back');
        // Lambda has ended every invocation that did not return: their time is up.
        w.advance(15 * 60_000);
        if (w.keyAt('AWSPENDING') !== undefined || w.labels().includes('AWSPENDING')) {
          for (const name of STEPS) {
            await step(w, name).catch((error: Error) => assert.fail(`the re-attempt's ${name} failed: ${error.message}`));
          }
        }
        assert.ok(w.identity.accepts(w.keyAt('AWSCURRENT')), 'AWSCURRENT is accepted');
        assert.ok(!w.identity.accepts(OLD_KEY), 'the old key is refused');
        assert.ok(!w.labels().includes('AWSPENDING'), 'no AWSPENDING left');
        // Tokens of their own (not the one every authentication gets) are revoked: what is left behind is dead.
        if (!sameToken) assert.ok(!liveSession(w), 'a saved session token outlived the rotation');
      }),
      { numRuns: RUNS },
    );
  });
});
