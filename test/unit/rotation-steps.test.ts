import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SecretVersionStore } from '../../functions/adapters/secret-versions.ts';
import { parseCredentials } from '../../functions/core/credentials.ts';
import type { Token } from '../../functions/core/token.ts';
import { SESSION_STAGE, sessionText } from '../../functions/rotate/session.ts';
import { RotationError, runStep, type StepDeps } from '../../functions/rotate/steps.ts';

// The rotation steps' refusals, each before anything is changed. The happy paths and recoveries run
// through the real SDK against the Secrets Manager emulator (test/integration/key-rotation.test.ts);
// these are the states that a rotation driven by RotateSecret does not reach. The store here is an
// in-memory implementation of our own port, not of the SDK.

const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:rackspace/billing';
const NOW = Date.parse('2026-11-22T10:00:00Z');
const KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

interface Version {
  secretString: string | null;
  stages: string[];
}

function memoryVersions(versions: Record<string, Version>, rotationEnabled = true) {
  const writes: string[] = [];
  const store: SecretVersionStore = {
    async describe() {
      const stages = Object.fromEntries(Object.entries(versions).filter(([, v]) => v.stages.length).map(([id, v]) => [id, [...v.stages]]));
      return { rotationEnabled, stages };
    },
    async value(_secretId, { versionId, stage }) {
      const found = Object.entries(versions).find(([id, v]) => (versionId === undefined || id === versionId) && (stage === undefined || v.stages.includes(stage)));
      return found && found[1].secretString !== null ? { versionId: found[0], secretString: found[1].secretString } : null;
    },
    async put(_secretId, { versionId, secretString, stages }) {
      writes.push(`put ${stages.join(',')}`);
      const id = versionId ?? `v${Object.keys(versions).length}`;
      versions[id] = { secretString, stages };
      return id;
    },
    async moveStage(_secretId, stage, { moveTo, removeFrom }) {
      writes.push(`move ${stage}${moveTo ? ` to ${moveTo}` : ''}${removeFrom ? ` from ${removeFrom}` : ''}`);
      if (removeFrom) versions[removeFrom]?.stages.splice(versions[removeFrom].stages.indexOf(stage) >>> 0, 1);
      if (moveTo) versions[moveTo]?.stages.push(stage);
    },
  };
  return { store, writes };
}

function deps(store: SecretVersionStore, overrides: Partial<StepDeps> = {}): StepDeps & { calls: string[] } {
  const calls: string[] = [];
  return {
    store,
    authenticate: async () => {
      calls.push('authenticate');
      return { id: 'tok-rotation-0001', expiresAt: NOW + 3_600_000, tenant: { id: '110011', name: 'Acme' }, defaultRegion: 'DFW', catalog: [], userId: '10040001' } satisfies Token;
    },
    isUnauthorized: () => false,
    keys: {
      reset: async () => (calls.push('reset'), 'new-key-000000000000000000000000'),
      current: async () => (calls.push('current'), 'new-key-000000000000000000000000'),
    },
    retryingWrite: (write) => write(),
    defaultIdentityUrl: 'https://identity.api.rackspacecloud.com/v2.0',
    now: () => NOW,
    ...overrides,
    calls,
  };
}

const current = JSON.stringify({ username: 'billing-bot', apiKey: KEY });

async function refusal(run: Promise<unknown>): Promise<string> {
  const error: unknown = await run.then(() => null, (e: unknown) => e);
  assert.ok(error instanceof RotationError, `a RotationError, got ${String(error)}`);
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
    assert.equal(await refusal(runStep('createSecret', SECRET, 'v2', d)), 'The secret has no AWSCURRENT value to rotate.');
    assert.deepEqual([writes, d.calls], [[], []]);
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
    const expiresAt = NOW - 1;
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
      'The key was reset by an earlier attempt of this rotation, but its saved session expired at 2026-11-22T09:59:59.999Z: reset the key in the Rackspace portal and put it in the secret by hand.',
    );
    assert.deepEqual([writes, d.calls], [[], []]);
  });

  it('refuses testSecret before createSecret has stored the new key', async () => {
    const { store } = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] } });
    const d = deps(store);
    assert.equal(await refusal(runStep('testSecret', SECRET, 'v2', d)), 'AWSPENDING has no value for this version: createSecret has not completed.');
    assert.deepEqual(d.calls, []);
  });
});
