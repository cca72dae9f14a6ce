// Turns the measurements into table rows, each with its baseline, ratio and goal. Goals on counts
// are judged on the worst run (max); goals on timings and sizes on the median.
import type { DayResult, OutageResult } from './amplification.ts';
import type { Bundles, ColdResult } from './cold.ts';
import type { MemoryResult } from './memory.ts';
import { row, scale, summarize, type Row, type Summary } from './stats.ts';
import type { WarmResult } from './warm.ts';

export const GOALS = { warmRatio: 1.5, coldRatio: 1.3, bundleBytes: 350 * 1024, burstCalls: 1, dayIdentityCalls: 2, outageIdentityCalls: 6, rssGrowth: 0.1, rssGrowthDistinct: 0.1, coldSharedHitRatio: 1.0 };

export interface Measured {
  warm: WarmResult;
  cold: ColdResult;
  bundles: Bundles;
  burst: { requests: number; secretCalls: Summary; identityCalls: Summary };
  day: Omit<DayResult, 'identityCalls' | 'secretCalls'> & { identityCalls: Summary; secretCalls: Summary };
  outage: Omit<OutageResult, 'identityCalls'> & { identityCalls: Summary };
  memory: MemoryResult;
}

const once = (n: number) => summarize([n]);
const MiB = 1 / (1024 * 1024);

