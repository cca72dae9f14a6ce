import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { HttpHandler } from '@smithy/core/protocols';
import type { NodeHttpHandlerOptions } from '@smithy/types';
import { kmsDataKeys } from '../../functions/adapters/kms-data-keys.ts';
import { memoryStore } from '../../functions/adapters/memory-store.ts';
import { dynamoClient, kmsClient } from '../../functions/adapters/shared-clients.ts';
import { dynamoStore } from '../../functions/adapters/dynamodb-store.ts';
import { DataKeyRejectedError, Envelope } from '../../functions/core/envelope.ts';
import { StoreUnavailableError, type TokenStore } from '../../functions/core/token-store.ts';
import type { Token } from '../../functions/core/token.ts';
import { fakeClock, HOUR } from '../support/clock.ts';
import { custody } from '../support/leak-guard.ts';
import { STAGE, startSharedTier } from '../support/shared-tier.ts';
import { LOCAL_CREDENTIALS } from '../emulators/dynamodb.ts';
import { recordAad, recordContext } from '../../functions/core/token-record.ts';

const clock = fakeClock();
let tier: Awaited<ReturnType<typeof startSharedTier>>;
before(async () => {
  tier = await startSharedTier();
});
after(() => tier.close());

let n = 0;
/** A token with a catalog, as Identity would give, under a profile name no other test uses. */
function fixture(hours = 24): { profile: string; token: Token } {
  const id = `AA${randomBytes(32).toString('base64url')}`;
  custody(id);
  return {
    profile: `p${++n}`,
    token: {
      id,
      expiresAt: clock.now() + hours * HOUR,
      tenant: { id: '110011', name: '110011' },
      defaultRegion: 'DFW',
      catalog: [{ name: 'cloudFiles', type: 'object-store', endpoints: [{ publicURL: 'https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_110011', internalURL: null, region: 'DFW', tenantId: 'MossoCloudFS_110011', versionId: null }] }],
    },
  };
}

