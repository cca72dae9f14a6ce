import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BENCH_MISSED, benchVerdict } from '../bench/verdict.ts';

describe('benchVerdict', () => {
  it('exits 0 when every goal is met, rows without a goal not counting', () => {
    assert.deepEqual(benchVerdict([{ figure: 'warm vend time', met: true }, { figure: 'vends per second', met: null }], { fleetBurstIdentityCalls: true }), { exitCode: 0, missed: [] });
  });

  it('exits non-zero naming a row whose goal shows NO', () => {
    const verdict = benchVerdict([{ figure: 'warm vend time', met: true }, { figure: 'cold vend (spawn→exit)', met: false }], { fleetBurstIdentityCalls: true });
    assert.deepEqual(verdict, { exitCode: BENCH_MISSED, missed: ['cold vend (spawn→exit)'] });
    assert.notEqual(BENCH_MISSED, 0);
  });

  it('exits non-zero naming a missed goal printed beside the table', () => {
    assert.deepEqual(benchVerdict([{ figure: 'warm vend time', met: true }], { fleetIdentityCalls: true, coldSharedHitIdentityCalls: false }), { exitCode: BENCH_MISSED, missed: ['coldSharedHitIdentityCalls'] });
  });
});
