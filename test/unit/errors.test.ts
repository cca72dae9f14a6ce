import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AmbiguousEndpointError,
  BadRequestError,
  CredentialsRefusedError,
  EndpointNotFoundError,
  ForbiddenError,
  ServiceMisconfiguredError,
  UpstreamUnavailableError,
} from '../../functions/core/errors.ts';

// What each error carries besides its problem type (problem.test.ts): the audit line and the
// alarms read `upstream` and the cause; the problem body reads `extensions`.
describe('Class: VendError and its subclasses', () => {
  it('carries the problem extensions each kind of client error names, and no upstream', () => {
    const cases = [
      [new BadRequestError('d', 'minTtl'), { parameter: 'minTtl' }],
      [new EndpointNotFoundError('d', 'region', ['DFW', 'ORD']), { missing: 'region', available: ['DFW', 'ORD'] }],
      [new AmbiguousEndpointError('d', [{ region: 'DFW' }]), { candidates: [{ region: 'DFW' }] }],
      [new ForbiddenError('no such profile'), {}],
    ] as const;
    for (const [error, extensions] of cases) assert.deepEqual([error.extensions, error.upstream], [extensions, null], error.slug);
    assert.equal(new ForbiddenError('no such profile').reason, 'no such profile');
  });

  it('keeps the cause and the upstream a 503 is given, and says the wait is ours unless told otherwise', () => {
    const cause = new Error('socket hang up');
    const error = new UpstreamUnavailableError('Rackspace Identity is unavailable', 9, { upstream: 'identity', cause });
    assert.deepEqual([error.cause, error.upstream, error.retryAfterSeconds, error.retryAfterGiven, error.message], [cause, 'identity', 9, false, 'Rackspace Identity is unavailable']);
  });

  it("records Identity's refusal: its HTTP status, Identity as the upstream, the cause, and no credentials tag until the vendor sets one", () => {
    const cause = new Error('HTTP 401');
    const error = new CredentialsRefusedError(401, 'Rackspace Identity rejected the custodied credentials (HTTP 401).', { cause });
    assert.deepEqual([error.identityStatus, error.upstream, error.cause, error.credentials, error.status], [401, 'identity', cause, null, 502]);
  });

  it('keeps the upstream and the reason of a misconfigured service for the log', () => {
    const cause = new Error('no region');
    const error = new ServiceMisconfiguredError({ upstream: 'secrets-manager', cause });
    assert.deepEqual([error.upstream, error.cause], ['secrets-manager', cause]);
  });
});
