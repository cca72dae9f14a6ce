import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { secretsRetryVerdict } from '../../functions/adapters/secrets.ts';

/** An error as the SDK raises it: a name, and `$metadata` with the HTTP status when an answer came. */
function sdkError(name: string, status?: number): Error {
  return Object.assign(new Error(name), { name, $metadata: status === undefined ? {} : { httpStatusCode: status } });
}

describe('secretsRetryVerdict: which Secrets Manager failures the rotation tries again', () => {
  for (const [name, status] of [
    ['ThrottlingException', 400],
    ['InternalServiceError', 500],
    ['TimeoutError', undefined],
    ['RequestTimeout', 408],
    ['ServiceUnavailable', 503],
    ['BadGateway', 500],
    ['ECONNRESET', undefined],
  ] as const) {
    it(`retries ${name}${status === undefined ? ' (no answer)' : ` (HTTP ${status})`}`, () => {
      assert.deepEqual(secretsRetryVerdict(sdkError(name, status)), { retry: true });
    });
  }

  // The names are retried by name alone: the status rule (5xx, none) need not hold for them too.
  for (const name of ['ThrottlingException', 'InternalServiceError', 'TimeoutError', 'RequestTimeout']) {
    it(`retries ${name} by its name, whatever its HTTP status (here 400)`, () => {
      assert.deepEqual(secretsRetryVerdict(sdkError(name, 400)), { retry: true });
    });
  }

  for (const [name, status] of [
    ['ResourceNotFoundException', 400],
    ['AccessDeniedException', 400],
    ['InvalidRequestException', 400],
    ['ResourceExistsException', 400],
    ['SomeClientError', 499],
  ] as const) {
    it(`does not retry ${name} (HTTP ${status}): a refusal would only repeat`, () => {
      assert.deepEqual(secretsRetryVerdict(sdkError(name, status)), { retry: false });
    });
  }

  it('retries a thrown value that is not an Error (no answer is known)', () => {
    assert.deepEqual(secretsRetryVerdict(null), { retry: true });
  });
});