// The rules of the port, held against both adapters: the DynamoDB one on dynalite must behave as the Map one.
for (const [name, make] of [
  ['memory', () => memoryStore()],
  ['DynamoDB (dynalite + KMS stand-in)', () => tier.instance(clock.now).store],
] as Array<[string, () => TokenStore]>) {
  describe(`TokenStore contract: ${name}`, () => {
    it('answers an empty record at revision 0, and lets exactly one of two instances that saw it take the lease', async () => {
      const store = make();
      const { profile } = fixture();
      assert.deepEqual(await store.read(profile), { revision: 0, token: null, identity: null, confirmedAt: null, unreadable: false, lease: null, backoff: null });
      assert.equal(await store.acquire(profile, { owner: 'a', until: clock.now() + 10_000, revision: 0 }), true);
      assert.equal(await store.acquire(profile, { owner: 'b', until: clock.now() + 10_000, revision: 0 }), false);
      const state = await store.read(profile);
      assert.deepEqual([state.revision, state.lease], [1, { owner: 'a', until: clock.now() + 10_000 }]);
    });

    it('publishes the holder token, releases the lease and hands the same token back', async () => {
      const store = make();
      const { profile, token } = fixture();
      await store.acquire(profile, { owner: 'a', until: clock.now() + 10_000, revision: 0 });
      assert.equal(await store.publish(profile, { owner: 'a', token, identity: 'id-1', confirmedAt: clock.now() }), true);
      const state = await store.read(profile);
      assert.deepEqual(state.token, token);
      assert.deepEqual([state.identity, state.confirmedAt, state.lease, state.unreadable, state.revision], ['id-1', clock.now(), null, false, 2]);
    });

    it('fences writes: a non-holder may only replace a token of the same identity that expires earlier', async () => {
      const store = make();
      const { profile, token } = fixture();
      await store.acquire(profile, { owner: 'a', until: clock.now() + 10_000, revision: 0 });
      await store.publish(profile, { owner: 'a', token, identity: 'id-1', confirmedAt: clock.now() });
      const earlier = { ...token, expiresAt: token.expiresAt - 1 };
      const later = { ...token, expiresAt: token.expiresAt + 1 };
      assert.equal(await store.publish(profile, { owner: 'b', token: earlier, identity: 'id-1', confirmedAt: clock.now() }), false);
      assert.equal(await store.publish(profile, { owner: 'b', token: { ...token }, identity: 'id-1', confirmedAt: clock.now() }), false, 'no later: the same expiry');
      assert.equal(await store.publish(profile, { owner: 'b', token: later, identity: 'id-2', confirmedAt: clock.now() }), false);
      assert.equal(await store.publish(profile, { owner: 'b', token: later, identity: 'id-1', confirmedAt: clock.now() }), true);
      assert.equal((await store.read(profile)).token?.expiresAt, later.expiresAt);
    });

    it('records a failure as backoff only for the holder, releasing its lease', async () => {
      const store = make();
      const { profile } = fixture();
      await store.acquire(profile, { owner: 'a', until: clock.now() + 10_000, revision: 0 });
      const backoff = { until: clock.now() + 30_000, reason: 'refused' as const, refusedKey: 'fp' };
      const untouched = fixture().profile;
      await store.fail(untouched, { owner: 'a', backoff });
      assert.deepEqual(await store.read(untouched), { revision: 0, token: null, identity: null, confirmedAt: null, unreadable: false, lease: null, backoff: null }, 'no lease at all: nothing to release');
      await store.fail(profile, { owner: 'b', backoff });
      assert.equal((await store.read(profile)).backoff, null);
      await store.fail(profile, { owner: 'a', backoff });
      const state = await store.read(profile);
      assert.deepEqual([state.backoff, state.lease], [backoff, null]);
    });

    it('replaces a refused-key backoff by a later outage backoff without keeping the old key fingerprint', async () => {
      const store = make();
      const { profile } = fixture();
      const refused = { until: clock.now() + 30_000, reason: 'refused' as const, refusedKey: 'fp' };
      await store.acquire(profile, { owner: 'a', until: clock.now() + 10_000, revision: 0 });
      await store.fail(profile, { owner: 'a', backoff: refused });
      const outage = { until: clock.now() + 60_000, reason: 'unavailable' as const, refusedKey: null };
      await store.acquire(profile, { owner: 'b', until: clock.now() + 10_000, revision: (await store.read(profile)).revision });
      await store.fail(profile, { owner: 'b', backoff: outage });
      assert.deepEqual((await store.read(profile)).backoff, outage);
    });

    it('drops the stored token only while it is the one named (identity and expiry), and the record holds none afterwards', async () => {
      const store = make();
      const { profile, token } = fixture();
      assert.equal(await store.drop(profile, { identity: 'id-1', expiresAt: token.expiresAt }), false, 'no record');
      await store.acquire(profile, { owner: 'a', until: clock.now() + 10_000, revision: 0 });
      await store.publish(profile, { owner: 'a', token, identity: 'id-1', confirmedAt: clock.now() });
      assert.equal(await store.drop(profile, { identity: 'id-1', expiresAt: token.expiresAt + 1 }), false, 'another token');
      assert.equal(await store.drop(profile, { identity: 'id-2', expiresAt: token.expiresAt }), false, 'another identity');
      assert.deepEqual((await store.read(profile)).token, token);
      assert.equal(await store.drop(profile, { identity: 'id-1', expiresAt: token.expiresAt }), true);
      const state = await store.read(profile);
      assert.deepEqual([state.token, state.identity, state.unreadable, state.lease], [null, null, false, null]);
      assert.equal(await store.drop(profile, { identity: 'id-1', expiresAt: token.expiresAt }), false, 'already dropped');
    });
  });
}

