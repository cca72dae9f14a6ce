// `npm run bench`: warm and cold vend, bundle size, upstream amplification and memory, each next to
// a baseline measured in the same run. Prints a table; `-- --json` prints one JSON object instead
// (use `npm run -s bench -- --json`: npm itself writes a banner to stdout otherwise).
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { burst, day, outage } from './amplification.ts';
import { fleetBurst, fleetDay } from './fleet.ts';
import { buildBundles, measureCold } from './cold.ts';
import { measureMemory } from './memory.ts';
import { buildRows, compositionText } from './report.ts';
import { formatTable, note, summarize } from './stats.ts';
import { benchVerdict } from './verdict.ts';
import { measureWarm } from './warm.ts';

// Sized so the whole run stays well under 3 minutes on a 2-core machine.
const WARM_ROUNDS = 15;
const WARM_N = 20_000;
const COLD_RUNS = 12;
const BURST_RUNS = 3;
const BURST_REQUESTS = 1_000;
const DAY_RUNS = 3;
const OUTAGE_RUNS = 3;
const MEMORY_RUNS = 3;

const json = process.argv.includes('--json');
// bundleOptions names its entry point relative to the repository root.
process.chdir(fileURLToPath(new URL('../..', import.meta.url)));
const started = performance.now();
const dir = mkdtempSync(join(tmpdir(), 'rtv-bench-'));

