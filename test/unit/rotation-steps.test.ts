import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCredentials } from '../../functions/core/credentials.ts';
import { SESSION_STAGE, sessionText } from '../../functions/rotate/session.ts';
import { RotationError, runStep } from '../../functions/rotate/steps.ts';
import { deps, memoryVersions, NOW, type Version } from '../support/rotation-fakes.ts';

// The rotation steps' refusals, each before anything is changed. The happy paths and recoveries run
// through the real SDK against the Secrets Manager emulator (test/integration/key-rotation.test.ts);
// these are the states that a rotation driven by RotateSecret does not reach. The store here is an
// in-memory implementation of our own port, not of the SDK.

const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:rackspace/billing';
const KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

const current = JSON.stringify({ username: 'billing-bot', apiKey: KEY });

async function refusal(run: Promise<unknown>): Promise<string> {
  const error: unknown = await run.then(() => null, (e: unknown) => e);
  assert.ok(error instanceof RotationError, `a RotationError, got ${String(error)}`);
  assert.equal(error.name, 'RotationError', 'named for the audit line');
  return error.message;
}

describe('Rotation steps: refusals before anything changes', () => {
  it('refuses every step when rotation is not enabled for the secret', async () => {
    const { store, writes } = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] } }, false);
    assert.equal(await refusal(runStep('createSecret', SECRET, 'v2', deps(store))), 'Rotation is not enabled for this secret.');
    assert.deepEqual(writes, []);
  });

  it('refuses a version that carries no staging label', async () => {
    const { store, writes } = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] } });
    assert.equal(await refusal(runStep('testSecret', SECRET, 'v9', deps(store))), 'Version v9 is not a version of this secret with a staging label.');
    assert.deepEqual(writes, []);
  });

  it('stops a step for a version that lost AWSPENDING to another rotation', async () => {
    const { store, writes } = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: current, stages: ['AWSPREVIOUS'] } });
    assert.equal(await refusal(runStep('finishSecret', SECRET, 'v2', deps(store))), 'Version v2 is not AWSPENDING: another rotation has taken its place; this one stops.');
    assert.deepEqual(writes, []);
  });

  it('clears a leftover AWSPENDING from the current version when finishSecret runs again, and only then', async () => {
    const leftover = () => memoryVersions({ v2: { secretString: current, stages: ['AWSCURRENT', 'AWSPENDING'] } });
    const finishing = leftover();
    assert.deepEqual(await runStep('finishSecret', SECRET, 'v2', deps(finishing.store)), { outcome: 'already-done' });
    assert.deepEqual(finishing.writes, ['move AWSPENDING from v2']);
    const creating = leftover();
    assert.deepEqual(await runStep('createSecret', SECRET, 'v2', deps(creating.store)), { outcome: 'already-done' });
    assert.deepEqual(creating.writes, []);
  });

  it('refuses createSecret when the secret has no AWSCURRENT value', async () => {
    const { store, writes } = memoryVersions({ v1: { secretString: null, stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] } });
    const d = deps(store);
    assert.equal(await refusal(runStep('createSecret', SECRET, 'v2', d)), 'The secret has no AWSCURRENT SecretString to rotate (no such version, or a binary one).');
    assert.deepEqual([writes, d.calls], [[], []]);
  });

  it('skips every step of a secret created empty by the stack (no version is AWSCURRENT) and leaves no rotation in progress', async () => {
    // The stack creates each secret without a value; Secrets Manager adds only the AWSPENDING version.
    for (const step of ['createSecret', 'setSecret', 'testSecret'] as const) {
      const { store, writes } = memoryVersions({ v1: { secretString: null, stages: ['AWSPENDING'] } });
      const d = deps(store);
      assert.deepEqual(await runStep(step, SECRET, 'v1', d), { outcome: step === 'setSecret' ? 'nothing-to-do' : 'not-yet-set' }, step);
      assert.deepEqual([writes, d.calls], [[], []], `${step} writes nothing and calls nobody`);
    }
    const { store, writes } = memoryVersions({ v1: { secretString: null, stages: ['AWSPENDING'] } });
    assert.deepEqual(await runStep('finishSecret', SECRET, 'v1', deps(store)), { outcome: 'not-yet-set' });
    assert.deepEqual(writes, ['move AWSPENDING from v1'], 'AWSPENDING goes, so the next rotation (after put-key) may start; AWSCURRENT is not moved to an empty version');
  });

  it("relays why the current value cannot be rotated, without quoting it", async () => {
    const unreadable = '{"username":"billing-bot","apiKey":' + `"${KEY}"`;
    const { store, writes } = memoryVersions({ v1: { secretString: unreadable, stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] } });
    const why = (() => {
      try {
        parseCredentials(unreadable);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('the fixture must be unreadable');
    })();
    const message = await refusal(runStep('createSecret', SECRET, 'v2', deps(store)));
    assert.equal(message, `The secret cannot be rotated: ${why}.`);
    assert.ok(!message.includes(KEY));
    assert.deepEqual(writes, []);
  });

  it("refuses to reset the key when Identity's answer names no user id, before saving a session", async () => {
    const { store, writes } = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] } });
    const d = deps(store);
    d.authenticate = async () => ({ id: 'tok-rotation-0002', expiresAt: NOW + 3_600_000, tenant: null, defaultRegion: null, catalog: [], userId: null });
    assert.equal(await refusal(runStep('createSecret', SECRET, 'v2', d)), "Rackspace Identity's answer names no user id (access.user.id); the key cannot be reset.");
    assert.deepEqual([writes, d.calls], [[], []]);
  });

  it("stops when the earlier attempt's saved session has expired, naming when, without reading the key", async () => {
    const refused = new Error('401');
    const expiresAt = NOW; // a session that ends this very millisecond is already of no use
    const saved = sessionText({ rotation: 'v2', identityUrl: 'https://identity.api.rackspacecloud.com/v2.0', userId: '10040001', tokenId: 'tok-rotation-0003', expiresAt });
    const { store, writes } = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] }, v3: { secretString: saved, stages: [SESSION_STAGE] } });
    const d = deps(store, {
      authenticate: async () => {
        throw refused;
      },
      isUnauthorized: (error) => error === refused,
    });
    assert.equal(
      await refusal(runStep('createSecret', SECRET, 'v2', d)),
      'The key was reset by an earlier attempt of this rotation, but its saved session expired at 2026-11-22T10:00:00.000Z: reset the key in the Rackspace portal and put it in the secret by hand.',
    );
    assert.deepEqual([writes, d.calls], [[], []]);
  });

  for (const [what, saved] of [
    ['saved by another rotation', sessionText({ rotation: 'v-other', identityUrl: 'https://identity.example/v2.0', userId: '10040001', tokenId: 'tok-rotation-0004', expiresAt: NOW + 3_600_000 })],
    ['that is not a session', '{"rotation":"v2"}'],
    ['that is not JSON', '{"rotation":"v2",'],
  ] as const) {
    it(`stops when Identity refuses the current key and the saved session is one ${what}`, async () => {
      const refused = new Error('401');
      const { store, writes } = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] }, v3: { secretString: saved, stages: [SESSION_STAGE] } });
      const d = deps(store, { authenticate: async () => Promise.reject(refused), isUnauthorized: (error) => error === refused });
      assert.match(await refusal(runStep('createSecret', SECRET, 'v2', d)), /^Rackspace Identity refuses the AWSCURRENT key and no earlier attempt of this rotation saved a session/);
      assert.deepEqual([writes, d.calls], [[], []]);
    });
  }

  it('passes an Identity failure other than a refusal through, without looking for a saved session', async () => {
    const outage = new Error('Identity answered 503');
    const { store, writes } = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] } });
    const looked: string[] = [];
    const value = store.value.bind(store);
    store.value = async (id, select) => (looked.push(select.stage ?? select.versionId ?? ''), value(id, select));
    await assert.rejects(runStep('createSecret', SECRET, 'v2', deps(store, { authenticate: async () => Promise.reject(outage) })), (error) => error === outage);
    assert.deepEqual([writes, looked.includes(SESSION_STAGE)], [[], false]);
  });

  it("resets the key through the secret's own Identity URL, or the default when the secret names none", async () => {
    for (const [secret, expected] of [
      [JSON.stringify({ username: 'billing-bot', apiKey: KEY, identityUrl: 'https://lon.identity.api.rackspacecloud.com/v2.0' }), 'https://lon.identity.api.rackspacecloud.com/v2.0'],
      [current, 'https://identity.api.rackspacecloud.com/v2.0'],
    ] as const) {
      const { store } = memoryVersions({ v1: { secretString: secret, stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] } });
      const sessions: string[] = [];
      const d = deps(store);
      d.keys.reset = async (session) => (sessions.push(session.identityUrl), 'new-key-000000000000000000000000');
      assert.equal((await runStep('createSecret', SECRET, 'v2', d)).outcome, 'reset');
      assert.deepEqual(sessions, [expected]);
    }
  });

  it('finishSecret moves AWSCURRENT, clears AWSPENDING and drops a saved session, and leaves the session label alone when there is none', async () => {
    const saved = sessionText({ rotation: 'v2', identityUrl: 'https://identity.example/v2.0', userId: '10040001', tokenId: 'tok-rotation-0005', expiresAt: NOW + 3_600_000 });
    const withSession = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: current, stages: ['AWSPENDING'] }, v3: { secretString: saved, stages: [SESSION_STAGE] } });
    assert.deepEqual(await runStep('finishSecret', SECRET, 'v2', deps(withSession.store)), { outcome: 'finished' });
    assert.deepEqual(withSession.writes, ['move AWSCURRENT to v2 from v1', 'move AWSPENDING from v2', `move ${SESSION_STAGE} from v3`]);
    const without = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: current, stages: ['AWSPENDING'] } });
    await runStep('finishSecret', SECRET, 'v2', deps(without.store));
    assert.deepEqual(without.writes, ['move AWSCURRENT to v2 from v1', 'move AWSPENDING from v2']);
  });

  it('finishSecret does not look for a saved session when no version carries its label', async () => {
    const { store } = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: current, stages: ['AWSPENDING'] } });
    const looked: string[] = [];
    const value = store.value.bind(store);
    store.value = async (id, select) => (looked.push(select.stage ?? select.versionId ?? ''), value(id, select));
    assert.deepEqual(await runStep('finishSecret', SECRET, 'v2', deps(store)), { outcome: 'finished' });
    assert.deepEqual(looked, []);
  });

  it('createSecret still succeeds when its saved session cannot be read back to drop it: the label stays for finishSecret', async () => {
    const versions: Record<string, Version> = { v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] } };
    const { store, writes } = memoryVersions(versions);
    const value = store.value.bind(store);
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    store.value = async (id, select) => (select.stage === SESSION_STAGE ? Promise.reject(throttled) : value(id, select));
    assert.equal((await runStep('createSecret', SECRET, 'v2', deps(store))).outcome, 'reset');
    assert.deepEqual(writes, [`put ${SESSION_STAGE}`, 'put AWSPENDING']);
    assert.equal(Object.values(versions).filter((v) => v.stages.includes(SESSION_STAGE)).length, 1);
  });

  it('refuses testSecret before createSecret has stored the new key', async () => {
    const { store } = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] } });
    const d = deps(store);
    assert.equal(await refusal(runStep('testSecret', SECRET, 'v2', d)), 'AWSPENDING has no value for this version: createSecret has not completed.');
    assert.deepEqual(d.calls, []);
  });
});
