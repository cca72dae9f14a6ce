import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarize } from '../mutation/summary.ts';

describe('Function: summarize (npm run mutate -- --json)', () => {
  it("scores detected / valid per folder and file, Stryker's definition, leaving ignored and errored mutants out", () => {
    const at = (fileName: string, status: string, n = 1) => Array.from({ length: n }, () => ({ fileName, status }));
    const summary = summarize(
      [
        ...at('/repo/functions/core/a.ts', 'Killed', 6),
        ...at('/repo/functions/core/a.ts', 'Timeout', 1),
        ...at('/repo/functions/core/b.ts', 'Survived', 2),
        ...at('/repo/functions/core/b.ts', 'NoCoverage', 1),
        ...at('/repo/functions/core/b.ts', 'Ignored', 4),
        ...at('/repo/functions/token/c.ts', 'Killed', 1),
        ...at('/repo/functions/token/c.ts', 'CompileError', 1),
      ],
      '/repo',
    );
    assert.deepEqual(
      { killed: summary.killed, survived: summary.survived, timeout: summary.timeout, noCoverage: summary.noCoverage, score: summary.score, ignored: summary.ignored, errors: summary.errors },
      { killed: 7, survived: 2, timeout: 1, noCoverage: 1, score: 0.7273, ignored: 4, errors: 1 },
    );
    assert.deepEqual(summary.byFolder, {
      'functions/core': { killed: 6, survived: 2, timeout: 1, noCoverage: 1, score: 0.7 },
      'functions/token': { killed: 1, survived: 0, timeout: 0, noCoverage: 0, score: 1 },
    });
    assert.deepEqual(summary.byFile['functions/core/b.ts'], { killed: 0, survived: 2, timeout: 0, noCoverage: 1, score: 0 });
  });

  it('has no score where nothing could be scored', () => {
    assert.equal(summarize([{ fileName: 'functions/x.ts', status: 'Ignored' }], '/repo').score, null);
  });
});
