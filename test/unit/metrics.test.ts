import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyFacts } from '../../functions/token/audit.ts';
import { metricValues } from '../../functions/token/metrics.ts';

describe('metricValues: what one audit line counts', () => {
  it('counts every 5xx, a 500 included, as UpstreamError and never as ClientError; a 4xx other than 403 as ClientError', () => {
    const counted = [400, 404, 403, 499, 500, 502, 503].map((status) => {
      const { ClientError, UpstreamError, Denied } = metricValues(emptyFacts('r'), status);
      return [status, ClientError, UpstreamError, Denied];
    });
    assert.deepEqual(counted, [[400, 1, 0, 0], [404, 1, 0, 0], [403, 0, 0, 1], [499, 1, 0, 0], [500, 0, 1, 0], [502, 0, 1, 0], [503, 0, 1, 0]]);
  });
});
