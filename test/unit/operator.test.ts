import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOperatorEvent } from '../../functions/token/operator.ts';

describe('isOperatorEvent: which direct invokes go to the operator entry point', () => {
  it('takes an object that names an operation, valid or not (the flush then says what is wrong)', () => {
    assert.deepEqual([isOperatorEvent({ operation: 'flush' }), isOperatorEvent({ operation: 42 })], [true, true]);
  });

  it('leaves everything else to the API Gateway path, without throwing on non-objects', () => {
    const arrayWithOperation = Object.assign([], { operation: 'flush' });
    assert.deepEqual([null, undefined, 'operation', 7, {}, arrayWithOperation].map(isOperatorEvent), [false, false, false, false, false, false]);
  });
});
