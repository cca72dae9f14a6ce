import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEMO_USER } from '../emulators/identity.ts';
import { BUDGET, FAULTS, runFault } from './matrix.ts';

// A bound, not a benchmark: without the budget the slow-answer row alone would take 4 × 5 s.
const LIMIT_MS = Number(BUDGET.IDENTITY_BUDGET_MS) + 1_000;

describe('Fault matrix: every Identity and Secrets Manager fault class', () => {
  for (const fault of FAULTS) {
    it(`${fault.name} → ${fault.expect.status}, ${fault.expect.identityCalls} Identity call(s)`, async () => {
      const result = await runFault(fault);
      assert.equal(result.status, fault.expect.status, result.body);
      assert.equal(result.identityCalls, fault.expect.identityCalls);
      if (fault.expect.retryAfter) assert.equal(result.retryAfter, fault.expect.retryAfter);
      if (result.status === 503) assert.match(result.retryAfter ?? '', /^\d+$/, '503 always says when to retry');
      assert.ok(result.ms < LIMIT_MS, `took ${Math.round(result.ms)} ms`);
      const body = JSON.parse(result.body);
      if (result.status !== 200) assert.deepEqual([body.status, typeof body.detail], [result.status, 'string']);
      assert.equal(result.logs.filter((l) => l.includes('"audit"')).length, 1, 'one audit line');
      for (const line of [...result.logs, result.body]) assert.ok(!line.includes(DEMO_USER.apiKey as string), 'no API key anywhere');
    });
  }
});
