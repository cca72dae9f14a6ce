// `npm run bench`'s exit code, so CI and scripts can act on a missed goal without reading the table.
import type { Row } from './stats.ts';

/** Exit code of a bench run that missed a goal (1: "failed", as test runners use it). */
export const BENCH_MISSED = 1;

/**
 * Every goal judged NO — a row of the table, or one of the named goals printed beside it (the
 * shared tier's) — and the exit code: 0 when none was missed. A row without a goal does not count.
 *
 * @example
 * benchVerdict([{ figure: 'warm vend time', met: false }], { fleetBurstIdentityCalls: true }) // { exitCode: 1, missed: ['warm vend time'] }
 */
export function benchVerdict(rows: ReadonlyArray<Pick<Row, 'figure' | 'met'>>, goals: Readonly<Record<string, boolean>>): { exitCode: number; missed: string[] } {
  const missed = [...rows.filter((row) => row.met === false).map((row) => row.figure), ...Object.entries(goals).filter(([, met]) => !met).map(([name]) => name)];
  return { exitCode: missed.length > 0 ? BENCH_MISSED : 0, missed };
}