export function buildRows(m: Measured): Row[] {
  const { warm, cold, bundles, burst, day, outage, memory } = m;
  const perRequest = (name: string) => ({ baselineName: `${name} (1 per request)`, unit: 'calls' });
  return [
    row({ key: 'warmRatio', figure: 'warm vend time', unit: 'µs', value: scale(warm.oursNs, 1e-3), baselineName: 'middy + 1 log line', baseline: scale(warm.floorNs, 1e-3), ratio: warm.ratio.median, goal: `ratio ≤ ${GOALS.warmRatio}`, met: (r) => r <= GOALS.warmRatio }),
    row({ figure: 'warm vends per second', unit: '/s', value: warm.vendsPerSecond, baselineName: 'floor', baseline: warm.floorPerSecond }),
    row({ key: 'coldRatio', figure: 'cold vend (spawn→exit)', unit: 'ms', value: cold.oursMs, baselineName: 'SDK floor bundle', baseline: cold.floorMs, goal: `ratio ≤ ${GOALS.coldRatio}`, met: (r) => r <= GOALS.coldRatio }),
    row({ figure: 'cold: bare node -e ""', unit: 'ms', value: cold.bareMs, baselineName: 'SDK floor bundle', baseline: cold.floorMs }),
    row({ figure: 'cold vend minus bare node', unit: 'ms', value: cold.oursAboveBareMs, baselineName: 'SDK floor minus bare', baseline: cold.floorAboveBareMs }),
    row({
      key: 'coldSharedHitRatio', figure: 'cold first vend, fresh token in the table (loaded→answered)', unit: 'ms', value: cold.sharedHitVendMs, baselineName: 'cold first vend, shared tier off',
      baseline: cold.oursVendMs, goal: `ratio ≤ ${GOALS.coldSharedHitRatio}`, met: (r) => r <= GOALS.coldSharedHitRatio,
    }),
    row({ figure: 'cold vend, fresh token in the table (spawn→exit)', unit: 'ms', value: cold.sharedHitMs, baselineName: 'shared tier off', baseline: cold.oursMs }),
    row({ key: 'bundleBytes', figure: 'bundle size (handler.mjs)', unit: 'B', value: once(bundles.handlerBytes), baselineName: 'SDK floor bundle', baseline: once(bundles.floorBytes), goal: `≤ ${GOALS.bundleBytes} B`, met: (_r, v) => v.median <= GOALS.bundleBytes }),
    row({ key: 'burstSecretCalls', figure: `burst secret reads (${burst.requests} concurrent)`, value: burst.secretCalls, ...perRequest('requests'), baseline: once(burst.requests), goal: `= ${GOALS.burstCalls}`, met: (_r, v) => v.max <= GOALS.burstCalls }),
    row({ key: 'burstIdentityCalls', figure: `burst Identity calls (${burst.requests} concurrent)`, value: burst.identityCalls, ...perRequest('requests'), baseline: once(burst.requests), goal: `= ${GOALS.burstCalls}`, met: (_r, v) => v.max <= GOALS.burstCalls }),
    row({ key: 'dayIdentityCalls', figure: `Identity calls, 24 h (${day.requests} requests)`, value: day.identityCalls, ...perRequest('requests'), baseline: once(day.requests), goal: `≤ ${GOALS.dayIdentityCalls}`, met: (_r, v) => v.max <= GOALS.dayIdentityCalls }),
    row({ figure: `secret reads, 24 h (${day.requests} requests)`, value: day.secretCalls, ...perRequest('requests'), baseline: once(day.requests) }),
    row({
      key: 'outageIdentityCalls', figure: `Identity calls, 500 outage (${outage.requests} requests at 1/s, token short of minTtl)`, value: outage.identityCalls, unit: 'calls',
      baselineName: 'a retry cycle per request', baseline: once(outage.requests * outage.attemptsPerCycle), goal: `≤ ${GOALS.outageIdentityCalls}`, met: (_r, v) => v.max <= GOALS.outageIdentityCalls,
    }),
    row({
      key: 'rssGrowth', figure: 'RSS after 100k warm vends', unit: 'MiB', value: scale(memory.ours.rss100k, MiB), baselineName: 'RSS after 1k', baseline: scale(memory.ours.rss1k, MiB),
      ratio: 1 + memory.ours.growth.median, goal: `growth ≤ ${GOALS.rssGrowth * 100}%`, met: (r) => r - 1 <= GOALS.rssGrowth,
    }),
    row({
      key: 'rssGrowthDistinct', figure: 'RSS after 100k vends, each query distinct', unit: 'MiB', value: scale(memory.distinct.rss100k, MiB), baselineName: 'RSS after 1k', baseline: scale(memory.distinct.rss1k, MiB),
      ratio: 1 + memory.distinct.growth.median, goal: `growth ≤ ${GOALS.rssGrowthDistinct * 100}%`, met: (r) => r - 1 <= GOALS.rssGrowthDistinct,
    }),
    row({ figure: 'floor: RSS after 100k', unit: 'MiB', value: scale(memory.floor.rss100k, MiB), baselineName: 'floor RSS after 1k', baseline: scale(memory.floor.rss1k, MiB), ratio: 1 + memory.floor.growth.median }),
  ];
}

/** The top packages of both bundles, side by side. */
export function compositionText(bundles: Bundles): string {
  const floor = new Map(bundles.floorPackages);
  const top = bundles.packages.slice(0, 12);
  const lines = top.map(([pkg, bytes]) => `| ${pkg} | ${(bytes / 1024).toFixed(1)} | ${((floor.get(pkg) ?? 0) / 1024).toFixed(1)} |`);
  const rest = bundles.packages.slice(12).reduce((sum, [, b]) => sum + b, 0);
  const restFloor = bundles.floorPackages.filter(([pkg]) => !top.some(([p]) => p === pkg)).reduce((sum, [, b]) => sum + b, 0);
  return [
    `Bundle composition (KiB in output; handler.mjs ${bundles.handlerBytes} B, SDK floor ${bundles.floorBytes} B):`,
    '| package | handler.mjs | SDK floor |',
    '|---|---:|---:|',
    ...lines,
    `| (${bundles.packages.length - top.length} other${bundles.packages.length - top.length === 1 ? '' : 's'}) | ${(rest / 1024).toFixed(1)} | ${(restFloor / 1024).toFixed(1)} |`,
  ].join('\n');
}
