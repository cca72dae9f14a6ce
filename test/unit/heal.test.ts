import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCredentials, type Credentials } from '../../functions/core/credentials.ts';
import { heal, SecretMovedError, type HealDeps } from '../../functions/core/heal.ts';
import type { Token } from '../../functions/core/token.ts';
import { fakeClock, HOUR } from '../support/clock.ts';

// The heal's rules on plain stand-ins for its three adapters; the same branches run through the
// emulators (real SDK client, real fetch) in test/integration/heal.test.ts.
const URL = 'https://identity.example/v2.0';
const REFUSED: Credentials = { username: 'alice', secret: { kind: 'apiKey', apiKey: 'old-key' }, tenant: null, identityUrl: null };
const TEXT = JSON.stringify({ username: 'alice', apiKey: 'old-key', tenantId: '42' });

function rig(overrides: Partial<HealDeps> = {}) {
  const clock = fakeClock();
  const calls = { readKey: [] as unknown[], replace: [] as Array<[string, string, string]>, rotate: [] as string[] };
  const deps: HealDeps = {
    now: clock.now,
    defaultIdentityUrl: URL,
    readKey: async (session) => (calls.readKey.push(session), { apiKey: 'new-key', username: 'alice' }),
    rotationUnderWay: async () => false,
    current: async () => ({ versionId: 'v1', secretString: TEXT }),
    parse: (text) => ({ ...parseCredentials(text), tenant: null }),
    replace: async (...args) => void calls.replace.push(args),
    rotate: async (id) => void calls.rotate.push(id),
    ...overrides,
  };
  const held: Token = { id: 'tok', expiresAt: clock.now() + HOUR, tenant: null, defaultRegion: null, catalog: [], userId: 'u-1' };
  return { clock, calls, deps, held, run: (input: Partial<Parameters<typeof heal>[0]> = {}) => heal({ secretId: 's', refused: REFUSED, held, rotates: false, ...input }, deps) };
}

describe('Function: heal', () => {
  it('stores exactly the key Identity returned, every other field kept, replacing only the version read', async () => {
    const r = rig();
    const outcome = await r.run();
    assert.deepEqual(outcome, { result: 'healed', credentials: { ...REFUSED, secret: { kind: 'apiKey', apiKey: 'new-key' } }, rotation: 'off' });
    assert.deepEqual(r.calls.replace, [['s', 'v1', JSON.stringify({ username: 'alice', apiKey: 'new-key', tenantId: '42' })]]);
    assert.deepEqual(r.calls.readKey, [{ identityUrl: URL, userId: 'u-1', tokenId: 'tok' }], "the user's own token, at the secret's Identity");
  });

  it('reads the key at the Identity URL the secret names', async () => {
    const r = rig({ parse: (text) => ({ ...parseCredentials(text), tenant: null, identityUrl: 'https://other.example/v2.0' }) });
    await r.run({ refused: { ...REFUSED, identityUrl: 'https://other.example/v2.0' } });
    assert.deepEqual(r.calls.readKey, [{ identityUrl: 'https://other.example/v2.0', userId: 'u-1', tokenId: 'tok' }]);
  });

  it('starts a rotation when the profile rotates, and says when it could not', async () => {
    const r = rig();
    assert.deepEqual([(await r.run({ rotates: true })).result, r.calls.rotate], ['healed', ['s']]);
    const failing = rig({ rotate: async () => Promise.reject(new Error('InvalidRequestException')) });
    assert.deepEqual(await failing.run({ rotates: true }), { result: 'healed', credentials: { ...REFUSED, secret: { kind: 'apiKey', apiKey: 'new-key' } }, rotation: 'failed' });
  });

  it('does nothing for a password secret, a token without a user id, or one about to expire', async () => {
    const r = rig();
    assert.equal((await r.run({ refused: { ...REFUSED, secret: { kind: 'password', password: 'p' } } })).result, 'not-an-api-key');
    assert.equal((await r.run({ held: null })).result, 'no-token');
    assert.equal((await r.run({ held: { ...r.held, userId: null } })).result, 'no-token');
    assert.equal((await r.run({ held: { ...r.held, expiresAt: r.clock.now() + 9_999 } })).result, 'token-expired');
    assert.equal((await r.run({ held: { ...r.held, expiresAt: r.clock.now() + 10_000 } })).result, 'healed', 'ten seconds left is enough');
    assert.deepEqual(r.calls.readKey.length, 1);
  });

  it('leaves a rotation between its reset and its put alone: its key is not a reset from outside', async () => {
    const r = rig({ rotationUnderWay: async () => true });
    assert.deepEqual([(await r.run()).result, r.calls.readKey, r.calls.replace], ['rotation-underway', [], []]);
    const failing = rig({ rotationUnderWay: async () => Promise.reject(Object.assign(new Error('throttled'), { name: 'ThrottlingException' })) });
    assert.deepEqual(await failing.run(), { result: 'secret-unreadable', detail: 'ThrottlingException: throttled' });
  });

  it("writes nothing when Identity's answer names another user, or the same key", async () => {
    const other = rig({ readKey: async () => ({ apiKey: 'new-key', username: 'mallory' }) });
    assert.deepEqual([(await other.run()).result, other.calls.replace], ['other-user', []]);
    const same = rig({ readKey: async () => ({ apiKey: 'old-key', username: null }) });
    assert.deepEqual([(await same.run()).result, same.calls.replace], ['same-key', []]);
  });

  it('says why when the key or the secret cannot be read, or the write is refused; a moved AWSCURRENT is a changed secret', async () => {
    const unreadable = rig({ readKey: async () => Promise.reject(Object.assign(new Error('Identity refused the call (HTTP 401)'), { name: 'IdentityRejectedError' })) });
    assert.deepEqual(await unreadable.run(), { result: 'key-unreadable', detail: 'GET apiKeyCredentials with the held token: IdentityRejectedError: Identity refused the call (HTTP 401)' });
    const secretDown = rig({ current: async () => Promise.reject(Object.assign(new Error('throttled'), { name: 'ThrottlingException' })) });
    assert.deepEqual(await secretDown.run(), { result: 'secret-unreadable', detail: 'ThrottlingException: throttled' });
    assert.equal((await rig({ current: async () => null }).run()).result, 'secret-changed');
    assert.equal((await rig({ current: async () => ({ versionId: 'v2', secretString: 'not json' }) }).run()).result, 'secret-changed');
    assert.equal((await rig({ replace: async () => Promise.reject(new SecretMovedError('moved')) }).run()).result, 'secret-changed');
    const denied = rig({ replace: async () => Promise.reject(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' })) });
    assert.deepEqual(await denied.run(), { result: 'write-refused', detail: 'AccessDeniedException: not authorized' });
    assert.deepEqual(await rig({ replace: async () => Promise.reject('odd') }).run(), { result: 'write-refused', detail: 'unknown error' });
    const long = await rig({ replace: async () => Promise.reject(Object.assign(new Error('x'.repeat(500)), { name: 'AccessDeniedException' })) }).run();
    assert.deepEqual(long, { result: 'write-refused', detail: `AccessDeniedException: ${'x'.repeat(200 - 'AccessDeniedException: '.length)}` });
  });
});
