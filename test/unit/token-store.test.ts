import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreUnavailableError } from '../../functions/core/token-store.ts';

describe('Class: StoreUnavailableError', () => {
  it('names itself and the dependency that failed, keeping the message and the cause', () => {
    const cause = new Error('ThrottlingException');
    const error = new StoreUnavailableError('kms', 'the key service is throttling', { cause });
    assert.ok(error instanceof Error);
    assert.deepEqual([error.name, error.dependency, error.message, error.cause], ['StoreUnavailableError', 'kms', 'the key service is throttling', cause]);
    assert.match(String(error), /^StoreUnavailableError: the key service is throttling$/);
  });
});
