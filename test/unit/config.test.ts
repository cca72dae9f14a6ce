import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../functions/config.ts';

const refuses = (env: Record<string, string>, pattern: RegExp) =>
  assert.throws(() => loadConfig(env), (error: unknown) => error instanceof Error && pattern.test(error.message));

// The documented ranges (docs/reference.md "Running locally"), not read from infra/limits.json: this pins them.
const RANGES = [
  { name: 'IDENTITY_TIMEOUT_MS', key: 'identityTimeoutMs', min: 100, max: 30_000, with: { IDENTITY_BUDGET_MS: '60000' } },
  { name: 'IDENTITY_BUDGET_MS', key: 'identityBudgetMs', min: 100, max: 60_000, with: { IDENTITY_TIMEOUT_MS: '100' } },
  { name: 'IDENTITY_ATTEMPTS', key: 'identityAttempts', min: 1, max: 10, with: {} },
  { name: 'SECRET_TTL_SECONDS', key: 'secretTtlSeconds', min: 0, max: 86_400, with: {} },
] as const;

describe('Function: loadConfig', () => {
  it('uses the documented defaults when nothing is set', () => {
    assert.deepEqual(loadConfig({}), {
      identityUrl: 'https://identity.api.rackspacecloud.com/v2.0',
      identityTimeoutMs: 3_000,
      identityBudgetMs: 8_000,
      identityAttempts: 4,
      secretTtlSeconds: 300,
      stage: 'local',
      fleet: null,
    });
  });

  it('refuses a stage that is not a CloudWatch dimension value, wherever the stray character is', () => {
    for (const STAGE of ['prod!', '!prod', 'pr od', '', 'x'.repeat(65)]) {
      assert.throws(() => loadConfig({ STAGE }), { message: 'Invalid configuration: STAGE: must be 1-64 letters, digits, - or _' }, STAGE);
    }
    assert.equal(loadConfig({ STAGE: 'prod-eu_2' }).stage, 'prod-eu_2');
  });

  it('names every invalid variable in one message, separated by semicolons', () => {
    assert.throws(() => loadConfig({ STAGE: 'prod!', FLEET_TABLE: 'no spaces' }), {
      message: 'Invalid configuration: STAGE: must be 1-64 letters, digits, - or _; FLEET_TABLE: must be a DynamoDB table name',
    });
  });

  it('turns the shared tier on with FLEET_TABLE and FLEET_KEY_ID (the stage names its records), and refuses a table without a key', () => {
    assert.deepEqual(loadConfig({ FLEET_TABLE: 'rackspace-token-vendor-prod-tokens', FLEET_KEY_ID: 'alias/k', STAGE: 'prod' }).fleet, { table: 'rackspace-token-vendor-prod-tokens', keyId: 'alias/k', stage: 'prod' });
    assert.equal(loadConfig({ FLEET_TABLE: '' }).fleet, null);
    assert.throws(() => loadConfig({ FLEET_TABLE: 'tokens' }), /FLEET_KEY_ID is required when FLEET_TABLE is set/);
    assert.throws(() => loadConfig({ FLEET_TABLE: 'no spaces', FLEET_KEY_ID: 'k' }), /FLEET_TABLE: must be a DynamoDB table name/);
  });

  for (const { name, key, min, max, with: others } of RANGES) {
    it(`accepts ${name} from ${min} to ${max} and refuses ${min - 1}, ${max + 1} and non-numbers, naming the variable`, () => {
      assert.equal(loadConfig({ ...others, [name]: String(min) })[key], min);
      assert.equal(loadConfig({ ...others, [name]: String(max) })[key], max);
      refuses({ ...others, [name]: String(min - 1) }, new RegExp(`${name}: must (be at least ${min}|be a whole number)`));
      refuses({ ...others, [name]: String(max + 1) }, new RegExp(`${name}: must be at most ${max}`));
      for (const junk of ['', '1.5', '1e3', ' 200', 'abc']) refuses({ ...others, [name]: junk }, new RegExp(`${name}: must be a whole number`));
    });
  }

  it('lets an unset per-call timeout follow a budget below its default, so every budget starts', () => {
    for (const budget of [100, 1_000, 2_999, 3_000]) assert.equal(loadConfig({ IDENTITY_BUDGET_MS: String(budget) }).identityTimeoutMs, budget);
    for (const budget of [3_001, 8_000, 60_000]) assert.equal(loadConfig({ IDENTITY_BUDGET_MS: String(budget) }).identityTimeoutMs, 3_000);
  });

  it('accepts a set per-call timeout up to the budget and refuses one above it', () => {
    assert.equal(loadConfig({ IDENTITY_TIMEOUT_MS: '1000', IDENTITY_BUDGET_MS: '1000' }).identityTimeoutMs, 1_000);
    refuses({ IDENTITY_TIMEOUT_MS: '1001', IDENTITY_BUDGET_MS: '1000' }, /IDENTITY_TIMEOUT_MS must not exceed IDENTITY_BUDGET_MS/);
    refuses({ IDENTITY_TIMEOUT_MS: '3000', IDENTITY_BUDGET_MS: '1000' }, /IDENTITY_TIMEOUT_MS must not exceed IDENTITY_BUDGET_MS/);
  });

  it('refuses an IDENTITY_URL with user info, a query or a fragment, without quoting it', () => {
    const pw = 'env-url-password-42';
    assert.throws(() => loadConfig({ IDENTITY_URL: `https://svc:${pw}@identity.example/v2.0` }), (error: unknown) =>
      error instanceof Error && /IDENTITY_URL must not contain user info/.test(error.message) && !error.message.includes(pw));
    refuses({ IDENTITY_URL: 'https://identity.example/v2.0?region=x' }, /IDENTITY_URL must not contain a query or a fragment/);
    refuses({ IDENTITY_URL: 'https://identity.example/v2.0#x' }, /IDENTITY_URL must not contain a query or a fragment/);
    assert.equal(loadConfig({ IDENTITY_URL: 'https://identity.example/v2.0' }).identityUrl, 'https://identity.example/v2.0');
  });
});
