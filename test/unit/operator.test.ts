import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Revocation } from '../../functions/adapters/identity-revoke.ts';
import type { Credentials } from '../../functions/core/credentials.ts';
import { createLogger } from '../../functions/core/logger.ts';
import { SecretCache } from '../../functions/core/secret-cache.ts';
import { aloneTier } from '../../functions/core/shared-tier.ts';
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

  it('answers 503, naming both tokens, when a token published during the flush is dropped but Identity does not confirm its revocation', async () => {
    const held = token('held-token-0001');
    const published = token('published-during-flush-0002');
    const { deps: d } = deps({
      held: () => held,
      forget: () => held,
      shared: { ...aloneTier, flush: async () => published },
      revoke: async (_url, id): Promise<Revocation> => (id === held.id ? 'revoked' : 'failed'),
    });
    const result = await operatorFlush(d)({ operation: 'flush', profile: 'billing' }, { awsRequestId: 'op-2' });
    assert.deepEqual([result.status, result.tokens.map((t) => t.revocation), result.detail], [
      503, ['revoked', 'failed'], 'Dropped fleet-wide, but Identity did not confirm the revocation of a token published during the flush.',
    ]);
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
