import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

// Issue 4: an unhandled rejection or uncaught exception anywhere fails the run. Node 24's runner
// does this on its own; these fixtures prove it still does with our flags, and would catch a
// process-wide handler added later that swallows them.
describe('npm test fails on stray errors', () => {
  for (const fixture of ['stray-rejection', 'late-rejection', 'uncaught-exception']) {
    it(`fails a run whose only test passes but leaves a ${fixture.replace('-', ' ')}`, () => {
      // Without NODE_TEST_CONTEXT the child is a top-level run, not a subprocess of this one.
      const { NODE_TEST_CONTEXT: _, ...env } = process.env;
      const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', `test/harness/fixtures/${fixture}.ts`], { encoding: 'utf8', env });
      assert.equal(run.status, 1, run.stdout);
      assert.match(run.stdout, new RegExp(fixture.replace('-', ' ')));
    });
  }
});