describe('DynamoDB store: encrypted and authenticated at rest', () => {
  const rawItem = async (profile: string) => (await tier.dynamo.client.send(new GetItemCommand({ TableName: tier.dynamo.table, Key: { profile: { S: profile } } }))).Item ?? {};
  const published = async () => {
    const { store } = tier.instance(clock.now);
    const { profile, token } = fixture();
    await store.acquire(profile, { owner: 'a', until: clock.now() + 10_000, revision: 0 });
    await store.publish(profile, { owner: 'a', token, identity: 'id-1', confirmedAt: clock.now() });
    return { profile, token };
  };

  it('stores neither the token id nor the catalog in clear: reading the table alone reveals no token', async () => {
    const { profile, token } = await published();
    const text = JSON.stringify(await rawItem(profile), (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
    assert.ok(!text.includes(token.id) && !text.includes('clouddrive') && !text.includes('110011'), 'nothing readable');
    assert.deepEqual(Object.keys(await rawItem(profile)).sort(), ['ciphertext', 'confirmedAt', 'dataKey', 'expiresAt', 'expiresTtl', 'identity', 'iv', 'profile', 'revision']);
  });

  for (const [what, damage] of [
    ['a flipped ciphertext byte', (item: Record<string, any>) => void (item.ciphertext.B[0] ^= 1)],
    ['a later expiry written in clear', (item: Record<string, any>) => void (item.expiresAt = { N: String(Number(item.expiresAt.N) + HOUR) })],
    ['another identity written in clear', (item: Record<string, any>) => void (item.identity = { S: 'id-2' })],
    ['a data key from another record', (item: Record<string, any>) => void (item.dataKey.B[item.dataKey.B.length - 1] ^= 1)],
  ] as const) {
    it(`reads a record with ${what} as unreadable (never served), and a holder overwrites it`, async () => {
      const { profile, token } = await published();
      const item = await rawItem(profile);
      damage(item);
      await tier.dynamo.client.send(new PutItemCommand({ TableName: tier.dynamo.table, Item: item }));
      // A fresh instance: no data key cached, so KMS itself judges the data key.
      const { store } = tier.instance(clock.now);
      const state = await store.read(profile);
      assert.deepEqual([state.token, state.unreadable], [null, true]);
      assert.equal(await store.acquire(profile, { owner: 'b', until: clock.now() + 10_000, revision: state.revision }), true);
      assert.equal(await store.publish(profile, { owner: 'b', token, identity: 'id-1', confirmedAt: clock.now() }), true);
      assert.deepEqual((await store.read(profile)).token, token);
    });
  }

  it('never opens a record moved under another profile (the encryption context names the profile)', async () => {
    const { profile } = await published();
    const item = await rawItem(profile);
    const other = fixture().profile;
    await tier.dynamo.client.send(new PutItemCommand({ TableName: tier.dynamo.table, Item: { ...item, profile: { S: other } } }));
    const state = await tier.instance(clock.now).store.read(other);
    assert.deepEqual([state.token, state.unreadable], [null, true]);
  });

  it('calls KMS once per data key, not per write or read: one GenerateDataKey for many publishes, one Decrypt per new instance', async () => {
    tier.kms.resetCalls();
    const writer = tier.instance(clock.now).store;
    const profiles: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { profile, token } = fixture();
      profiles.push(profile);
      await writer.acquire(profile, { owner: 'a', until: clock.now() + 10_000, revision: 0 });
      await writer.publish(profile, { owner: 'a', token, identity: 'id-1', confirmedAt: clock.now() });
      await writer.read(profile);
    }
    assert.deepEqual(tier.kms.calls, { GenerateDataKey: 5 }, 'one data key per profile (the context names it), none to read back');
    const reader = tier.instance(clock.now).store;
    for (let i = 0; i < 3; i++) await reader.read(profiles[0] as string);
    assert.deepEqual(tier.kms.calls, { GenerateDataKey: 5, Decrypt: 1 });
  });

  it('turns a throttled table, an unreachable table and a KMS refusal into StoreUnavailableError naming the dependency', async () => {
    const { profile } = await published();
    const isUnavailable = (dependency: string) => (error: unknown) => error instanceof StoreUnavailableError && error.dependency === dependency;
    const { store } = tier.instance(clock.now);
    tier.dynamo.injectFaults({ type: 'ThrottlingException' });
    await assert.rejects(store.read(profile), isUnavailable('dynamodb'));
    tier.dynamo.partition(true);
    await assert.rejects(store.read(profile), isUnavailable('dynamodb'));
    tier.dynamo.partition(false);
    tier.kms.denyAll(true);
    await assert.rejects(store.read(profile), isUnavailable('kms'));
    tier.kms.denyAll(false);
    assert.ok((await store.read(profile)).token);
  });

  it("lets DynamoDB's TTL delete a record a day after its token expired, in epoch seconds", async () => {
    const { profile, token } = await published();
    assert.equal(Number((await rawItem(profile)).expiresTtl?.N), Math.ceil(token.expiresAt / 1000) + 86_400);
  });

  it('ignores a half-written lease or a backoff with a reason it does not know, rather than trusting it', async () => {
    const { profile } = await published();
    const item = await rawItem(profile);
    for (const [extra, expected] of [
      [{ leaseOwner: { S: 'a' } }, { lease: null, backoff: null }],
      [{ leaseUntil: { N: String(clock.now() + 10_000) } }, { lease: null, backoff: null }],
      [{ backoffUntil: { N: String(clock.now() + 10_000) }, backoffReason: { S: 'maintenance' } }, { lease: null, backoff: null }],
      [{ backoffReason: { S: 'rate-limited' } }, { lease: null, backoff: null }],
      [{ backoffUntil: { N: String(clock.now() + 10_000) }, backoffReason: { S: 'rate-limited' } }, { lease: null, backoff: { until: clock.now() + 10_000, reason: 'rate-limited', refusedKey: null } }],
    ] as const) {
      await tier.dynamo.client.send(new PutItemCommand({ TableName: tier.dynamo.table, Item: { ...item, ...extra } }));
      const { lease, backoff } = await tier.instance(clock.now).store.read(profile);
      assert.deepEqual({ lease, backoff }, expected, JSON.stringify(extra));
    }
  });

  it('reads a record that holds only a lease as empty, not as unreadable', async () => {
    const { store } = tier.instance(clock.now);
    const { profile } = fixture();
    await store.acquire(profile, { owner: 'a', until: clock.now() + 10_000, revision: 0 });
    const state = await store.read(profile);
    assert.deepEqual([state.token, state.unreadable, state.lease], [null, false, { owner: 'a', until: clock.now() + 10_000 }]);
  });

  // A record missing any clear attribute or any part of the sealed token cannot be opened: it is
  // unreadable without asking KMS (a Decrypt per junk record would cost and could be throttled).
  // A record lacking only some of them is junk too, never an empty record (which a lease alone makes).
  for (const missing of [
    ['identity'],
    ['expiresAt'],
    ['confirmedAt'],
    ['dataKey'],
    ['iv'],
    ['ciphertext'],
    ['identity', 'expiresAt'],
    ['identity', 'dataKey', 'iv', 'ciphertext'],
    ['expiresAt', 'dataKey', 'iv', 'ciphertext'],
  ]) {
    it(`reads a record without ${missing.join(', ')} as unreadable, without a KMS call`, async () => {
      const { profile } = await published();
      const item = await rawItem(profile);
      for (const name of missing) delete item[name];
      await tier.dynamo.client.send(new PutItemCommand({ TableName: tier.dynamo.table, Item: item }));
      tier.kms.resetCalls();
      const state = await tier.instance(clock.now).store.read(profile);
      assert.deepEqual([state.token, state.unreadable, tier.kms.calls.Decrypt ?? 0], [null, true, 0]);
    });
  }

  it('reads a record whose sealed text opens but is not a token as unreadable', async () => {
    const { profile } = await published();
    const item = await rawItem(profile);
    const { envelope } = tier.instance(clock.now);
    const context = recordContext(STAGE, profile);
    const fields = { identity: 'id-1', expiresAt: Number(item.expiresAt?.N), confirmedAt: Number(item.confirmedAt?.N) };
    const sealed = await envelope.seal(context, recordAad(context, fields), '{"not":"a token"}');
    await tier.dynamo.client.send(new PutItemCommand({ TableName: tier.dynamo.table, Item: { ...item, dataKey: { B: sealed.dataKey }, iv: { B: sealed.iv }, ciphertext: { B: sealed.ciphertext } } }));
    const state = await tier.instance(clock.now).store.read(profile);
    assert.deepEqual([state.token, state.unreadable], [null, true]);
  });

  it('turns a write the table refuses for another reason than its condition into StoreUnavailableError naming the operation and status', async () => {
    const { store } = tier.instance(clock.now);
    const { profile } = fixture();
    tier.dynamo.injectFaults({ type: 'ThrottlingException', operation: 'UpdateItem' });
    await assert.rejects(store.acquire(profile, { owner: 'a', until: clock.now() + 10_000, revision: 0 }), (error: unknown) => {
      assert.ok(error instanceof StoreUnavailableError);
      assert.deepEqual([error.dependency, error.message], ['dynamodb', 'DynamoDB UpdateItem ThrottlingException (HTTP 400)']);
      return true;
    });
    assert.equal(await store.acquire(profile, { owner: 'a', until: clock.now() + 10_000, revision: 0 }), true, 'the table answers again');
  });

  it('turns a KMS refusal to make a data key into StoreUnavailableError naming KMS, the operation and status', async () => {
    const { store } = tier.instance(clock.now);
    const { profile, token } = fixture();
    await store.acquire(profile, { owner: 'a', until: clock.now() + 10_000, revision: 0 });
    tier.kms.denyAll(true);
    try {
      await assert.rejects(store.publish(profile, { owner: 'a', token, identity: 'id-1', confirmedAt: clock.now() }), (error: unknown) => {
        assert.ok(error instanceof StoreUnavailableError);
        assert.deepEqual([error.dependency, error.message], ['kms', 'KMS GenerateDataKey AccessDeniedException (HTTP 400)']);
        return true;
      });
    } finally {
      tier.kms.denyAll(false);
    }
    assert.equal((await store.read(profile)).token, null, 'nothing was published');
  });

  for (const [what, answer] of [
    ['without the plaintext key', { CiphertextBlob: Buffer.from('blob').toString('base64') }],
    ['without the encrypted key', { Plaintext: Buffer.alloc(32).toString('base64') }],
  ] as const) {
    it(`turns a GenerateDataKey answer ${what} into StoreUnavailableError naming KMS, and publishes nothing`, async () => {
      const { store } = tier.instance(clock.now);
      const { profile, token } = fixture();
      await store.acquire(profile, { owner: 'a', until: clock.now() + 10_000, revision: 0 });
      tier.kms.injectFaults({ type: 'MalformedAnswer', answer });
      await assert.rejects(store.publish(profile, { owner: 'a', token, identity: 'id-1', confirmedAt: clock.now() }), (error: unknown) => {
        assert.ok(error instanceof StoreUnavailableError);
        assert.deepEqual([error.dependency, error.message], ['kms', 'KMS GenerateDataKey answered without a key']);
        return true;
      });
      assert.equal((await store.read(profile)).token, null);
    });
  }

  const decryptFailures = [
    // Faults built when the test runs: the tier (and its key) exists only then.
    ['a Decrypt answer without a key', () => ({ type: 'MalformedAnswer', answer: { KeyId: tier.kms.keyArn } }), 'KMS Decrypt answered without a key'],
    ['a failed Decrypt', () => ({ type: 'ThrottlingException' }), 'KMS Decrypt ThrottlingException (HTTP 400)'],
  ] as const;
  for (const [what, fault, message] of decryptFailures) {
    it(`turns ${what} into StoreUnavailableError naming KMS and what went wrong, not an unreadable record`, async () => {
      const { profile } = await published();
      tier.kms.injectFaults(fault());
      await assert.rejects(tier.instance(clock.now).store.read(profile), (error: unknown) => {
        assert.ok(error instanceof StoreUnavailableError);
        assert.deepEqual([error.dependency, error.message], ['kms', message]);
        return true;
      });
    });
  }

  it("reads a record sealed under another KMS key as unreadable (KMS: IncorrectKeyException, the stack's key was replaced), not as KMS unavailable", async () => {
    const { profile } = await published();
    const local = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS };
    const kms = kmsClient({ ...local, endpoint: tier.kms.endpoint });
    const dynamo = dynamoClient({ ...local, endpoint: tier.dynamo.endpoint });
    try {
      const keys = kmsDataKeys(kms, 'arn:aws:kms:us-east-1:000000000000:key/00000000-0000-4000-8000-000000000000');
      const store = dynamoStore({ client: dynamo, table: tier.dynamo.table, stage: STAGE, envelope: new Envelope({ keys, now: clock.now }) });
      const state = await store.read(profile);
      assert.deepEqual([state.token, state.unreadable], [null, true]);
      // What the envelope was told, named after KMS's answer.
      const dataKey = (await rawItem(profile)).dataKey?.B as Uint8Array;
      await assert.rejects(keys.decrypt(dataKey, recordContext(STAGE, profile)), (error: unknown) => {
        assert.ok(error instanceof DataKeyRejectedError);
        assert.equal(error.message, 'KMS IncorrectKeyException');
        return true;
      });
    } finally {
      kms.destroy();
      dynamo.destroy();
    }
  });

  it('reads with ConsistentRead, so a token just flushed or replaced is never read back from a lagging replica', async () => {
    const { profile } = await published();
    tier.dynamo.resetCalls();
    await tier.instance(clock.now).store.read(profile);
    assert.deepEqual(
      tier.dynamo.requests.map(({ operation, input }) => [operation, input.ConsistentRead]),
      [['GetItem', true]],
    );
  });

  it('drops with a conditional write that bumps the revision, so a lease taken on what was read before fails', async () => {
    const { store } = tier.instance(clock.now);
    const { profile, token } = await published();
    const before = await store.read(profile);
    assert.equal(await store.drop(profile, { identity: before.identity!, expiresAt: token.expiresAt }), true);
    assert.equal(await store.acquire(profile, { owner: 'b', until: clock.now() + 10_000, revision: before.revision }), false);
    assert.deepEqual(Object.keys(await rawItem(profile)).sort(), ['profile', 'revision']);
  });

  it('names an unreachable table without an HTTP status', async () => {
    const { store } = tier.instance(clock.now);
    tier.dynamo.partition(true);
    try {
      await assert.rejects(store.read(fixture().profile), (error: unknown) => {
        assert.ok(error instanceof StoreUnavailableError);
        assert.match(error.message, /^DynamoDB GetItem \w+$/);
        return true;
      });
    } finally {
      tier.dynamo.partition(false);
    }
  });

  it('keeps every write conditional: an UpdateItem outside the adapter does not break the revision fence', async () => {
    const { store } = tier.instance(clock.now);
    const { profile } = fixture();
    const seen = await store.read(profile);
    await tier.dynamo.client.send(
      new UpdateItemCommand({ TableName: tier.dynamo.table, Key: { profile: { S: profile } }, UpdateExpression: 'SET revision = :r', ExpressionAttributeValues: { ':r': { N: '7' } } }),
    );
    assert.equal(await store.acquire(profile, { owner: 'a', until: clock.now() + 10_000, revision: seen.revision }), false);
  });
});

