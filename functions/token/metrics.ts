import type spec from './metrics.json';
import type { AuditFacts } from './audit.ts';

// metrics.json stays the one list of metrics (names, units, meanings) for infra/observability.cjs
// and the docs; the function needs only names and units, so it imports the file's type, not its
// ~2 KiB of meanings. test/unit/metrics.test.ts holds these two constants to the file.
export type MetricName = keyof typeof spec.metrics;
export const METRICS_NAMESPACE = 'RackspaceTokenVendor';
/** The unit of each metric that is not a plain `Count`. */
export const METRIC_UNITS: Partial<Record<MetricName, string>> = { IdentityLatency: 'Milliseconds', TokenSecondsLeft: 'Seconds' };

type Values = Partial<Record<MetricName, number>>;

interface Directive {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: MetricName; Unit: string }[];
}

export interface MetricFields {
  /** Dimension and metric members, for the top level of the line. */
  members: Record<string, unknown>;
  /** The `"_aws":{…}` member as JSON text: our own constants and a number, nothing to redact. */
  directive: string;
}

/**
 * CloudWatch Embedded Metric Format for one audit line: the `_aws` directive and the metric and
 * dimension members that must sit beside it at the top level of the same JSON line. No second
 * line and no network call: CloudWatch Logs extracts the metrics from the line we write anyway.
 *
 * `Profile` is a dimension only for declared profiles (`declared`), so a caller inventing profile
 * names cannot mint new metrics; every line also counts under `Stage` alone.
 */
export function metricFields(facts: AuditFacts, status: number, stage: string, declared: boolean, now: number): MetricFields {
  const values = metricValues(facts, status);
  return {
    members: { Stage: stage, ...(declared && { Profile: facts.profile }), ...values },
    directive: `"_aws":{"Timestamp":${Math.trunc(now)},"CloudWatchMetrics":[${directive(values, declared)}]}`,
  };
}

/** What one request counts. A metric absent here is absent from the line, so averages are not diluted by zeros. */
export function metricValues(facts: AuditFacts, status: number): Values {
  const values: Values = {
    Vend: 1,
    CacheHit: facts.cacheHit === true ? 1 : 0,
    SharedCacheHit: facts.shared === 'table' ? 1 : 0,
    SharedTierFallback: facts.shared === 'fallback' ? 1 : 0,
    IdentityCalls: facts.identityCalls,
    IdentityFailure: facts.upstream === 'identity' ? 1 : 0,
    CredentialsUnusable: status === 502 ? 1 : 0,
    CredentialsOverprivileged: facts.refusedRoles !== null ? 1 : 0,
    Degraded: facts.degraded ? 1 : 0,
    Denied: status === 403 ? 1 : 0,
    ClientError: status >= 400 && status < 500 && status !== 403 ? 1 : 0,
    UpstreamError: status >= 500 ? 1 : 0,
  };
  if (facts.identityMs !== null) values.IdentityLatency = facts.identityMs;
  if (facts.secondsLeft !== null) values.TokenSecondsLeft = facts.secondsLeft;
  return values;
}

// Eight shapes (latency present or not × seconds left present or not × Profile or not), each
// serialised once: the directive is the same text on every line of its shape.
const directives = new Map<number, string>();

function directive(values: Values, declared: boolean): string {
  // Stryker disable next-line EqualityOperator: the key only tells the shapes apart, and with a bit's meaning flipped it still does.
  const key = (values.IdentityLatency === undefined ? 0 : 1) | (values.TokenSecondsLeft === undefined ? 0 : 2) | (declared ? 4 : 0);
  return directives.get(key) ?? serialise(key, values, declared);
}

/** The directive of one shape, kept for the next line of that shape. */
function serialise(key: number, values: Values, declared: boolean): string {
  const names = Object.keys(values) as MetricName[];
  const found: Directive = {
    Namespace: METRICS_NAMESPACE,
    Dimensions: declared ? [['Stage'], ['Stage', 'Profile']] : [['Stage']],
    Metrics: names.map((Name) => ({ Name, Unit: METRIC_UNITS[Name] ?? 'Count' })),
  };
  const text = JSON.stringify(found);
  // Stryker disable next-line CallExpression: a memo; serialising again gives the same text.
  directives.set(key, text);
  return text;
}
