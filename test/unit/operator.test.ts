import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Revocation } from '../../functions/adapters/identity-revoke.ts';
import type { Credentials } from '../../functions/core/credentials.ts';
import { createLogger } from '../../functions/core/logger.ts';
import { SecretCache } from '../../functions/core/secret-cache.ts';
import { memoryStore } from '../../functions/adapters/memory-store.ts';
import { Fleet } from '../../functions/core/fleet.ts';
import { aloneTier } from '../../functions/core/shared-tier.ts';
import { StoreUnavailableError } from '../../functions/core/token-store.ts';
import type { Token } from '../../functions/core/token.ts';
import { isOperatorEvent, operatorFlush, type OperatorDeps } from '../../functions/token/operator.ts';

describe('isOperatorEvent: which direct invokes go to the operator entry point', () => {
  it('takes an object that names an operation, valid or not (the flush then says what is wrong)', () => {
    assert.deepEqual([isOperatorEvent({ operation: 'flush' }), isOperatorEvent({ operation: 42 })], [true, true]);
  });

  it('leaves everything else to the API Gateway path, without throwing on non-objects', () => {
    const arrayWithOperation = Object.assign([], { operation: 'flush' });
    assert.deepEqual([null, undefined, 'operation', 7, {}, arrayWithOperation].map(isOperatorEvent), [false, false, false, false, false, false]);
  });
});

