import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

// The suite's own guards, proved on fixtures whose only test passes: each run must still fail.
function runFixture(fixture: string, flags: string[] = []) {
  // Without NODE_TEST_CONTEXT the child is a top-level run, not a subprocess of this one.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  return spawnSync(process.execPath, ['--test', ...flags, '--test-reporter=tap', `test/harness/fixtures/${fixture}.ts`], { encoding: 'utf8', env });
}

describe('npm test fails on stray errors', () => {
  // Node 24's runner does this on its own; this would catch a process-wide handler that swallows them.
  for (const fixture of ['stray-rejection', 'late-rejection', 'uncaught-exception']) {
    it(`fails a run that leaves a ${fixture.replace('-', ' ')}`, () => {
      const run = runFixture(fixture);
      assert.equal(run.status, 1, run.stdout);
      assert.match(run.stdout, new RegExp(fixture.replace('-', ' ')));
    });
  }
});

describe('npm test fails when a custodied value leaks', () => {
  it('fails a run that writes a vended token to stdout, and says where', () => {
    const run = runFixture('leaked-token', ['--import', './test/support/leak-check.ts']);
    assert.equal(run.status, 1, run.stdout);
    assert.match(run.stdout, /stdout: holds a custodied value \(\d+ chars\)/);
  });
});
