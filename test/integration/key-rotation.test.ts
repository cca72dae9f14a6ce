import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { secretVersionStore } from '../../functions/adapters/secret-versions.ts';
import { DEMO_USER } from '../emulators/identity.ts';
import { fakeClock } from '../support/clock.ts';
import { DEMO_SECRET_ID } from '../local/demo.ts';
import { call } from '../support/events.ts';
import { assertRotated, rotateAndSettle, rotationRigs, type RotationRig } from '../support/rotation-rig.ts';

const OLD_KEY = DEMO_USER.apiKey as string;
const rig = rotationRigs();

/** A rig on a clock that only Identity moves: each of its answers takes 250 ms, Secrets Manager's none. */
async function timedRig() {
  const clock = fakeClock();
  return rig({
    now: clock.now,
    fetch: (inner) => async (input, init) => {
      clock.advance(250);
      return inner(input, init);
    },
  });
}

describe('Key rotation: the rotation function driven by RotateSecret through the real SDK', () => {
  it('resets the key once, stores it as AWSPENDING, tests it, makes it AWSCURRENT, and audits each step', async () => {
    const r = await rig();
    assert.equal(await rotateAndSettle(r), null);
    await assertRotated(r, OLD_KEY);
    assert.equal(r.identity.requests.reset, 1);
    const steps = r.audit().map((line) => [line.rotation.step, line.rotation.outcome]);
    assert.deepEqual(r.audit().map((line) => [line.level, (line as { message?: string }).message]), Array(4).fill(['INFO', 'rotation']));
    assert.deepEqual(steps, [['createSecret', 'reset'], ['setSecret', 'nothing-to-do'], ['testSecret', 'tested'], ['finishSecret', 'finished']]);
    const [created, , tested] = r.audit();
    assert.match(String(created?.rotation.keySha256), /^[0-9a-f]{12}$/);
    assert.equal(created?.rotation.keySha256, tested?.rotation.keySha256, 'the key tested is the key stored');
    assert.equal(created?.rotation.version, r.secrets.rotations[0]?.token);
  });

  it('skips a rotation that comes due before the key is put into the secret the stack created empty, and rotates once it is', async () => {
    const r = await rig({ secret: null });
    assert.equal(await rotateAndSettle(r), null);
    assert.deepEqual(r.audit().map((line) => [line.rotation.step, line.rotation.outcome]), [
      ['createSecret', 'not-yet-set'], ['setSecret', 'nothing-to-do'], ['testSecret', 'not-yet-set'], ['finishSecret', 'not-yet-set'],
    ]);
    assert.ok(r.secrets.rotations.at(-1)?.ok, 'the rotation succeeded: no failure, no alarm');
    assert.deepEqual(Object.values(r.secrets.stagesOf(DEMO_SECRET_ID)).flat(), [], 'no AWSPENDING left behind, and AWSCURRENT not moved onto an empty version');
    assert.equal(r.identity.requests.reset, 0, 'Rackspace was never called');
    // The operator puts the key (admin put-key): the next rotation is an ordinary one.
    r.secrets.putSecret(DEMO_SECRET_ID, JSON.stringify({ username: 'demo', apiKey: OLD_KEY, identityUrl: r.identity.url }));
    assert.equal(await rotateAndSettle(r), null);
    await assertRotated(r, OLD_KEY);
  });

  it('audits how long each step took on the injected clock: three Identity calls for createSecret (authenticate, reset, read back), one each for testSecret and finishSecret, none for setSecret', async () => {
    const r = await timedRig();
    await rotateAndSettle(r);
    await assertRotated(r, OLD_KEY);
    assert.deepEqual(r.audit().map((line) => [line.rotation.step, line.rotation.ms]), [['createSecret', 750], ['setSecret', 0], ['testSecret', 250], ['finishSecret', 250]]);
  });

  it("audits a failed step as an ERROR line with the step, secret, version, the error's name and message, and how long it took", async () => {
    const r = await timedRig();
    r.identity.setUser('demo', { apiKey: 'changed-by-hand-0123456789abcdef' });
    await rotateAndSettle(r);
    const failed = r.audit().filter((line) => line.rotation.outcome === 'failed');
    const reason =
      'RotationError: Rackspace Identity refuses the AWSCURRENT key and no earlier attempt of this rotation saved a session: the key was changed outside this rotation. Put the working key in the secret by hand (docs/operations.md, "Rotating keys").';
    assert.deepEqual(
      failed.map((line) => [line.level, (line as { message?: string }).message, line.rotation]),
      [['ERROR', 'rotation', { step: 'createSecret', secretId: r.secrets.arnOf(DEMO_SECRET_ID), version: r.secrets.rotations[0]?.token, outcome: 'failed', reason, ms: 250 }]],
    );
  });

  it('retries the put of the new key when it fails twice after the reset: one reset, nothing lost', async () => {
    const r = await rig();
    const pendingPut = (input: Record<string, unknown>) => JSON.stringify(input.VersionStages) === '["AWSPENDING"]';
    r.secrets.injectFaults({ type: 'InternalServiceError', operation: 'PutSecretValue', when: pendingPut }, { type: 'ThrottlingException', operation: 'PutSecretValue', when: pendingPut });
    await rotateAndSettle(r);
    await assertRotated(r, OLD_KEY);
    assert.equal(r.identity.requests.reset, 1);
    assert.equal(r.secrets.calls.PutSecretValue, 4, 'the session, then the new key three times');
    assert.equal(r.waits.length, 2, 'one backoff wait before each retry, on the injected sleep');
  });

  it('does no harm when every step is invoked twice: one reset, the second run of each step finds its work done', async () => {
    const r = await rig({ invocationsPerStep: 2 });
    await rotateAndSettle(r);
    await assertRotated(r, OLD_KEY);
    assert.equal(r.identity.requests.reset, 1);
    const outcomes = r.audit().map((line) => `${line.rotation.step}:${line.rotation.outcome}`);
    assert.deepEqual(outcomes.filter((o) => o.startsWith('createSecret')), ['createSecret:reset', 'createSecret:already-done']);
    assert.deepEqual(outcomes.filter((o) => o.startsWith('finishSecret')), ['finishSecret:finished', 'finishSecret:already-done']);
  });

  it('after a crash between the reset and the put, the re-attempt reads the new key back with the saved session', async () => {
    let crashes = 1;
    const r = await rig({
      invocationTimeoutMs: 500,
      fetch: (inner) => async (input, init) => {
        const response = await inner(input, init);
        // The reset happened at Rackspace; the invocation hangs until Lambda's timeout ends it, before the put.
        if (String(input).endsWith('/RAX-AUTH/reset') && crashes-- > 0) await new Promise(() => {});
        return response;
      },
    });
    await rotateAndSettle(r);
    assert.deepEqual(r.secrets.rotations[0]?.steps.map((s) => [s.step, s.ok, s.error]), [['createSecret', false, 'Error: Task timed out after 500 ms']]);
    assert.equal(r.valueAt('AWSCURRENT')?.apiKey, OLD_KEY, 'the secret still holds the old key…');
    assert.equal(await r.identityStatus(OLD_KEY), 401, '…which Rackspace already refuses');
    // The AWSPENDING left behind makes RotateSecret re-attempt the same rotation, as the service does.
    assert.match(String(await rotateAndSettle(r)), /InvalidRequestException: A previous rotation isn't complete/);
    assert.equal(r.secrets.rotations[1]?.token, r.secrets.rotations[0]?.token);
    await assertRotated(r, OLD_KEY);
    assert.deepEqual([r.identity.requests.reset, r.identity.requests.getKey], [1, 1]);
    assert.equal(r.audit().find((line) => line.rotation.outcome === 'recovered')?.rotation.step, 'createSecret');
  });

  it('when the put never lands, the step fails and the next attempt recovers the key with the GET call', async () => {
    const r = await rig();
    const pendingPut = (input: Record<string, unknown>) => JSON.stringify(input.VersionStages) === '["AWSPENDING"]';
    r.secrets.injectFaults(...Array.from({ length: 5 }, () => ({ type: 'InternalServiceError', operation: 'PutSecretValue', when: pendingPut })));
    await rotateAndSettle(r);
    const failed = r.audit().find((line) => line.rotation.outcome === 'failed');
    assert.match(String(failed?.rotation.reason), /could not be stored as AWSPENDING; run rotate-secret again before \d{4}-\d\d-\d\dT.*\(.*InternalServiceError/);
    await rotateAndSettle(r);
    await assertRotated(r, OLD_KEY);
    assert.deepEqual([r.identity.requests.reset, r.identity.requests.getKey], [1, 2], 'the read-back after the reset, then the recovery');
  });

  it('refuses a password profile with a clear message, and resets nothing', async () => {
    const r = await rig({ secret: (identityUrl) => ({ username: 'demo', password: 'demo-password-0123456789', identityUrl }) });
    await rotateAndSettle(r);
    const failed = r.audit().find((line) => line.rotation.outcome === 'failed');
    assert.match(String(failed?.rotation.reason), /holds a password; only API keys rotate/);
    assert.equal(r.identity.requests.reset, 0);
    assert.equal(r.valueAt('AWSCURRENT')?.password, 'demo-password-0123456789');
  });

  it('stops with a clear message when the current key was changed outside the rotation (no session to recover with)', async () => {
    const r = await rig();
    r.identity.setUser('demo', { apiKey: 'changed-by-hand-0123456789abcdef' });
    await rotateAndSettle(r);
    const failed = r.audit().find((line) => line.rotation.outcome === 'failed');
    assert.match(String(failed?.rotation.reason), /refuses the AWSCURRENT key and no earlier attempt of this rotation saved a session/);
    assert.equal(r.identity.requests.reset, 0);
  });

  it('refuses an event that is not a rotation step, naming the field, before calling anything', async () => {
    const r = await rig();
    await assert.rejects(r.handler({ Step: 'dropSecret', SecretId: 'x', ClientRequestToken: 'short' }), /Not a Secrets Manager rotation event: Step: [^;]+; ClientRequestToken: /);
    // An event that is not an object at all has no field to name: the message says so.
    await assert.rejects(r.handler('createSecret'), /^Error: Not a Secrets Manager rotation event: \(event\): /);
    assert.deepEqual(r.secrets.calls, {});
    const line = r.audit().at(-1) as { level: string; message: string; rotation: Record<string, unknown> };
    assert.deepEqual([line.level, line.message, line.rotation.step, line.rotation.outcome], ['ERROR', 'rotation', null, 'failed']);
    assert.match(String(line.rotation.reason), /^not a Secrets Manager rotation event: \(event\): /);
  });

  it('refuses a step for a secret whose rotation is off (DescribeSecret: RotationEnabled false), before reading any value', async () => {
    const r = await rig();
    const token = '00000000-0000-4000-8000-000000000001';
    await assert.rejects(r.handler({ Step: 'createSecret', SecretId: DEMO_SECRET_ID, ClientRequestToken: token }), /^RotationError: Rotation is not enabled for this secret\.$/);
    assert.deepEqual(r.secrets.calls, { DescribeSecret: 1 });
    assert.equal(r.audit().at(-1)?.rotation.reason, 'RotationError: Rotation is not enabled for this secret.');
  });

  it('a step for a version that is no longer AWSPENDING stops without touching anything', async () => {
    const r = await rig();
    await rotateAndSettle(r);
    const token = r.secrets.rotations[0]?.token as string;
    const stale = '00000000-0000-4000-8000-000000000000';
    await assert.rejects(r.handler({ Step: 'createSecret', SecretId: DEMO_SECRET_ID, ClientRequestToken: stale }), /not a version of this secret/);
    await r.handler({ Step: 'finishSecret', SecretId: DEMO_SECRET_ID, ClientRequestToken: token });
    assert.equal(r.audit().at(-1)?.rotation.outcome, 'already-done');
    assert.equal(r.identity.requests.reset, 1);
  });
});

describe("The rotation's version store over the real SDK client", () => {
  it('answers null for a value it cannot hand out: no such label, a binary secret, an answer naming no version', async () => {
    const r = await rig();
    const store = secretVersionStore(r.client);
    assert.equal(await store.value(DEMO_SECRET_ID, { stage: 'AWSPENDING' }), null);
    r.secrets.injectFaults({ type: 'MalformedAnswer', operation: 'GetSecretValue', answer: { Name: DEMO_SECRET_ID, SecretString: '{}' } });
    assert.equal(await store.value(DEMO_SECRET_ID, { stage: 'AWSCURRENT' }), null);
    r.secrets.putSecret(DEMO_SECRET_ID, new Uint8Array([0x7b, 0x7d]));
    assert.equal(await store.value(DEMO_SECRET_ID, { stage: 'AWSCURRENT' }), null);
  });

  it("passes any other failure through as the SDK's error, for secretsRetryVerdict to judge", async () => {
    const r = await rig();
    r.secrets.injectFaults({ operation: 'GetSecretValue', type: 'ThrottlingException' });
    await assert.rejects(secretVersionStore(r.client).value(DEMO_SECRET_ID, { stage: 'AWSCURRENT' }), { name: 'ThrottlingException' });
  });
});

describe('Vending during a key rotation', () => {
  it('a new environment between createSecret and finishSecret, when Identity refuses AWSCURRENT, authenticates with AWSPENDING: no failure', async () => {
    const seen: Record<string, { statuses: number[]; currentRefused: boolean }> = {};
    let vends: RotationRig | undefined;
    const r = await rig({
      afterInvocation: async (event) => {
        const v = vends as RotationRig;
        const currentRefused = (await v.identityStatus(v.valueAt('AWSCURRENT')?.apiKey as string)) === 401;
        seen[event.Step] = { statuses: [await v.coldVend(), await v.coldVend()], currentRefused };
      },
    });
    vends = r;
    await rotateAndSettle(r);
    await assertRotated(r, OLD_KEY);
    const refused = { statuses: [200, 200], currentRefused: true };
    assert.deepEqual(seen, { createSecret: refused, setSecret: refused, testSecret: refused, finishSecret: { statuses: [200, 200], currentRefused: false } });
  });

  it('a warm environment keeps serving its cached token through the whole rotation, without asking Identity', async () => {
    const r = await rig();
    const warm = r.vendingEnvironment();
    assert.equal((await call(warm)).statusCode, 200);
    const identityCalls = r.identity.calls;
    const rotation = rotateAndSettle(r);
    const statuses: number[] = [];
    // A cached answer needs no I/O: yield each time, or the rotation's requests would never be served.
    while (!r.secrets.rotations[0]?.steps.some((s) => s.step === 'finishSecret') && statuses.length < 5_000) {
      statuses.push((await call(warm)).statusCode);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await rotation;
    assert.ok(statuses.length > 0);
    assert.deepEqual([...new Set(statuses)], [200]);
    assert.equal(r.identity.calls - identityCalls, 3, 'only the rotation authenticated (createSecret, testSecret, finishSecret)');
  });

  it('in the window between the reset and the put of AWSPENDING a new environment still fails (502): the remaining window', async () => {
    let during: number | undefined;
    let vends: RotationRig | undefined;
    const r = await rig({
      fetch: (inner) => async (input, init) => {
        const response = await inner(input, init);
        if (String(input).endsWith('/RAX-AUTH/reset')) during = await (vends as RotationRig).coldVend();
        return response;
      },
    });
    vends = r;
    await rotateAndSettle(r);
    await assertRotated(r, OLD_KEY);
    assert.equal(during, 502, 'the new key exists only in the rotation function until the put lands');
  });
});

describe('Vending with an AWSPENDING version Identity refuses too', () => {
  it('answers 502 and remembers the current key as refused: the next request asks Identity nothing', async () => {
    const r = await rig();
    const { PutSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    const stale = { username: 'demo', apiKey: 'a-stale-pending-key-0123456789', identityUrl: r.identity.url };
    await r.client.send(new PutSecretValueCommand({ SecretId: DEMO_SECRET_ID, SecretString: JSON.stringify(stale), VersionStages: ['AWSPENDING'] }));
    r.identity.setUser('demo', { apiKey: 'set-elsewhere-0123456789abcdef' });
    const environment = r.vendingEnvironment();
    const first = await call(environment);
    assert.equal(first.statusCode, 502);
    assert.equal(r.identity.calls, 2, 'AWSCURRENT, then AWSPENDING, each refused once');
    assert.equal((await call(environment)).statusCode, 502);
    assert.equal(r.identity.calls, 2, 'neither key is sent again');
  });
});
