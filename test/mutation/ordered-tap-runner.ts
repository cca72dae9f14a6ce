// Stryker's TAP runner, running test files cheapest first. A mutant runs the files that cover it
// until one fails, in the order the runner listed them at the start; the runner lists them as
// its glob walk finds them, which put the fault matrix (seconds each) before the unit tests
// (tenths) and ran it for nearly every mutant.
import { createTapTestRunnerFactory } from '@stryker-mutator/tap-runner';

const RANK = ['test/unit/', 'test/fuzz/', 'test/integration/', 'test/faults/'];
const rank = (file: string) => {
  const at = RANK.findIndex((prefix) => file.startsWith(prefix));
  return at === -1 ? RANK.length : at;
};

const tap = createTapTestRunnerFactory();

function createOrderedTapRunner(...args: Parameters<typeof tap>) {
  const runner = tap(...args);
  const init = runner.init.bind(runner);
  runner.init = async () => {
    await init();
    // `testFiles` is private to TypeScript only; the runner reads it on every run.
    (runner as unknown as { testFiles: string[] }).testFiles.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  };
  return runner;
}
createOrderedTapRunner.inject = tap.inject;

export const strykerPlugins = [{ kind: 'TestRunner', name: 'tap-ordered', factory: createOrderedTapRunner }];
