import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyFacts } from '../../functions/token/audit.ts';
import spec from '../../functions/token/metrics.json' with { type: 'json' };
import { METRIC_UNITS, METRICS_NAMESPACE, metricFields, metricValues, type MetricName } from '../../functions/token/metrics.ts';

describe('metricValues: what one audit line counts', () => {
  it('counts every 5xx, a 500 included, as UpstreamError and never as ClientError; a 4xx other than 403 as ClientError', () => {
    const counted = [400, 404, 403, 499, 500, 502, 503].map((status) => {
      const { ClientError, UpstreamError, Denied } = metricValues(emptyFacts('r'), status);
      return [status, ClientError, UpstreamError, Denied];
    });
    assert.deepEqual(counted, [[400, 1, 0, 0], [404, 1, 0, 0], [403, 0, 0, 1], [499, 1, 0, 0], [500, 0, 1, 0], [502, 0, 1, 0], [503, 0, 1, 0]]);
  });

  it('emits the namespace and, for every metric, the unit functions/token/metrics.json gives it', () => {
    assert.equal(METRICS_NAMESPACE, spec.namespace);
    for (const [name, { unit }] of Object.entries(spec.metrics)) assert.equal(METRIC_UNITS[name as MetricName] ?? 'Count', unit, name);
    const facts = { ...emptyFacts('r'), identityMs: 12, secondsLeft: 300 };
    const { directive } = metricFields(facts, 200, 'dev', false, 0);
    const emitted = JSON.parse(`{${directive}}`)._aws.CloudWatchMetrics[0];
    assert.equal(emitted.Namespace, spec.namespace);
    for (const { Name, Unit } of emitted.Metrics as { Name: MetricName; Unit: string }[]) assert.equal(Unit, spec.metrics[Name].unit, Name);
  });
});
