// Summaries and the printed table. Every figure is reported as median with min–max because a
// single run on a shared 2-core machine says little; the median is what the goals are judged on.

export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export function summarize(samples: number[]): Summary {
  if (samples.length === 0) throw new Error('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, runs: sorted.length };
}

export interface RowSpec {
  /** Stable name for `--json`'s goalsMet, on rows that carry a goal. */
  key?: string;
  figure: string;
  unit: string;
  value: Summary;
  baselineName: string;
  baseline: Summary;
  /** Defaults to value.median / baseline.median. */
  ratio?: number;
  goal?: string;
  met?: (ratio: number, value: Summary) => boolean;
}

/** A printed row: the spec with its ratio worked out and its goal judged (`met` null: no goal). */
export type Row = Omit<RowSpec, 'ratio' | 'goal' | 'met'> & { ratio: number; goal: string; met: boolean | null };

export function row(spec: RowSpec): Row {
  const ratio = spec.ratio ?? spec.value.median / spec.baseline.median;
  const { figure, unit, value, baselineName, baseline } = spec;
  const met = spec.met ? spec.met(ratio, value) : null;
  return { ...(spec.key && { key: spec.key }), figure, unit, value, baselineName, baseline, ratio, goal: spec.goal ?? '—', met };
}

/** Scales a summary (ns → µs, bytes → MiB) without touching its run count. */
export const scale = (s: Summary, by: number): Summary => ({ median: s.median * by, min: s.min * by, max: s.max * by, runs: s.runs });

const num = (n: number) => (Math.abs(n) >= 100 || Number.isInteger(n) ? n.toFixed(0) : n.toPrecision(3));
const cell = (s: Summary, unit: string) => `${num(s.median)} ${unit}`.trim();
const range = (s: Summary) => (s.runs > 1 ? `${num(s.min)}–${num(s.max)} (n=${s.runs})` : 'n=1 (deterministic)');
const ratio = (r: number) => (r >= 0.01 ? r.toFixed(3) : r.toPrecision(2));

/** A Markdown table, readable in a terminal and pasteable into BENCHMARKS.md as is. */
export function formatTable(rows: Row[]): string {
  const header = ['figure', 'median', 'min–max', 'baseline (median)', 'ratio', 'goal', 'met?'];
  const body = rows.map((r) => [r.figure, cell(r.value, r.unit), range(r.value), `${r.baselineName}: ${cell(r.baseline, r.unit)}`, ratio(r.ratio), r.goal, r.met === null ? '' : r.met ? 'yes' : 'NO']);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

/** Progress and side notes go to stderr so that `--json` leaves exactly one object on stdout. */
export const note = (text: string) => void process.stderr.write(`${text}\n`);
