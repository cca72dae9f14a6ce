import spec from './metrics.json' with { type: 'json' };
import type { AuditFacts } from './audit.ts';

export type MetricName = keyof typeof spec.metrics;
export const METRICS_NAMESPACE = spec.namespace;

type Values = Partial<Record<MetricName, number>>;

interface Directive {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: MetricName; Unit: string }[];
}

/**
 * CloudWatch Embedded Metric Format for one audit line: the `_aws` directive and the metric and
 * dimension members that must sit beside it at the top level of the same JSON line. No second
 * line and no network call: CloudWatch Logs extracts the metrics from the line we write anyway.
 *
 * `Profile` is a dimension only for declared profiles (`declared`), so a caller inventing profile
 * names cannot mint new metrics; every line also counts under `Stage` alone.
 */
export function metricFields(facts: AuditFacts, status: number, stage: string, declared: boolean, now: number): Record<string, unknown> {
  const values = metricValues(facts, status);
  const names = Object.keys(values) as MetricName[];
  const fields: Record<string, unknown> = {
    _aws: { Timestamp: now, CloudWatchMetrics: [directive(names, declared)] },
    Stage: stage,
    ...(declared && { Profile: facts.profile }),
    ...values,
  };
  return fields;
}

/** What one request counts. A metric absent here is absent from the line, so averages are not diluted by zeros. */
export function metricValues(facts: AuditFacts, status: number): Values {
  const values: Values = {
    Vend: 1,
    CacheHit: facts.cacheHit === true ? 1 : 0,
    IdentityCalls: facts.identityCalls,
    IdentityFailure: facts.upstream === 'identity' ? 1 : 0,
    CredentialsUnusable: status === 502 ? 1 : 0,
    Degraded: facts.degraded ? 1 : 0,
    Denied: status === 403 ? 1 : 0,
    ClientError: status >= 400 && status < 500 && status !== 403 ? 1 : 0,
    UpstreamError: status >= 500 ? 1 : 0,
  };
  if (facts.identityMs !== null) values.IdentityLatency = facts.identityMs;
  if (facts.secondsLeft !== null) values.TokenSecondsLeft = facts.secondsLeft;
  return values;
}

// A handful of shapes (which optional metrics are present × Profile or not): built once each.
const directives = new Map<string, Directive>();

function directive(names: MetricName[], declared: boolean): Directive {
  const key = `${declared}:${names.join(',')}`;
  let found = directives.get(key);
  if (!found) {
    found = {
      Namespace: spec.namespace,
      Dimensions: declared ? [['Stage'], ['Stage', 'Profile']] : [['Stage']],
      Metrics: names.map((Name) => ({ Name, Unit: spec.metrics[Name].unit })),
    };
    directives.set(key, found);
  }
  return found;
}
