// `npm run faults`: the fault matrix as a table (fault → caller status, Identity calls, time).
import { BUDGET, FAULTS, runFault } from './matrix.ts';

console.log(`Identity timeout ${BUDGET.IDENTITY_TIMEOUT_MS} ms, budget ${BUDGET.IDENTITY_BUDGET_MS} ms, ${BUDGET.IDENTITY_ATTEMPTS} attempts\n`);
console.log('| fault | caller status | Retry-After | Identity calls | time (ms) | as expected |');
console.log('|---|---|---|---|---|---|');
let failures = 0;
for (const fault of FAULTS) {
  const r = await runFault(fault);
  const ok = r.status === fault.expect.status && r.identityCalls === fault.expect.identityCalls;
  if (!ok) failures++;
  console.log(`| ${fault.name} | ${r.status} | ${r.retryAfter ?? '–'} | ${r.identityCalls} | ${Math.round(r.ms)} | ${ok ? 'yes' : 'NO'} |`);
}
process.exitCode = failures > 0 ? 1 : 0;
