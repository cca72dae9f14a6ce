// Memory: RSS after 1k and after 100k warm vends, each run in a fresh `--expose-gc` child
// (memory-child.ts), ours interleaved with the floor handler for a same-run comparison, and ours
// again with a distinct query on every vend (what a caller varying the query costs).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { summarize, type Summary } from './stats.ts';

const run = promisify(execFile);
const child = fileURLToPath(new URL('./memory-child.ts', import.meta.url));

interface Sample {
  rss1k: number;
  rss100k: number;
  heap1k: number;
  heap100k: number;
}

export interface MemorySide {
  rss1k: Summary;
  rss100k: Summary;
  /** Per run rss100k / rss1k − 1; its median is the figure (not a ratio of medians). */
  growth: Summary;
  heapGrowth: Summary;
}

export interface MemoryResult {
  ours: MemorySide;
  floor: MemorySide;
  /** Ours, every vend with a query never asked before. */
  distinct: MemorySide;
}

// Without the sandbox's extra CA file: its certificates would pad rss1k and flatter the growth ratio.
const { NODE_EXTRA_CA_CERTS: _ca, ...env } = process.env;

// The young generation sized up front (16 MiB semi-spaces, what V8 grows it to under this allocation
// rate anyway): otherwise V8 enlarges it somewhere between the 1k and the 100k sample, and that one-off
// ~18 MiB of RSS (the floor shows the same 13 %) would read as memory our vends kept. Measured so,
// growth is what survives collection: retention, the thing this figure is for.
const V8_FLAGS = ['--expose-gc', '--min-semi-space-size=16', '--max-semi-space-size=16'];

async function sample(which: 'ours' | 'floor' | 'distinct'): Promise<Sample> {
  const { stdout } = await run(process.execPath, [...V8_FLAGS, child, which], { timeout: 60_000, env });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Sample;
}

const side = (samples: Sample[]): MemorySide => ({
  rss1k: summarize(samples.map((s) => s.rss1k)),
  rss100k: summarize(samples.map((s) => s.rss100k)),
  growth: summarize(samples.map((s) => s.rss100k / s.rss1k - 1)),
  heapGrowth: summarize(samples.map((s) => s.heap100k / s.heap1k - 1)),
});

export async function measureMemory(runs: number): Promise<MemoryResult> {
  const ours: Sample[] = [];
  const floor: Sample[] = [];
  const distinct: Sample[] = [];
  for (let r = 0; r < runs; r++) {
    ours.push(await sample('ours'));
    floor.push(await sample('floor'));
    distinct.push(await sample('distinct'));
  }
  return { ours: side(ours), floor: side(floor), distinct: side(distinct) };
}
