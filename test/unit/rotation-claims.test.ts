import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { SecretVersionStore } from '../../functions/adapters/secret-versions.ts';
import { claimVersionId, parseSession, SESSION_STAGE, sessionText, type SavedSession } from '../../functions/rotate/session.ts';
import { CLAIM_MARGIN_MS, RotationError, runStep } from '../../functions/rotate/steps.ts';
import { deps, memoryVersions, NOW, type Version } from '../support/rotation-fakes.ts';

// The claims, the read-back with saved sessions and the label moves of finishSecret, where a call
// fails or a state is one that a rotation driven by RotateSecret reaches only under overlap. The
// store is the in-memory implementation of our own port (test/support/rotation-fakes.ts).

const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:rackspace/billing';
const IDENTITY = 'https://identity.example/v2.0';
const current = JSON.stringify({ username: 'billing-bot', apiKey: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' });
const iso = (ms: number) => new Date(ms).toISOString();

async function refusal(run: Promise<unknown>): Promise<RotationError> {
  const error: unknown = await run.then(() => null, (e: unknown) => e);
  assert.ok(error instanceof RotationError, `a RotationError, got ${String(error)}`);
  return error;
}

const saved = (tokenId: string, over: Partial<SavedSession> = {}): string =>
  sessionText({ rotation: 'v2', identityUrl: IDENTITY, userId: '10040001', tokenId, expiresAt: NOW + 3_600_000, ...over });
/** A claim whose invocation's time and the clocks' margin are behind us. */
const dead = (tokenId: string) => saved(tokenId, { claim: `run-${tokenId}`, until: NOW - CLAIM_MARGIN_MS });
/** The current key and an empty AWSPENDING, plus the given versions (claims unlabelled unless said). */
const rotating = (extra: Record<string, Version> = {}): Record<string, Version> => ({
  v1: { secretString: current, stages: ['AWSCURRENT'] },
  v2: { secretString: null, stages: ['AWSPENDING'] },
  ...extra,
});
const claimAt = (n: number, secretString: string, stages: string[] = []) => ({ [claimVersionId('v2', n)]: { secretString, stages } });

/** Identity refuses the current key; keys.current answers for the tokens in `accepted`, refuses the others, and records each token it was asked with. */
function refusedCurrentKey(store: SecretVersionStore, accepted: string[]) {
  const refused = new Error('401');
  const askedWith: string[] = [];
  const d = deps(store, {
    authenticate: async () => Promise.reject(refused),
    isUnauthorized: (error) => error === refused,
    keys: {
      reset: async () => Promise.reject(new Error('no reset while recovering')),
      current: async (session) => (askedWith.push(session.tokenId), accepted.includes(session.tokenId) ? 'recovered-key-0000000000000000000' : Promise.reject(refused)),
    },
  });
  return { d, askedWith, refused };
}

describe('Saved sessions and claim ids', () => {
  it('reads back every field a session was saved with, claim and until included or absent', () => {
    const ms = fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2100-01-01T00:00:00Z') });
    const text = fc.string({ minLength: 1 });
    const session = fc.record(
      { rotation: text, identityUrl: text, userId: text, tokenId: text, expiresAt: ms, claim: text, until: ms },
      { requiredKeys: ['rotation', 'identityUrl', 'userId', 'tokenId', 'expiresAt'], noNullPrototype: true },
    );
    fc.assert(fc.property(session, (s) => assert.deepEqual(parseSession(sessionText(s)), s)));
  });

  it('derives a UUID-shaped ClientRequestToken per rotation and claim number, the same on every call', () => {
    const ids = [claimVersionId('v2', 0), claimVersionId('v2', 1), claimVersionId('v3', 0)];
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(new Set(ids).size, 3);
    assert.equal(claimVersionId('v2', 1), ids[1]);
  });
});

describe('createSecret: claims', () => {
  it('takes the claim after every dead one', async () => {
    const versions = rotating({ ...claimAt(0, dead('tok-a')), ...claimAt(1, dead('tok-b')) });
    const { store } = memoryVersions(versions);
    assert.equal((await runStep('createSecret', SECRET, 'v2', deps(store))).outcome, 'reset');
    assert.equal(versions[claimVersionId('v2', 1)]?.secretString, dead('tok-b'), 'the dead claim is left as it was');
    assert.equal(parseSession(versions[claimVersionId('v2', 2)]?.secretString ?? '')?.tokenId, 'tok-rotation-0001', 'the third claim is ours');
  });

  it("skips a claim id holding another rotation's live session: it holds nothing for this one", async () => {
    const versions = rotating(claimAt(0, saved('tok-other', { rotation: 'v-other', claim: 'other', until: NOW + 60_000 })));
    const { store } = memoryVersions(versions);
    const d = deps(store);
    assert.equal((await runStep('createSecret', SECRET, 'v2', d)).outcome, 'reset');
    assert.deepEqual(d.calls, ['authenticate', 'reset', 'current']);
    assert.ok(versions[claimVersionId('v2', 1)], 'the next claim');
  });

  it('refuses a claim after the rotation has been claimed MAX times, before the reset', async () => {
    const claims = Object.assign({}, ...Array.from({ length: 20 }, (_, n) => claimAt(n, dead(`tok-${n}`)))) as Record<string, Version>;
    const { store, writes } = memoryVersions(rotating(claims));
    const d = deps(store);
    assert.equal(
      (await refusal(runStep('createSecret', SECRET, 'v2', d))).message,
      "This rotation has been claimed 20 times without finishing; investigate the rotation function's failures before running it again.",
    );
    assert.deepEqual([writes, d.calls], [[], ['authenticate']]);
  });

  it('passes a failed put of the claim other than ResourceExistsException through, before the reset', async () => {
    const { store } = memoryVersions(rotating());
    const denied = Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
    store.put = async () => Promise.reject(denied);
    const d = deps(store);
    await assert.rejects(runStep('createSecret', SECRET, 'v2', d), (error) => error === denied);
    assert.deepEqual(d.calls, ['authenticate']);
  });

  it("names this invocation's own end when the claim that won the race is not a session", async () => {
    const versions = rotating();
    const { store } = memoryVersions(versions);
    store.put = async (_id, version) => {
      versions[version.versionId as string] = { secretString: '{"rotation":"v2"}', stages: [SESSION_STAGE] };
      throw Object.assign(new Error('exists'), { name: 'ResourceExistsException' });
    };
    const d = deps(store);
    assert.match((await refusal(runStep('createSecret', SECRET, 'v2', d))).message, new RegExp(`\\(until ${iso(d.invocationEnds + CLAIM_MARGIN_MS)}\\)`));
    assert.deepEqual(d.calls, ['authenticate']);
  });

  it('fails with a message naming until when the session lasts when the key cannot be read back after the reset, storing nothing as AWSPENDING', async () => {
    const { store, writes } = memoryVersions(rotating());
    const outage = new Error('Identity answered 503');
    const d = deps(store);
    d.keys.current = async () => Promise.reject(outage);
    const error = await refusal(runStep('createSecret', SECRET, 'v2', d));
    assert.equal(
      error.message,
      `The key was reset but could not be read back; run rotate-secret again before ${iso(NOW + 3_600_000)}: the re-attempt reads the key back with the saved session.`,
    );
    assert.equal(error.cause, outage);
    assert.deepEqual(writes, [`put ${SESSION_STAGE}`]);
  });
});

describe('createSecret: reading the key back with saved sessions', () => {
  it('reads with a claim of this rotation that follows a claim id holding no session', async () => {
    const versions = rotating({ ...claimAt(0, 'not a session'), ...claimAt(1, saved('tok-b', { claim: 'b', until: NOW - CLAIM_MARGIN_MS })) });
    const { store } = memoryVersions(versions);
    const { d, askedWith } = refusedCurrentKey(store, ['tok-b']);
    assert.equal((await runStep('createSecret', SECRET, 'v2', d)).outcome, 'recovered');
    assert.deepEqual(askedWith, ['tok-b']);
    assert.equal(JSON.parse(versions.v2?.secretString ?? '{}').apiKey, 'recovered-key-0000000000000000000');
  });

  it('tries the newest session first and an older one when Identity refuses it (revoked)', async () => {
    const { store } = memoryVersions(rotating({ ...claimAt(0, dead('tok-a')), ...claimAt(1, dead('tok-b'), [SESSION_STAGE]) }));
    const { d, askedWith } = refusedCurrentKey(store, ['tok-a']);
    assert.equal((await runStep('createSecret', SECRET, 'v2', d)).outcome, 'recovered');
    assert.deepEqual(askedWith, ['tok-b', 'tok-a']);
  });

  it('skips an expired session, however new', async () => {
    const { store } = memoryVersions(rotating({ ...claimAt(0, dead('tok-a')), ...claimAt(1, saved('tok-b', { claim: 'b', until: NOW - CLAIM_MARGIN_MS, expiresAt: NOW - 1 })) }));
    const { d, askedWith } = refusedCurrentKey(store, ['tok-a', 'tok-b']);
    assert.equal((await runStep('createSecret', SECRET, 'v2', d)).outcome, 'recovered');
    assert.deepEqual(askedWith, ['tok-a']);
  });

  it('names the latest expiry when every saved session has expired', async () => {
    const expired = (tokenId: string, expiresAt: number) => saved(tokenId, { claim: tokenId, until: NOW - CLAIM_MARGIN_MS, expiresAt });
    const { store } = memoryVersions(rotating({ ...claimAt(0, expired('tok-a', NOW - 5_000)), ...claimAt(1, expired('tok-b', NOW - 9_000)) }));
    const { d, askedWith } = refusedCurrentKey(store, ['tok-a', 'tok-b']);
    assert.match((await refusal(runStep('createSecret', SECRET, 'v2', d))).message, new RegExp(`saved session expired at ${iso(NOW - 5_000)}:`));
    assert.deepEqual(askedWith, []);
  });

  it('asks Identity once with the labelled claim (it is one of the claims), and stops naming the refusal when every session is refused', async () => {
    const { store, writes } = memoryVersions(rotating(claimAt(0, dead('tok-a'), [SESSION_STAGE])));
    const { d, askedWith, refused } = refusedCurrentKey(store, []);
    const error = await refusal(runStep('createSecret', SECRET, 'v2', d));
    assert.equal(
      error.message,
      'The key was reset by an earlier attempt of this rotation, but Rackspace Identity refuses every session it saved (revoked): reset the key in the Rackspace portal and put it in the secret by hand.',
    );
    assert.equal(error.cause, refused);
    assert.deepEqual([askedWith, writes], [['tok-a'], []]);
  });

  it('also reads with a labelled session saved before claims existed, newest first', async () => {
    const { store } = memoryVersions(rotating({ ...claimAt(0, dead('tok-a')), v3: { secretString: saved('tok-legacy'), stages: [SESSION_STAGE] } }));
    const { d, askedWith } = refusedCurrentKey(store, ['tok-legacy']);
    assert.equal((await runStep('createSecret', SECRET, 'v2', d)).outcome, 'recovered');
    assert.deepEqual(askedWith, ['tok-legacy']);
  });

  it('passes a failure to read the key back other than a refusal through, without trying older sessions', async () => {
    const { store, writes } = memoryVersions(rotating({ ...claimAt(0, dead('tok-a')), ...claimAt(1, dead('tok-b')) }));
    const { d } = refusedCurrentKey(store, []);
    const outage = new Error('Identity answered 503');
    const askedWith: string[] = [];
    d.keys.current = async (session) => (askedWith.push(session.tokenId), Promise.reject(outage));
    await assert.rejects(runStep('createSecret', SECRET, 'v2', d), (error) => error === outage);
    assert.deepEqual([askedWith, writes], [['tok-b'], []]);
  });
});

describe('finishSecret: failures and duplicates', () => {
  const finishing = () => memoryVersions({ v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: current, stages: ['AWSPENDING'] } });

  it('passes an Identity failure other than a refusal through, and names a refusal as the cause', async () => {
    const outage = new Error('Identity answered 503');
    const refused = new Error('401');
    const a = finishing();
    await assert.rejects(runStep('finishSecret', SECRET, 'v2', deps(a.store, { authenticate: async () => Promise.reject(outage) })), (error) => error === outage);
    const b = finishing();
    const error = await refusal(runStep('finishSecret', SECRET, 'v2', deps(b.store, { authenticate: async () => Promise.reject(refused), isUnauthorized: (e) => e === refused })));
    assert.equal(error.cause, refused);
    assert.deepEqual([a.writes, b.writes], [[], []]);
  });

  /** moveStage fails for `stage`, after `before` ran (what a duplicate finish or a lost answer left). */
  function failingMove(store: SecretVersionStore, stage: string, before: (move: SecretVersionStore['moveStage']) => Promise<void>) {
    const failure = new Error('moveStage failed');
    const move = store.moveStage.bind(store);
    store.moveStage = async (id, moved, where) => {
      if (moved !== stage) return move(id, moved, where);
      await before(move);
      throw failure;
    };
    return failure;
  }

  it('finishes when a failed move of AWSCURRENT finds it moved already (a duplicate finish)', async () => {
    const { store, writes } = finishing();
    failingMove(store, 'AWSCURRENT', (move) => move(SECRET, 'AWSCURRENT', { moveTo: 'v2', removeFrom: 'v1' }));
    assert.equal((await runStep('finishSecret', SECRET, 'v2', deps(store))).outcome, 'finished');
    assert.deepEqual(writes, ['move AWSCURRENT to v2 from v1', 'move AWSPENDING from v2']);
  });

  it('passes a failed move of AWSCURRENT through while the version is not AWSCURRENT, leaving AWSPENDING on it', async () => {
    const { store, writes } = finishing();
    const failure = failingMove(store, 'AWSCURRENT', async () => {});
    await assert.rejects(runStep('finishSecret', SECRET, 'v2', deps(store)), (error) => error === failure);
    assert.deepEqual(writes, []);
  });

  it('passes a failed move of AWSCURRENT through when the version has lost every label meanwhile', async () => {
    const versions: Record<string, Version> = { v1: { secretString: current, stages: ['AWSCURRENT'] }, v2: { secretString: current, stages: ['AWSPENDING'] } };
    const { store } = memoryVersions(versions);
    const failure = failingMove(store, 'AWSCURRENT', async () => {
      (versions.v2 as Version).stages = [];
    });
    await assert.rejects(runStep('finishSecret', SECRET, 'v2', deps(store)), (error) => error === failure);
  });

  it('finishes when a failed removal of AWSPENDING finds it removed already', async () => {
    const { store, writes } = finishing();
    failingMove(store, 'AWSPENDING', (move) => move(SECRET, 'AWSPENDING', { removeFrom: 'v2' }));
    assert.equal((await runStep('finishSecret', SECRET, 'v2', deps(store))).outcome, 'finished');
    assert.deepEqual(writes, ['move AWSCURRENT to v2 from v1', 'move AWSPENDING from v2']);
  });

  it('passes a failed removal of AWSPENDING through while it is still there', async () => {
    const { store } = finishing();
    const failure = failingMove(store, 'AWSPENDING', async () => {});
    await assert.rejects(runStep('finishSecret', SECRET, 'v2', deps(store)), (error) => error === failure);
  });

  it('finishes, revoking nothing, when the saved sessions cannot be read', async () => {
    const { store, writes } = finishing();
    const value = store.value.bind(store);
    store.value = async (id, select) => (select.stage === 'AWSPENDING' ? value(id, select) : Promise.reject(new Error('GetSecretValue failed')));
    const d = deps(store);
    assert.deepEqual(await runStep('finishSecret', SECRET, 'v2', d), { outcome: 'finished', keySha256: createHash('sha256').update('a1b2c3d4e5f60718293a4b5c6d7e8f90').digest('hex').slice(0, 12), sessions: [] });
    assert.deepEqual([writes, d.calls], [['move AWSCURRENT to v2 from v1', 'move AWSPENDING from v2'], ['authenticate']]);
  });
});