describe('Shared-tier clients as deployed', () => {
  it('give each call what README "Fallback" says: one attempt, 500 ms connect, 1 s request (then they throw)', async () => {
    const local = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS };
    const dynamo = dynamoClient({ ...local, endpoint: tier.dynamo.endpoint });
    const kms = kmsClient({ ...local, endpoint: tier.kms.endpoint });
    try {
      // A handler settles its options on its first request.
      await dynamo.send(new GetItemCommand({ TableName: tier.dynamo.table, Key: { profile: { S: fixture().profile } } }));
      await kmsDataKeys(kms, tier.kms.keyArn).generate({ profile: 'p' });
      for (const client of [dynamo, kms]) {
        // The handler's own account of its options: a timeout itself would cost real time to watch.
        const { connectionTimeout, requestTimeout, throwOnRequestTimeout } = (client.config.requestHandler as HttpHandler<NodeHttpHandlerOptions>).httpHandlerConfigs();
        assert.deepEqual({ connectionTimeout, requestTimeout, throwOnRequestTimeout, maxAttempts: await client.config.maxAttempts() }, { connectionTimeout: 500, requestTimeout: 1_000, throwOnRequestTimeout: true, maxAttempts: 1 });
      }
    } finally {
      dynamo.destroy();
      kms.destroy();
    }
  });
});