try {
  note('building bundles…');
  const bundles = await buildBundles(dir);
  note(`cold vend: ${COLD_RUNS} runs each of ours (shared tier off, and on with a fresh token in the table), the SDK floor and bare node, interleaved…`);
  const cold = await measureCold(bundles, dir, COLD_RUNS);
  note(`warm vend: ${WARM_ROUNDS} rounds × ${WARM_N} invocations each side, alternating…`);
  const warm = await measureWarm(WARM_ROUNDS, WARM_N);
  note(`amplification: ${BURST_RUNS} bursts of ${BURST_REQUESTS}, ${DAY_RUNS} simulated days, ${OUTAGE_RUNS} outages…`);
  const bursts = [];
  for (let i = 0; i < BURST_RUNS; i++) bursts.push(await burst(BURST_REQUESTS));
  const days = [];
  for (let i = 0; i < DAY_RUNS; i++) days.push(await day());
  const outages = [];
  for (let i = 0; i < OUTAGE_RUNS; i++) outages.push(await outage());
  note('shared tier: simulated days for 1, 10, 100 and 1000 instances, a burst of 100 cold instances × 20…');
  const FLEET_SIZES = [1, 10, 100, 1000];
  const fleetDays = [];
  for (const n of FLEET_SIZES) fleetDays.push(await fleetDay(n));
  const fleetBurstRun = await fleetBurst(100, 20);
  const fleet = {
    days: fleetDays,
    identityCallsByN: Object.fromEntries(fleetDays.map((d) => [d.instances, d.identityCalls])),
    burst: fleetBurstRun,
  };
  const coldSharedHitRatio = cold.sharedHitVendMs.median / cold.oursVendMs.median;
  const fleetGoals = {
    fleetIdentityCalls: Math.max(...fleetDays.map((d) => d.identityCalls)) <= 2,
    fleetBurstIdentityCalls: fleetBurstRun.identityCalls <= 1,
    coldSharedHitIdentityCalls: cold.sharedHitIdentityCalls === 0,
  };
  note(`memory: ${MEMORY_RUNS} child processes each side, and ${MEMORY_RUNS} with a distinct query per vend…`);
  const memory = await measureMemory(MEMORY_RUNS);

  const measured = {
    warm,
    cold,
    bundles,
    burst: { requests: BURST_REQUESTS, secretCalls: summarize(bursts.map((b) => b.secretCalls)), identityCalls: summarize(bursts.map((b) => b.identityCalls)) },
    day: { ...(days[0] as (typeof days)[number]), identityCalls: summarize(days.map((d) => d.identityCalls)), secretCalls: summarize(days.map((d) => d.secretCalls)) },
    outage: { ...(outages[0] as (typeof outages)[number]), identityCalls: summarize(outages.map((o) => o.identityCalls)) },
    memory,
  };
  const rows = buildRows(measured);
  const machine = { cpus: availableParallelism(), arch: process.arch, model: cpus()[0]?.model ?? 'unknown', node: process.version };
  const elapsedSeconds = Math.round((performance.now() - started) / 1000);

  if (json) {
    process.stdout.write(
      `${JSON.stringify({
        warmRatio: warm.ratio.median,
        coldRatio: cold.oursMs.median / cold.floorMs.median,
        bundleBytes: bundles.handlerBytes,
        burstSecretCalls: measured.burst.secretCalls.max,
        burstIdentityCalls: measured.burst.identityCalls.max,
        dayIdentityCalls: measured.day.identityCalls.max,
        outageIdentityCalls: measured.outage.identityCalls.max,
        fleetIdentityCalls: Math.max(...fleetDays.map((d) => d.identityCalls)),
        fleetIdentityCallsByN: fleet.identityCallsByN,
        fleetBurstIdentityCalls: fleetBurstRun.identityCalls,
        coldSharedHitIdentityCalls: cold.sharedHitIdentityCalls,
        coldSharedHitRatio,
        rssGrowth: memory.ours.growth.median,
        rssGrowthDistinct: memory.distinct.growth.median,
        vendsPerSecond: warm.vendsPerSecond.median,
        warmNsPerVend: warm.oursNs.median,
        coldMs: cold.oursMs.median,
        goalsMet: { ...Object.fromEntries(rows.filter((r) => r.key).map((r) => [r.key, r.met])), ...fleetGoals },
        detail: { ...measured, bundles: { ...bundles, handler: undefined, floor: undefined }, fleet },
        rows,
        machine,
        elapsedSeconds,
      })}\n`,
    );
  } else {
    console.log(formatTable(rows));
    console.log(`\nWarm: ${warm.vendsPerSecond.median.toFixed(0)} vends/s (median of ${WARM_ROUNDS} rounds of ${WARM_N}); floor ${warm.floorPerSecond.median.toFixed(0)}/s.`);
    console.log(`Cold, inside the child (ms since process start): ours bundle loaded ${cold.oursLoadedMs.median.toFixed(0)}, answered ${cold.oursAnsweredMs.median.toFixed(0)}; SDK floor loaded ${cold.floorLoadedMs.median.toFixed(0)}, answered ${cold.floorAnsweredMs.median.toFixed(0)}.`);
    console.log(`Simulated day: ${measured.day.requests} requests, Identity called at hours [${measured.day.identityCallHours.join(', ')}], ${measured.day.degradedAnswers} degraded answers.`);
    console.log(`Shared tier: Identity calls per profile in 24 h by instances ${JSON.stringify(fleet.identityCallsByN)} (goal ≤ 2 each); burst of 100 cold instances × 20: ${fleetBurstRun.identityCalls} (goal 1), ${fleetBurstRun.not200} answers other than 200; a cold start with a fresh token in the table: ${cold.sharedHitIdentityCalls} Identity calls in ${COLD_RUNS} runs, first vend ${cold.sharedHitVendMs.median.toFixed(1)} ms vs ${cold.oursVendMs.median.toFixed(1)} ms with the tier off (secret + Identity), ratio ${coldSharedHitRatio.toFixed(2)} (goal ≤ 1.0).`);
    console.log(`\n${compositionText(bundles)}`);
    console.log(`\n${machine.cpus} CPUs (${machine.model}, ${machine.arch}), Node ${machine.node}, ${elapsedSeconds} s.`);
  }
  // Non-zero when a goal shows NO, so CI and scripts can use the run; the figures are printed first.
  const verdict = benchVerdict(rows, fleetGoals);
  if (verdict.missed.length > 0) note(`goals missed: ${verdict.missed.join('; ')}`);
  process.exitCode = verdict.exitCode;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
