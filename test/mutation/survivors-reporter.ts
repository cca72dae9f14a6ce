// A Stryker reporter that writes each surviving (or uncovered) mutant to
// reports/mutation/survivors.txt the moment it is known, so a long run can be worked on while it
// goes, and every tested mutant's file and status to reports/mutation/tested.jsonl, so a run cut
// short still has a tally (summary.ts's summarize reads those lines). Plain objects: the plugin kind
// is a string, and nothing from Stryker needs importing.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';

const FILE = 'reports/mutation/survivors.txt';
const TESTED = 'reports/mutation/tested.jsonl';

interface Tested {
  fileName: string;
  status: string;
  mutatorName: string;
  replacement?: string;
  location: { start: { line: number; column: number } };
}

const survivors = {
  onDryRunCompleted(): void {
    mkdirSync('reports/mutation', { recursive: true });
    writeFileSync(FILE, '');
    writeFileSync(TESTED, '');
  },
  onMutantTested(result: Tested): void {
    appendFileSync(TESTED, `${JSON.stringify({ fileName: relative(process.cwd(), result.fileName), status: result.status })}\n`);
    if (result.status !== 'Survived' && result.status !== 'NoCoverage') return;
    const { line, column } = result.location.start;
    const replacement = (result.replacement ?? '').replace(/\s+/g, ' ').slice(0, 120);
    appendFileSync(FILE, `${relative(process.cwd(), result.fileName)}:${line}:${column + 1} ${result.status} ${result.mutatorName} → ${replacement}\n`);
  },
};

export const strykerPlugins = [{ kind: 'Reporter', name: 'survivors', value: survivors }];
