// `npm run soak [-- --duration S --rate N --json]`: see soak.ts.
import { runSoak, SOAK_DEFAULTS } from './soak.ts';
import { parseSoakArgs } from './soak-rules.ts';

const { options, json } = parseSoakArgs(process.argv.slice(2));
const o = { ...SOAK_DEFAULTS, ...options };
if (!json) console.log(`soak: ${o.rate} requests/s for ${o.durationMs / 1000} s, ${o.profiles} profiles, ${o.instances} instances (one cold every ${o.recycleMs / 1000} s), ${o.faultsPerSecond} fault(s)/s, seed ${o.seed}`);
const r = await runSoak(options);
if (json) {
  const { requests, byStatus, nonContract, identityCalls, p50Ms, p99Ms, rssGrowth } = r;
  console.log(JSON.stringify({ requests, byStatus, nonContract, identityCalls, p50Ms, p99Ms, rssGrowth, heapGrowth: r.heapGrowth, nonContractBy: r.nonContractBy, faults: r.faults, shed: r.shed, loadAverage: r.loadAverage }));
} else {
  console.log(`requests ${r.requests} (shed ${r.shed}) in ${r.durationMs} ms; by status ${JSON.stringify(r.byStatus)}; load average ${r.loadAverage.join(' → ')}`);
  console.log(`Identity calls ${r.identityCalls}; p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms; RSS growth ${r.rssGrowth} MiB, heap growth ${r.heapGrowth} MiB`);
  console.log(`faults applied ${JSON.stringify(r.faults)}`);
  console.log(`non-contract answers ${r.nonContract}${r.nonContract ? `: ${JSON.stringify(r.nonContractBy, null, 1)}` : ''}`);
}
process.exitCode = r.nonContract === 0 ? 0 : 1;
