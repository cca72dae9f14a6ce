import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AmbiguousEndpointError,
  BadRequestError,
  CredentialsUnusableError,
  EndpointNotFoundError,
  ForbiddenError,
  ServiceMisconfiguredError,
  UpstreamMisconfiguredError,
  UpstreamUnavailableError,
} from '../../functions/core/errors.ts';
import { problemResponse } from '../../functions/core/problem.ts';

// The problem types are part of the contract: the client and CLI map them to typed errors.
describe('Function: problemResponse', () => {
  it('answers each error class with its status, its stable type URN and title, never to be cached', () => {
    const cases = [
      [new BadRequestError('d', 'minTtl'), 400, 'bad-request', 'Bad request'],
      [new ForbiddenError('no such profile'), 403, 'forbidden', 'Forbidden'],
      [new EndpointNotFoundError('d', 'region', ['DFW']), 404, 'endpoint-not-found', 'Endpoint not found'],
      [new AmbiguousEndpointError('d', []), 409, 'ambiguous-endpoint', 'Ambiguous endpoint'],
      [new CredentialsUnusableError('d', { upstream: 'secrets-manager' }), 502, 'credentials-unusable', 'Custodied credentials unusable'],
      // The Identity URL is custodied or configured like the credentials: the same problem for the caller.
      [new UpstreamMisconfiguredError('d', { upstream: 'identity' }), 502, 'credentials-unusable', 'Custodied credentials unusable'],
      [new ServiceMisconfiguredError({ upstream: 'secrets-manager' }), 500, 'service-misconfigured', 'Service misconfigured'],
      [new UpstreamUnavailableError('d', 4, { upstream: 'identity' }), 503, 'upstream-unavailable', 'Upstream unavailable'],
    ] as const;
    for (const [error, status, slug, title] of cases) {
      const answer = problemResponse(error);
      const body = JSON.parse(answer.body);
      assert.deepEqual([answer.statusCode, body.status, body.type, body.title], [status, status, `urn:rackspace-token-vendor:problem:${slug}`, title], slug);
      assert.deepEqual([answer.headers['content-type'], answer.headers['cache-control']], ['application/problem+json', 'no-store'], slug);
      assert.equal(answer.headers['retry-after'], status === 503 ? '4' : undefined, slug);
    }
  });

  it("says the service itself is misconfigured without saying how (the log has the reason)", () => {
    const body = JSON.parse(problemResponse(new ServiceMisconfiguredError({ upstream: 'secrets-manager', cause: new Error('no region') })).body);
    assert.equal(body.detail, 'The service is misconfigured; its operators must fix it. The service log has the reason.');
  });

  it('keeps a 503 without a cause or an upstream free of them, and says whether the upstream named the wait', () => {
    const plain = new UpstreamUnavailableError('d', 1, { upstream: null });
    assert.deepEqual([plain.cause, plain.upstream, plain.retryAfterGiven, 'cause' in plain], [undefined, null, false, false]);
    assert.equal(new UpstreamUnavailableError('d', 7, { upstream: 'identity', retryAfterGiven: true }).retryAfterGiven, true);
  });

  it('keeps the 403 detail the same whatever the reason, so profiles cannot be enumerated', () => {
    const [a, b] = [new ForbiddenError('no such profile'), new ForbiddenError('caller role not in the profile allowlist')].map((e) => problemResponse(e).body);
    assert.equal(a, b);
    assert.equal(JSON.parse(a ?? '{}').detail, 'The caller may not obtain a token for this profile.');
  });
});
