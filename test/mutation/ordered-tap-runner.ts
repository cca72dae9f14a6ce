// Stryker's TAP runner, running test files cheapest first. A mutant runs the files that cover it
// until one fails, in the order the runner listed them at the start; the runner lists them as
// its glob walk finds them, which put the fault matrix (seconds each) before the unit tests
// (tenths) and ran it for nearly every mutant. After the dry run the order is by the time each
// file took there (the audit test, 10 s, had run first of the integration files for every
// handler mutant only because its name sorts first).
import { createTapTestRunnerFactory } from '@stryker-mutator/tap-runner';

const RANK = ['test/unit/', 'test/fuzz/', 'test/integration/', 'test/faults/'];
const rank = (file: string) => {
  const at = RANK.findIndex((prefix) => file.startsWith(prefix));
  return at === -1 ? RANK.length : at;
};

const tap = createTapTestRunnerFactory();

function createOrderedTapRunner(...args: Parameters<typeof tap>) {
  const runner = tap(...args);
  // `testFiles` is private to TypeScript only; the runner reads it on every run.
  const files = () => (runner as unknown as { testFiles: string[] }).testFiles;
  const spent = new Map<string, number>();
  const cheapestFirst = (a: string, b: string) => (spent.get(a) ?? Infinity) - (spent.get(b) ?? Infinity) || rank(a) - rank(b) || a.localeCompare(b);
  const init = runner.init.bind(runner);
  runner.init = async () => {
    await init();
    files().sort(cheapestFirst);
  };
  const dryRun = runner.dryRun.bind(runner);
  runner.dryRun = async (options) => {
    const result = await dryRun(options);
    if (result.status === 'complete') for (const test of result.tests) spent.set(test.id, test.timeSpentMs);
    files().sort(cheapestFirst);
    return result;
  };
  // A mutant's covering files come in the dry run's order; put them in the measured one.
  const mutantRun = runner.mutantRun.bind(runner);
  runner.mutantRun = (options) => mutantRun(options.testFilter ? { ...options, testFilter: [...options.testFilter].sort(cheapestFirst) } : options);
  return runner;
}
createOrderedTapRunner.inject = tap.inject;

export const strykerPlugins = [{ kind: 'TestRunner', name: 'tap-ordered', factory: createOrderedTapRunner }];
