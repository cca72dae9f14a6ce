import { dirname, isAbsolute, relative } from 'node:path';

/** What Stryker says about one mutant: the file it lives in and what the tests did to it. */
export interface MutantOutcome {
  fileName: string;
  status: string;
}

export interface Tally {
  killed: number;
  survived: number;
  timeout: number;
  noCoverage: number;
  /** (killed + timeout) / (killed + timeout + survived + noCoverage), Stryker's own definition; `null` with no mutants. */
  score: number | null;
}

export interface Summary extends Tally {
  /** Ignored (`// Stryker disable` with a reason) and errored mutants: outside the score, counted so nobody forgets them. */
  ignored: number;
  errors: number;
  byFolder: Record<string, Tally>;
  byFile: Record<string, Tally>;
}

const empty = (): Omit<Tally, 'score'> => ({ killed: 0, survived: 0, timeout: 0, noCoverage: 0 });
const KEY = { Killed: 'killed', Survived: 'survived', Timeout: 'timeout', NoCoverage: 'noCoverage' } as const;

function scored(counts: Omit<Tally, 'score'>): Tally {
  const detected = counts.killed + counts.timeout;
  const valid = detected + counts.survived + counts.noCoverage;
  return { ...counts, score: valid === 0 ? null : Math.round((detected / valid) * 10_000) / 10_000 };
}

/**
 * Tallies mutant results overall, per folder (`functions/core`) and per file, with paths relative
 * to `root` so the JSON reads the same on every machine.
 */
export function summarize(results: readonly MutantOutcome[], root: string): Summary {
  const all = empty();
  const folders = new Map<string, Omit<Tally, 'score'>>();
  const files = new Map<string, Omit<Tally, 'score'>>();
  let ignored = 0;
  let errors = 0;
  for (const { fileName, status } of results) {
    const file = (isAbsolute(fileName) ? relative(root, fileName) : fileName).split('\\').join('/');
    if (status === 'Ignored') ignored++;
    else if (status === 'CompileError' || status === 'RuntimeError') errors++;
    const key = KEY[status as keyof typeof KEY];
    if (!key) continue;
    for (const [map, name] of [[folders, dirname(file)], [files, file]] as const) {
      const counts = map.get(name) ?? empty();
      counts[key]++;
      map.set(name, counts);
    }
    all[key]++;
  }
  const table = (map: Map<string, Omit<Tally, 'score'>>) => Object.fromEntries([...map].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, scored(v)]));
  return { ...scored(all), ignored, errors, byFolder: table(folders), byFile: table(files) };
}