// The flush's own rules, with its dependencies as plain functions: the emulator-backed cases are in
// test/integration/shared-tier.test.ts; these are the ones no emulator can stage on demand.
describe('operatorFlush: outcomes that depend on timing or on what a dependency throws', () => {
  const token = (id: string): Token => ({ id, expiresAt: 0, tenant: null, defaultRegion: null, catalog: [] });
  const credentials: Credentials = { username: 'billing-user', secret: { kind: 'apiKey', apiKey: 'operator-test-key-0123456789' }, tenant: null, identityUrl: null };

  function deps(overrides: Partial<OperatorDeps>): { deps: OperatorDeps; lines: Array<{ level: string; message: string; audit: Record<string, unknown> }> } {
    const lines: Array<{ level: string; message: string; audit: Record<string, unknown> }> = [];
    return {
      lines,
      deps: {
        profiles: new Map([['billing', { name: 'billing', secretId: 'billing-secret', allow: [] }]]),
        shared: aloneTier,
        held: () => null,
        forget: () => null,
        secrets: new SecretCache<Credentials>({ now: () => 0, ttlMs: 60_000, read: async () => credentials }),
        defaultIdentityUrl: 'http://identity.invalid/v2.0',
        revoke: async () => 'revoked',
        logger: createLogger({ sink: (line) => void lines.push(JSON.parse(line)) }),
        ...overrides,
      },
    };
  }

  /** A fleet over the in-memory store whose record holds `held` (issued to id-1). */
  async function fleetHolding(held: Token) {
    const store = memoryStore();
    const fleet = new Fleet({ store, owner: 'i-1', now: () => 0, sleep: async () => {}, random: () => 0.5, leaseMs: 10_000, backoffFor: () => null });
    await store.acquire('billing', { owner: 'i-1', until: 10_000, revision: 0 });
    await store.publish('billing', { owner: 'i-1', token: held, identity: 'id-1', confirmedAt: 0 });
    return { store, fleet };
  }
  const later = (id: string): Token => ({ ...token(id), expiresAt: 1 });

  it('revokes a token published during the flush before dropping it, and drops nothing it could not revoke', async () => {
    const first = token('first-token-0001');
    const published = later('published-during-flush-0002');
    for (const [answer, status, detail, left] of [
      ['revoked', 200, 'Revoked at Rackspace and dropped fleet-wide.', null],
      ['failed', 503, 'Identity did not confirm the revocation, so the tokens revoked before it were dropped, it was not: invoke again.', published.id],
    ] as const) {
      const { store, fleet } = await fleetHolding(first);
      const revoke = async (_url: string, id: string): Promise<Revocation> => {
        // Another instance publishes a later token while the first is being revoked.
        if (id === first.id) await store.publish('billing', { owner: 'i-2', token: published, identity: 'id-1', confirmedAt: 0 });
        return id === first.id ? 'revoked' : answer;
      };
      const { deps: d, lines } = deps({ shared: fleet, revoke });
      const result = await operatorFlush(d)({ operation: 'flush', profile: 'billing' }, { awsRequestId: 'op-2' });
      assert.deepEqual([result.status, result.tokens.map((t) => t.revocation), result.detail], [status, ['revoked', answer], detail]);
      assert.equal((await store.read('billing')).token?.id ?? null, left);
      assert.equal(lines.at(-1)?.audit.detail, detail, 'the audit line says what happened');
    }
  });

  it("keeps this instance's copy when it is not the token revoked (renewed meanwhile), and drops it when it is", async () => {
    const mine = token('mine-0004');
    let held: Token | null = mine;
    const forgotten: string[] = [];
    const { deps: d } = deps({ held: () => held, forget: () => (forgotten.push(held!.id), held) });
    const alone = await operatorFlush(d)({ operation: 'flush', profile: 'billing' }, {});
    assert.deepEqual([alone.status, alone.detail], [200, 'Revoked at Rackspace and dropped fleet-wide.'], 'revoked, not "no token was held"');
    held = mine;
    const renewing = deps({ held: () => held, forget: () => (forgotten.push(held!.id), held), revoke: async () => ((held = token('renewed-0005')), 'revoked') });
    assert.equal((await operatorFlush(renewing.deps)({ operation: 'flush', profile: 'billing' }, {})).status, 200);
    assert.deepEqual(forgotten, ['mine-0004']);
  });

  it('says the table did not confirm the drop when its answer is lost after the write landed: the token was revoked first, and the next flush finds none', async () => {
    const first = token('first-token-0006');
    const { store, fleet } = await fleetHolding(first);
    const drop = store.drop;
    store.drop = async (...args) => (await drop(...args), Promise.reject(new StoreUnavailableError('dynamodb', 'DynamoDB UpdateItem TimeoutError')));
    const revoked: string[] = [];
    const { deps: d } = deps({ shared: fleet, revoke: async (_url, id) => (revoked.push(id), 'revoked') });
    const lost = await operatorFlush(d)({ operation: 'flush', profile: 'billing' }, {});
    assert.deepEqual([lost.status, lost.detail, revoked], [503, 'Revoked at Rackspace, but the shared record did not confirm the drop (dynamodb: DynamoDB UpdateItem TimeoutError): invoke again.', [first.id]]);
    const again = await operatorFlush(d)({ operation: 'flush', profile: 'billing' }, {});
    assert.deepEqual([again.status, again.detail], [200, 'No token was held for this profile.']);
  });

  it('answers 502 and drops nothing when the shared record holds a token that cannot be opened', async () => {
    const forgotten: string[] = [];
    const { deps: d, lines } = deps({
      shared: { ...aloneTier, record: async () => ({ held: null, unreadable: true }), drop: async () => assert.fail('nothing is dropped') },
      held: () => token('held-token-0007'),
      forget: (name) => (forgotten.push(name), null),
    });
    const result = await operatorFlush(d)({ operation: 'flush', profile: 'billing' }, {});
    assert.deepEqual([result.status, result.tokens, forgotten], [502, [], []]);
    assert.match(result.detail, /^The shared record holds a token that cannot be opened/);
    assert.equal(lines.at(-1)?.level, 'WARN');
  });

  it('gives up after 3 rounds when every drop finds another token, having revoked each one first', async () => {
    let n = 0;
    const revoked: string[] = [];
    const { deps: d } = deps({
      shared: { ...aloneTier, record: async () => ({ held: { token: token(`published-${++n}`), identity: 'id-1' }, unreadable: false }), drop: async () => false },
      revoke: async (_url, id) => (revoked.push(id), 'revoked'),
    });
    const result = await operatorFlush(d)({ operation: 'flush', profile: 'billing' }, {});
    assert.deepEqual([result.status, result.detail, revoked], [503, 'New tokens kept arriving in the shared record (3 rounds); those listed were revoked: invoke again.', ['published-1', 'published-2', 'published-3']]);
  });

  it('says the flush stopped, not that nothing was revoked, when the record cannot be read in a later round', async () => {
    let reads = 0;
    const { deps: d } = deps({
      shared: {
        ...aloneTier,
        record: async () => (++reads === 1 ? { held: { token: token('first-0008'), identity: 'id-1' }, unreadable: false } : Promise.reject(new StoreUnavailableError('kms', 'KMS Decrypt ThrottlingException (HTTP 400)'))),
        drop: async () => false,
      },
    });
    const result = await operatorFlush(d)({ operation: 'flush', profile: 'billing' }, {});
    assert.deepEqual([result.status, result.detail, result.tokens.map((t) => t.revocation)], [503, 'The shared record could not be read (kms: KMS Decrypt ThrottlingException (HTTP 400)), so the flush stopped there: invoke again.', ['revoked']]);
  });

  it('answers 200 once the record confirms the drop, without reading it again', async () => {
    let reads = 0;
    const { deps: d } = deps({
      shared: {
        ...aloneTier,
        record: async () => (++reads === 1 ? { held: { token: token('first-0009'), identity: 'id-1' }, unreadable: false } : Promise.reject(new StoreUnavailableError('dynamodb', 'DynamoDB GetItem TimeoutError'))),
        drop: async () => true,
      },
    });
    const result = await operatorFlush(d)({ operation: 'flush', profile: 'billing' }, {});
    assert.deepEqual([result.status, result.detail, reads], [200, 'Revoked at Rackspace and dropped fleet-wide.', 1]);
  });

  it('lets an error of the drop that is not the store failing through to the 503 with its message', async () => {
    const { deps: d } = deps({
      shared: { ...aloneTier, record: async () => ({ held: { token: token('first-0010'), identity: 'id-1' }, unreadable: false }), drop: async () => Promise.reject(new TypeError('bug in the adapter')) },
    });
    const result = await operatorFlush(d)({ operation: 'flush', profile: 'billing' }, {});
    assert.deepEqual([result.status, result.detail], [503, 'bug in the adapter']);
  });

  it('lets an error that is not the store failing through to the 503 with its message', async () => {
    const { deps: d } = deps({ shared: { ...aloneTier, record: async () => Promise.reject(new TypeError('bug in the adapter')) } });
    assert.deepEqual(await operatorFlush(d)({ operation: 'flush', profile: 'billing' }, {}), { status: 503, profile: 'billing', tokens: [], detail: 'bug in the adapter' });
  });

  it("answers 503 with detail 'failed' and no token when a dependency throws something that is not an Error", async () => {
    const { deps: d, lines } = deps({
      held: () => token('held-token-0003'),
      revoke: async () => {
        throw 'connection dropped';
      },
    });
    const result = await operatorFlush(d)({ operation: 'flush', profile: 'billing' }, { awsRequestId: 'op-3' });
    assert.deepEqual(result, { status: 503, profile: 'billing', tokens: [], detail: 'failed' });
    assert.deepEqual(lines.map((l) => [l.level, l.message, l.audit.status, l.audit.tokens]), [['WARN', 'flush', 503, []]]);
  });
});
