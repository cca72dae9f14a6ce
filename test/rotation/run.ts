// `npm run rotation`: a full key rotation through the real SDK against the emulators while 50 callers
// vend, then the same with faults; prints one JSON object (the plain run's summary at the top level,
// the fault runs under `faults`). `-- --scenario NAME` runs one. Exit code 1 if any run lost a vend or the key.
import { runScenario, SCENARIOS, type Scenario, type Summary } from './scenario.ts';

const only = process.argv.includes('--scenario') ? (process.argv[process.argv.indexOf('--scenario') + 1] as Scenario) : undefined;
if (only && !SCENARIOS.includes(only)) {
  console.error(`--scenario must be one of ${SCENARIOS.join(', ')}`);
  process.exit(2);
}
const results: Summary[] = [];
for (const scenario of only ? [only] : SCENARIOS) results.push(await runScenario(scenario));
const [first, ...rest] = results as [Summary, ...Summary[]];
const ok = (s: Summary) => s.failed === 0 && s.identityAcceptsCurrent && s.oldKeyRefused && s.resets === 1;
console.log(JSON.stringify({ ...first, ...(rest.length > 0 && { faults: Object.fromEntries(rest.map((s) => [s.scenario, s])) }) }, null, 2));
process.exitCode = results.every(ok) ? 0 : 1;
