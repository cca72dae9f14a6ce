// `npm run mutate`: StrykerJS over functions/ (config: stryker.config.json), then the score per
// file and per folder. Not part of `npm test` or CI: a full run takes many minutes.
//   npm run mutate -- --mutate functions/core/retry.ts --concurrency 1   while working on one file
//   npm run -s mutate -- --json                                           one JSON object on stdout
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Stryker } from '@stryker-mutator/core';
import { summarize, type Tally } from './summary.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    mutate: { type: 'string', multiple: true },
    concurrency: { type: 'string' },
  },
});
// Stryker's sandbox and globs are relative to the repository root.
const root = fileURLToPath(new URL('../..', import.meta.url));
process.chdir(root);
// The answer fuzzer's default size is for `npm test`; each mutant re-runs it, so a few hundred do here.
process.env.FUZZ_ANSWERS ??= '200';

// With --json nothing but the object may reach stdout: Stryker's own output goes to stderr.
const write = process.stdout.write.bind(process.stdout);
if (values.json) process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;

type Options = ConstructorParameters<typeof Stryker>[0];
const options: Options = {
  ...(values.mutate && { mutate: values.mutate }),
  ...(values.concurrency && { concurrency: Number(values.concurrency) }),
  // LogLevel is a const enum, which type stripping cannot import: its value is the string.
  ...(values.json && { reporters: ['progress', 'html', 'json', 'survivors'], logLevel: 'warn' as NonNullable<Options['logLevel']> }),
};
const started = performance.now();
const results = await new Stryker(options).runMutationTest();
const seconds = Math.round((performance.now() - started) / 1000);
const summary = summarize(results, root);

if (values.json) {
  const { byFile, ...rest } = summary;
  write(`${JSON.stringify({ ...rest, seconds, byFile })}\n`);
} else {
  const pct = (t: Tally) => (t.score === null ? '–' : `${(t.score * 100).toFixed(1)} %`);
  console.log('\n| folder | score | killed | timeout | survived | no coverage |\n|---|---|---|---|---|---|');
  for (const [folder, t] of Object.entries({ ...summary.byFolder, all: summary })) {
    console.log(`| ${folder} | ${pct(t)} | ${t.killed} | ${t.timeout} | ${t.survived} | ${t.noCoverage} |`);
  }
  console.log(`\n${results.length} mutants (${summary.ignored} ignored as equivalent, ${summary.errors} errors) in ${seconds} s; details: reports/mutation/index.html`);
}
