import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { loadConfig } from '../../functions/config.ts';
import limits from '../../infra/limits.json' with { type: 'json' };

type Resolver = (context: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<unknown>;
const params = createRequire(import.meta.url)('../../infra/params.cjs') as Record<'reservedConcurrency' | 'identityBudgetMs' | 'timeout' | 'logRetentionInDays' | 'logLevel', Resolver> & {
  timeoutSeconds: (budgetMs: number) => number;
};

/** What serverless does for `${file(infra/params.cjs):name}` with these --param values (null: not given). */
const resolve = (name: keyof typeof params, given: Record<string, string> = {}) =>
  (params[name] as Resolver)({ resolveVariable: async (variable) => given[/^param:(\w+), null$/.exec(variable)?.[1] ?? ''] ?? null });

// The documented deployment parameters (docs/deploy.md); pinned here, not read from limits.json.
const BOUNDED = [
  { name: 'reservedConcurrency', min: 1, max: 100, fallback: 10 },
  { name: 'identityBudgetMs', min: 100, max: 25_000, fallback: 8_000 },
] as const;

describe('infra/params.cjs: deployment parameters checked at package time', () => {
  for (const { name, min, max, fallback } of BOUNDED) {
    it(`takes ${name} from ${min} to ${max} (default ${fallback}) and refuses ${min - 1}, ${max + 1} and non-numbers`, async () => {
      assert.equal(await resolve(name), fallback);
      assert.equal(await resolve(name, { [name]: String(min) }), min);
      assert.equal(await resolve(name, { [name]: String(max) }), max);
      for (const bad of [String(min - 1), String(max + 1), '1.5', 'ten', '']) {
        await assert.rejects(resolve(name, { [name]: bad }), new RegExp(`--param=${name}=… must be a whole number from ${min} to ${max}, got '${bad}'`));
      }
    });
  }

  it("takes logRetentionInDays only from CloudWatch Logs' values (default 30) and logLevel only from Powertools' levels (default INFO)", async () => {
    assert.deepEqual([await resolve('logRetentionInDays'), await resolve('logLevel')], [30, 'INFO']);
    for (const days of [1, 3653, 90]) assert.equal(await resolve('logRetentionInDays', { logRetentionInDays: String(days) }), days);
    for (const days of ['0', '2', '3654', 'forever']) await assert.rejects(resolve('logRetentionInDays', { logRetentionInDays: days }), /logRetentionInDays=… must be one of 1, 3, 5/);
    for (const level of ['TRACE', 'ERROR', 'SILENT']) assert.equal(await resolve('logLevel', { logLevel: level }), level);
    for (const level of ['info', 'LOUD', '']) await assert.rejects(resolve('logLevel', { logLevel: level }), /logLevel=… must be one of TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, SILENT/);
  });

  it('derives the Lambda timeout from the budget: above it by the secret-read allowance, under the API timeout at the largest budget', async () => {
    assert.deepEqual([await resolve('timeout'), await resolve('timeout', { identityBudgetMs: '100' }), await resolve('timeout', { identityBudgetMs: '25000' })], [10, 3, 27]);
    assert.ok(params.timeoutSeconds(limits.parameters.identityBudgetMs.max) * 1000 <= limits.lambda.apiTimeoutMs);
  });

  it('only deploys values the function accepts: every deployable budget starts, with the default per-call timeout', async () => {
    const { min, max, sets } = limits.parameters.identityBudgetMs;
    const env = limits.environment[sets as 'IDENTITY_BUDGET_MS'];
    assert.ok(env.min <= min && max <= env.max, `${sets} accepts ${env.min}–${env.max}, the parameter ${min}–${max}`);
    for (let budget = min; budget <= max; budget += 99) {
      const config = loadConfig({ [sets]: String(await resolve('identityBudgetMs', { identityBudgetMs: String(budget) })) });
      assert.ok(config.identityBudgetMs === budget && config.identityTimeoutMs <= budget);
    }
    assert.equal(loadConfig({ [sets]: String(max) }).identityBudgetMs, max);
  });
});
