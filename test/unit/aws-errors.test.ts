import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callFailed, errorName, httpStatus } from '../../functions/adapters/aws-errors.ts';

/** An error as the SDK raises it: a name, a message that may echo input, and `$metadata`. */
function sdkError(name: string, metadata?: object): Error {
  return Object.assign(new Error(`${name}: secret-looking input echoed`), { name, ...(metadata && { $metadata: metadata }) });
}

describe('AWS error lines: name and status, never the message', () => {
  it('names the service, operation, error and HTTP status', () => {
    assert.equal(callFailed('DynamoDB', 'GetItem', sdkError('ThrottlingException', { httpStatusCode: 400 })), 'DynamoDB GetItem ThrottlingException (HTTP 400)');
  });

  it('leaves the status out when no answer came', () => {
    assert.equal(callFailed('KMS', 'Decrypt', sdkError('TimeoutError', {})), 'KMS Decrypt TimeoutError');
    assert.equal(callFailed('KMS', 'Decrypt', sdkError('TypeError')), 'KMS Decrypt TypeError');
  });

  it("names a thrown value that is not an Error 'UnknownError', with no status", () => {
    for (const thrown of ['boom', null, undefined, { $metadata: 'odd' }]) {
      assert.equal(errorName(thrown), 'UnknownError');
      assert.equal(callFailed('KMS', 'Decrypt', thrown), 'KMS Decrypt UnknownError');
    }
  });

  it('reads the status only from $metadata.httpStatusCode', () => {
    assert.deepEqual(
      [httpStatus(sdkError('X', { httpStatusCode: 503 })), httpStatus(sdkError('X', {})), httpStatus(sdkError('X')), httpStatus(null), httpStatus({ httpStatusCode: 500 })],
      [503, undefined, undefined, undefined, undefined],
    );
  });
});
