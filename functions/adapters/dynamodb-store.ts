import { GetItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { callFailed } from './aws-errors.ts';
import { TamperedError, type Envelope, type Sealed } from '../core/envelope.ts';
import { recordAad, recordContext, tokenFromText, tokenText } from '../core/token-record.ts';
import { StoreUnavailableError, type Backoff, type StoredState, type TokenStore } from '../core/token-store.ts';
import type { Token } from '../core/token.ts';

export interface DynamoStoreOptions {
  client: DynamoDBClient;
  table: string;
  stage: string;
  envelope: Envelope;
}

type Item = Record<string, AttributeValue>;

// Every attribute a write may set or remove. Names go through ExpressionAttributeNames, so none can
// collide with DynamoDB's reserved words.
const TOKEN_FIELDS = ['identity', 'expiresAt', 'confirmedAt', 'dataKey', 'iv', 'ciphertext', 'expiresTtl'] as const;
const LEASE_FIELDS = ['leaseOwner', 'leaseUntil'] as const;
const BACKOFF_FIELDS = ['backoffUntil', 'backoffReason', 'refusedKey'] as const;
// DynamoDB's TTL deletes a record a day after its token expired (a profile removed from the declaration).
const TTL_AFTER_EXPIRY_S = 86_400;

/**
 * The shared tier on DynamoDB: one item per profile (partition key `profile`), the token sealed by
 * the envelope, lease and backoff in clear attributes, every write conditional. Only translates
 * core/token-store.ts's rules into conditions; core/fleet.ts decides when to call what.
 *
 * @example
 * const store = dynamoStore({ client: new DynamoDBClient({}), table, stage, envelope });
 */
export function dynamoStore(options: DynamoStoreOptions): TokenStore {
  const { client, table, stage, envelope } = options;

  async function update(input: { profile: string; set?: Record<string, AttributeValue>; add?: boolean; remove?: readonly string[]; condition: string; values?: Item }): Promise<boolean> {
    const names: Record<string, string> = { '#revision': 'revision' };
    const values: Item = { ':one': { N: '1' }, ':zero': { N: '0' }, ...input.values };
    const sets = ['#revision = if_not_exists(#revision, :zero) + :one'];
    for (const [name, value] of Object.entries(input.set ?? {})) {
      names[`#${name}`] = name;
      values[`:${name}`] = value;
      sets.push(`#${name} = :${name}`);
    }
    for (const name of input.remove ?? []) names[`#${name}`] = name;
    for (const match of input.condition.matchAll(/#(\w+)/g)) names[`#${match[1]}`] = match[1] as string;
    const removes = (input.remove ?? []).map((name) => `#${name}`);
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: { profile: { S: input.profile } },
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: input.condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw unavailable('UpdateItem', error);
    }
  }

  type Opened = { token: Token; identity: string; confirmedAt: number; unreadable: false } | { token: null; identity: null; confirmedAt: null; unreadable: boolean };
  const nothing = (unreadable: boolean): Opened => ({ token: null, identity: null, confirmedAt: null, unreadable });

  async function open(profile: string, item: Item): Promise<Opened> {
    const identity = item.identity?.S;
    const expiresAt = num(item.expiresAt);
    const confirmedAt = num(item.confirmedAt);
    const sealed = sealedOf(item);
    if (identity === undefined && expiresAt === null && !sealed) return nothing(false);
    if (identity === undefined || expiresAt === null || confirmedAt === null || !sealed) return nothing(true);
    const context = recordContext(stage, profile);
    try {
      const plaintext = await envelope.open(context, recordAad(context, { identity, expiresAt, confirmedAt }), sealed);
      const token = tokenFromText(plaintext, expiresAt);
      return token ? { token, identity, confirmedAt, unreadable: false } : nothing(true);
    } catch (error) {
      if (error instanceof TamperedError) return nothing(true);
      throw error;
    }
  }

  return {
    async read(profile) {
      let item: Item | undefined;
      try {
        ({ Item: item } = await client.send(new GetItemCommand({ TableName: table, Key: { profile: { S: profile } }, ConsistentRead: true })));
      } catch (error) {
        throw unavailable('GetItem', error);
      }
      if (!item) return { revision: 0, token: null, identity: null, confirmedAt: null, unreadable: false, lease: null, backoff: null };
      const opened = await open(profile, item);
      const leaseOwner = item.leaseOwner?.S;
      const leaseUntil = num(item.leaseUntil);
      const backoffUntil = num(item.backoffUntil);
      const reason = item.backoffReason?.S;
      const state: StoredState = {
        revision: num(item.revision) ?? 0,
        ...opened,
        lease: leaseOwner !== undefined && leaseUntil !== null ? { owner: leaseOwner, until: leaseUntil } : null,
        backoff:
          backoffUntil !== null && (reason === 'rate-limited' || reason === 'unavailable' || reason === 'refused')
            ? { until: backoffUntil, reason, refusedKey: item.refusedKey?.S ?? null }
            : null,
      };
      return state;
    },

    async acquire(profile, { owner, until, revision }) {
      return update({
        profile,
        set: { leaseOwner: { S: owner }, leaseUntil: { N: String(until) } },
        condition: revision === 0 ? 'attribute_not_exists(#revision)' : '#revision = :seen',
        ...(revision !== 0 && { values: { ':seen': { N: String(revision) } } }),
      });
    },

    async publish(profile, { owner, token, identity, confirmedAt }) {
      const context = recordContext(stage, profile);
      const sealed = await envelope.seal(context, recordAad(context, { identity, expiresAt: token.expiresAt, confirmedAt }), tokenText(token));
      return update({
        profile,
        set: {
          identity: { S: identity },
          expiresAt: { N: String(token.expiresAt) },
          confirmedAt: { N: String(confirmedAt) },
          dataKey: { B: sealed.dataKey },
          iv: { B: sealed.iv },
          ciphertext: { B: sealed.ciphertext },
          expiresTtl: { N: String(Math.ceil(token.expiresAt / 1000) + TTL_AFTER_EXPIRY_S) },
        },
        remove: [...LEASE_FIELDS, ...BACKOFF_FIELDS],
        // The fence: our lease, or a later expiry for the same identity than what is stored.
        condition: '#leaseOwner = :owner OR (#identity = :identity AND #expiresAt < :expiresAt)',
        values: { ':owner': { S: owner } },
      });
    },

    async fail(profile, { owner, backoff }) {
      await update({
        profile,
        set: backoffAttributes(backoff),
        remove: backoff.refusedKey === null ? [...LEASE_FIELDS, 'refusedKey'] : LEASE_FIELDS,
        condition: '#leaseOwner = :owner',
        values: { ':owner': { S: owner } },
      });
    },

    async drop(profile, { identity, expiresAt }) {
      // Only the token the caller revoked: one published since fails the condition and is not lost.
      return update({
        profile,
        remove: [...TOKEN_FIELDS, ...LEASE_FIELDS],
        condition: '#identity = :identity AND #expiresAt = :expiresAt',
        values: { ':identity': { S: identity }, ':expiresAt': { N: String(expiresAt) } },
      });
    },
  };
}

function backoffAttributes(backoff: Backoff): Record<string, AttributeValue> {
  return {
    backoffUntil: { N: String(backoff.until) },
    backoffReason: { S: backoff.reason },
    ...(backoff.refusedKey !== null && { refusedKey: { S: backoff.refusedKey } }),
  };
}

function sealedOf(item: Item): Sealed | undefined {
  const { dataKey, iv, ciphertext } = item;
  return dataKey?.B && iv?.B && ciphertext?.B ? { dataKey: dataKey.B, iv: iv.B, ciphertext: ciphertext.B } : undefined;
}

function num(value: AttributeValue | undefined): number | null {
  if (value?.N === undefined) return null;
  const n = Number(value.N);
  return Number.isFinite(n) ? n : null;
}

function unavailable(operation: string, error: unknown): StoreUnavailableError {
  return new StoreUnavailableError('dynamodb', callFailed('DynamoDB', operation, error));
}
