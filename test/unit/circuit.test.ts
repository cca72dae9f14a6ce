import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Circuit } from '../../functions/core/circuit.ts';

describe('Class: Circuit', () => {
  it('is closed until tripped, open with its reason for exactly openMs, then closed again', () => {
    let now = 1_000;
    const circuit = new Circuit({ now: () => now, openMs: 30_000 });
    assert.deepEqual([circuit.isOpen(), circuit.reason], [false, null]);
    circuit.trip('dynamodb: throttled');
    now += 29_999;
    assert.deepEqual([circuit.isOpen(), circuit.reason], [true, 'dynamodb: throttled']);
    now += 1;
    assert.deepEqual([circuit.isOpen(), circuit.reason], [false, null]);
  });
});
