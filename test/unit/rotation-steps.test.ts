import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCredentials } from '../../functions/core/credentials.ts';
import { createHash } from 'node:crypto';
import { claimVersionId, SESSION_STAGE, sessionText } from '../../functions/rotate/session.ts';
import { CLAIM_MARGIN_MS, RotationError, runStep } from '../../functions/rotate/steps.ts';
import { deps, memoryVersions, NOW, type Version } from '../support/rotation-fakes.ts';

// The rotation steps' refusals, each before anything is changed. The happy paths and recoveries run
// through the real SDK against the Secrets Manager emulator (test/integration/key-rotation.test.ts);
// these are the states that a rotation driven by RotateSecret does not reach. The store here is an
// in-memory implementation of our own port, not of the SDK.

const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:rackspace/billing';
const KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

const current = JSON.stringify({ username: 'billing-bot', apiKey: KEY });
const sha = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

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

  it('finishSecret moves AWSCURRENT, clears AWSPENDING, unlabels the saved session and revokes its token', async () => {
    const saved = sessionText({ rotation: 'v2', identityUrl: 'https://identity.example/v2.0', userId: '10040001', tokenId: 'tok-rotation-0005', expiresAt: NOW + 3_600_000 });
    const { store, writes } = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: current, stages: ['AWSPENDING'] }, v3: { secretString: saved, stages: [SESSION_STAGE] } });
    const revoked: string[] = [];
    const d = deps(store, { revoke: async (url, token) => (revoked.push(`${url} ${token}`), 'revoked') });
    const result = await runStep('finishSecret', SECRET, 'v2', d);
    assert.deepEqual(result, { outcome: 'finished', keySha256: sha('a1b2c3d4e5f60718293a4b5c6d7e8f90'), sessions: [{ tokenSha256: sha('tok-rotation-0005'), end: 'revoked' }] });
    assert.deepEqual(writes, [`move ${SESSION_STAGE} from v3`, 'move AWSCURRENT to v2 from v1', 'move AWSPENDING from v2']);
    assert.deepEqual(revoked, ['https://identity.example/v2.0 tok-rotation-0005']);
  });

  it("finishSecret keeps a saved token that Identity issues now for the new key: it is the one every vend hands out", async () => {
    // Rackspace answers the same token until its last hour, so the fleet holds the token the rotation saved.
    const saved = sessionText({ rotation: 'v2', identityUrl: 'https://identity.example/v2.0', userId: '10040001', tokenId: 'tok-rotation-0001', expiresAt: NOW + 3_600_000 });
    const { store } = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: current, stages: ['AWSPENDING'] }, v3: { secretString: saved, stages: [SESSION_STAGE] } });
    const d = deps(store);
    const result = await runStep('finishSecret', SECRET, 'v2', d);
    assert.deepEqual(result.sessions, [{ tokenSha256: sha('tok-rotation-0001'), end: 'kept-in-use' }]);
    assert.deepEqual(d.calls, ['authenticate']);
  });

  it('finishSecret still finishes when Identity does not confirm a revocation, and says so in a warning', async () => {
    const saved = sessionText({ rotation: 'v2', identityUrl: 'https://identity.example/v2.0', userId: '10040001', tokenId: 'tok-rotation-0006', expiresAt: NOW + 3_600_000 });
    const { store, writes } = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: current, stages: ['AWSPENDING'] }, v3: { secretString: saved, stages: [SESSION_STAGE] } });
    const result = await runStep('finishSecret', SECRET, 'v2', deps(store, { revoke: async () => 'failed' }));
    assert.equal(result.outcome, 'finished');
    assert.deepEqual(result.sessions, [{ tokenSha256: sha('tok-rotation-0006'), end: 'failed' }]);
    assert.equal(result.warning, 'Identity did not confirm the revocation of 1 saved session token(s); they stay valid until they expire. The rotation itself is complete.');
    assert.deepEqual(writes.slice(1), ['move AWSCURRENT to v2 from v1', 'move AWSPENDING from v2']);
  });

  it('finishSecret without a saved session only moves the labels and revokes nothing', async () => {
    const { store, writes } = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: current, stages: ['AWSPENDING'] } });
    const d = deps(store);
    assert.deepEqual((await runStep('finishSecret', SECRET, 'v2', d)).sessions, []);
    assert.deepEqual(writes, ['move AWSCURRENT to v2 from v1', 'move AWSPENDING from v2']);
    assert.deepEqual(d.calls, ['authenticate']);
  });

  it('finishSecret leaves AWSCURRENT where it is when Identity refuses the AWSPENDING key', async () => {
    const refused = new Error('401');
    const { store, writes } = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: current, stages: ['AWSPENDING'] } });
    const d = deps(store, { authenticate: async () => Promise.reject(refused), isUnauthorized: (error) => error === refused });
    assert.match(await refusal(runStep('finishSecret', SECRET, 'v2', d)), /^Rackspace Identity refuses the AWSPENDING key, so AWSCURRENT stays where it is/);
    assert.deepEqual(writes, []);
  });

  it('finishSecret delivered before createSecret stored a key moves nothing', async () => {
    const { store, writes } = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] } });
    assert.equal(await refusal(runStep('finishSecret', SECRET, 'v2', deps(store))), 'AWSPENDING has no value for this version: createSecret has not completed, so AWSCURRENT stays where it is.');
    assert.deepEqual(writes, []);
  });

  it("createSecret stores the key Identity reads back after the reset, not the reset's answer", async () => {
    const versions: Record<string, Version> = { v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] } };
    const { store } = memoryVersions(versions);
    const d = deps(store);
    d.keys.reset = async () => 'answered-by-reset-000000000000000';
    d.keys.current = async () => 'read-back-after-0000000000000000';
    assert.equal((await runStep('createSecret', SECRET, 'v2', d)).outcome, 'reset');
    assert.equal(JSON.parse(versions.v2?.secretString ?? '{}').apiKey, 'read-back-after-0000000000000000');
  });

  it('createSecret saves its session under the rotation\'s first claim id, and leaves it labelled for finishSecret', async () => {
    const versions: Record<string, Version> = { v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] } };
    const { store, writes } = memoryVersions(versions);
    await runStep('createSecret', SECRET, 'v2', deps(store));
    assert.deepEqual(writes, [`put ${SESSION_STAGE}`, 'put AWSPENDING']);
    assert.deepEqual(versions[claimVersionId('v2', 0)]?.stages, [SESSION_STAGE]);
  });

  it("createSecret stops before the reset while another invocation's claim holds, and takes the next claim once it is dead", async () => {
    const claimed = (until: number) => sessionText({ rotation: 'v2', identityUrl: 'https://identity.example/v2.0', userId: '10040001', tokenId: 'tok-rotation-0007', expiresAt: NOW + 3_600_000, claim: 'other-run', until });
    const live = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] }, [claimVersionId('v2', 0)]: { secretString: claimed(NOW + 1), stages: [SESSION_STAGE] } });
    const d = deps(live.store);
    assert.equal(
      await refusal(runStep('createSecret', SECRET, 'v2', d)),
      `Another invocation of this rotation holds the claim to reset the key (until ${new Date(NOW + 1 + CLAIM_MARGIN_MS).toISOString()}); it stores the new key as AWSPENDING itself. Nothing was changed; if that invocation dies, a re-attempt after that time finishes the rotation.`,
    );
    assert.deepEqual([live.writes, d.calls], [[], ['authenticate']]);
    // Dead: its invocation's end and the margin for clocks are behind us.
    const versions: Record<string, Version> = { v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] }, [claimVersionId('v2', 0)]: { secretString: claimed(NOW - CLAIM_MARGIN_MS), stages: [SESSION_STAGE] } };
    const dead = memoryVersions(versions);
    assert.equal((await runStep('createSecret', SECRET, 'v2', deps(dead.store))).outcome, 'reset');
    assert.ok(versions[claimVersionId('v2', 1)], 'the second claim');
  });

  it("createSecret that loses the race for a claim (ResourceExistsException) stops before the reset, naming when the winner's claim ends", async () => {
    const versions: Record<string, Version> = { v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] } };
    const { store } = memoryVersions(versions);
    const winnerUntil = NOW + 42_000;
    const winner = sessionText({ rotation: 'v2', identityUrl: 'https://identity.example/v2.0', userId: '10040001', tokenId: 'tok-rotation-0008', expiresAt: NOW + 3_600_000, claim: 'winner', until: winnerUntil });
    const put = store.put.bind(store);
    // The other invocation's put lands between our read of the claims and our own put.
    store.put = async (id, version) => {
      if (!version.stages.includes(SESSION_STAGE)) return put(id, version);
      versions[version.versionId as string] = { secretString: winner, stages: [SESSION_STAGE] };
      throw Object.assign(new Error('exists'), { name: 'ResourceExistsException' });
    };
    const d = deps(store);
    assert.match(await refusal(runStep('createSecret', SECRET, 'v2', d)), new RegExp(`^Another invocation of this rotation holds the claim to reset the key \\(until ${new Date(winnerUntil + CLAIM_MARGIN_MS).toISOString()}\\)`));
    assert.deepEqual(d.calls, ['authenticate']);
  });

  it('refuses testSecret before createSecret has stored the new key', async () => {
    const { store } = memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] } });
    const d = deps(store);
    assert.equal(await refusal(runStep('testSecret', SECRET, 'v2', d)), 'AWSPENDING has no value for this version: createSecret has not completed.');
    assert.deepEqual(d.calls, []);
  });
});
