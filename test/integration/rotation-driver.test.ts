import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runScenario, SCENARIOS } from '../rotation/scenario.ts';

// `npm run rotation` runs these with 50 callers; here with 5, so the suite stays fast.
describe('npm run rotation: every scenario, with callers vending throughout', () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario}: no vend fails, Identity accepts AWSCURRENT and refuses the old key, the key was reset once`, async () => {
      // Real sleeps (the rotation's retries): a roomy invocation timeout, so a loaded machine does not end a step
      // that would have finished; only the crash scenario waits it out (once).
      const summary = await runScenario(scenario, { callers: 5, coldPerStep: 2, invocationTimeoutMs: 2_000 });
      assert.deepEqual([summary.failed, summary.identityAcceptsCurrent, summary.oldKeyRefused, summary.resets], [0, true, true, 1]);
      assert.ok(summary.vends > summary.coldVends && summary.coldVends >= 8, `${summary.vends} vends, ${summary.coldVends} cold`);
      assert.equal(summary.steps.at(-1), scenario === 'step-invoked-twice' ? 'finishSecret:already-done' : 'finishSecret:finished');
      const first = { 'crash-after-reset': 'createSecret:recovered', 'rotate-twice-at-once': 'createSecret:failed' }[scenario as string] ?? 'createSecret:reset';
      assert.equal(summary.steps[0], first);
      // Two rotations at once: the second one's createSecret stops before resetting (the first holds the claim).
      if (scenario === 'rotate-twice-at-once') assert.deepEqual(summary.steps.filter((s) => s.startsWith('createSecret')), ['createSecret:failed', 'createSecret:reset']);
      assert.ok(summary.windowMs !== null && summary.windowMs >= 0);
    });
  }
});
