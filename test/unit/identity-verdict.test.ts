import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdentityRejectedError, IdentityUnavailableError, identityRetryVerdict, isUnauthorized } from '../../functions/adapters/identity.ts';

describe('Function: identityRetryVerdict', () => {
  it("waits exactly what Identity's Retry-After asked for, in milliseconds", () => {
    assert.deepEqual(identityRetryVerdict(new IdentityUnavailableError('rate-limited', 'rate limited, HTTP 429', 7)), { retry: true, afterMs: 7_000 });
    assert.deepEqual(identityRetryVerdict(new IdentityUnavailableError('server-error', 'HTTP 503', 0)), { retry: true, afterMs: 0 });
  });

  it('falls back to our own backoff when Identity named no wait', () => {
    for (const fault of ['rate-limited', 'server-error', 'network', 'timeout'] as const) {
      assert.deepEqual(identityRetryVerdict(new IdentityUnavailableError(fault, 'x', undefined)), { retry: true, afterMs: undefined }, fault);
    }
  });

  it('never retries an answer it could not read, a refusal or a foreign error', () => {
    assert.deepEqual(identityRetryVerdict(new IdentityUnavailableError('malformed', 'x', undefined)), { retry: false });
    assert.deepEqual(identityRetryVerdict(new IdentityRejectedError(401, 'unauthorized')), { retry: false });
    assert.deepEqual(identityRetryVerdict(new Error('bug')), { retry: false });
  });
});

describe('Function: isUnauthorized', () => {
  it('is true for a 401 refusal only (the one worth re-reading the secret for)', () => {
    assert.deepEqual([401, 400, 403].map((status) => isUnauthorized(new IdentityRejectedError(status, undefined))), [true, false, false]);
    assert.equal(isUnauthorized(new IdentityUnavailableError('server-error', 'HTTP 500', undefined)), false);
  });
});
