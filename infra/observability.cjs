'use strict';
// The dashboard and the alarms built on the metrics the function writes into its audit line
// (Embedded Metric Format, functions/token/metrics.ts). Both are generated from
// functions/token/metrics.json, the same file the code emits from, so a renamed metric breaks
// `npm run package` here instead of leaving a widget or an alarm silently empty.
const spec = require('../functions/token/metrics.json');
const params = require('./params.cjs');

const PERIOD = 300;

/** A metric of ours, by name: refuses a name the function does not emit. */
function ours(name) {
  if (!spec.metrics[name]) throw new Error(`infra/observability.cjs: no metric named ${name} in functions/token/metrics.json`);
  return name;
}

const metricWidget = (title, metrics, options = {}) => ({
  type: 'metric',
  width: options.width ?? 8,
  height: 6,
  properties: { title, region: '${AWS::Region}', view: 'timeSeries', stat: options.stat ?? 'Sum', period: PERIOD, metrics, ...options.properties },
});

const stageMetric = (stage, name, extra = {}) => [spec.namespace, ours(name), 'Stage', stage, extra];

/**
 * The dashboard body (CloudWatch dashboard JSON) for one stage, with CloudFormation `${…}`
 * references left for Fn::Sub.
 */
function dashboardBody({ stage, functionName, apiName, logGroupName }) {
  const lambda = (name, stat) => ['AWS/Lambda', name, 'FunctionName', functionName, { stat }];
  const api = (name) => ['AWS/ApiGateway', name, 'ApiName', apiName, 'Stage', stage];
  const widgets = [
    metricWidget('API requests, 4xx and 5xx (API Gateway)', [api('Count'), api('4XXError'), api('5XXError')]),
    metricWidget('Lambda duration (p50, p99, ms)', [lambda('Duration', 'p50'), lambda('Duration', 'p99')]),
    metricWidget('Lambda concurrency, throttles and errors', [lambda('ConcurrentExecutions', 'Maximum'), lambda('Throttles', 'Sum'), lambda('Errors', 'Sum')]),
    metricWidget('Cache hit ratio (%)', [
      [{ expression: '100 * hits / vends', label: 'cache hit %', id: 'ratio' }],
      stageMetric(stage, 'CacheHit', { id: 'hits', visible: false }),
      stageMetric(stage, 'Vend', { id: 'vends', visible: false }),
    ]),
    metricWidget('Shared tier: table hits and fallbacks', [stageMetric(stage, 'SharedCacheHit'), stageMetric(stage, 'SharedTierFallback')]),
    metricWidget('Identity calls and failures', [stageMetric(stage, 'IdentityCalls'), stageMetric(stage, 'IdentityFailure')]),
    metricWidget('Identity latency (p50, p99, ms)', [stageMetric(stage, 'IdentityLatency', { stat: 'p50' }), stageMetric(stage, 'IdentityLatency', { stat: 'p99' })]),
    metricWidget('Degraded, denied, refused keys and overprivileged users', [stageMetric(stage, 'Degraded'), stageMetric(stage, 'Denied'), stageMetric(stage, 'CredentialsUnusable'), stageMetric(stage, 'CredentialsOverprivileged')]),
    metricWidget('Caller errors and upstream errors', [stageMetric(stage, 'ClientError'), stageMetric(stage, 'UpstreamError')]),
    metricWidget('Shortest token life vended (s)', [stageMetric(stage, 'TokenSecondsLeft', { stat: 'Minimum' })]),
    {
      type: 'log',
      width: 24,
      height: 8,
      properties: {
        title: 'Last denials and failures (audit lines)',
        region: '${AWS::Region}',
        view: 'table',
        query: [
          `SOURCE '${logGroupName}'`,
          'fields @timestamp, audit.status, audit.profile, audit.caller, audit.reason, audit.upstream, audit.refusedRoles',
          'filter audit.status >= 400',
          'sort @timestamp desc',
          'limit 50',
        ].join(' | '),
      },
    },
  ];
  return JSON.stringify({ widgets });
}

/** One alarm on the sum of one of our metrics for the stage, over 5 minutes. */
function stageAlarm({ stage, service, notify, name, metric, threshold, description }) {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: `${service}-${stage}-${name}`,
      AlarmDescription: description,
      Namespace: spec.namespace,
      MetricName: ours(metric),
      Dimensions: [{ Name: 'Stage', Value: stage }],
      Statistic: 'Sum',
      Period: PERIOD,
      EvaluationPeriods: 1,
      Threshold: threshold,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: notify,
    },
  };
}

module.exports = {
  dashboardBody,
  stageAlarm,
  /** serverless.yml `resources`: the dashboard and the alarms on our own metrics. */
  resources: async (context) => {
    const { resolveVariable } = context;
    const service = await resolveVariable('self:service');
    const stage = await resolveVariable('sls:stage');
    const functionName = `${service}-${stage}-token`;
    const reserved = await params.reservedConcurrency(context);
    const concurrencyPercent = await params.alarmConcurrencyPercent(context);
    // As the alarms in infra/resources.yml: notify the topic when one is given (condition HasAlarmTopic).
    const notify = { 'Fn::If': ['HasAlarmTopic', [await resolveVariable('param:alarmTopicArn')], { Ref: 'AWS::NoValue' }] };
    const common = { stage, service, notify };
    return {
      Resources: {
        Dashboard: {
          Type: 'AWS::CloudWatch::Dashboard',
          Properties: {
            DashboardName: `${service}-${stage}`,
            DashboardBody: { 'Fn::Sub': dashboardBody({ stage, functionName, apiName: `${service}-${stage}`, logGroupName: `/aws/lambda/${functionName}` }) },
          },
        },
        IdentityFailuresAlarm: stageAlarm({
          ...common, name: 'identity-failures', metric: 'IdentityFailure', threshold: await params.alarmIdentityFailures(context),
          description: 'Rackspace Identity failed or refused the custodied credentials. Check the dashboard\'s "Last denials and failures" for audit.upstream = identity: 5xx/timeouts are Rackspace\'s (status.rackspace.com), 401/403 mean the key must be fixed in Secrets Manager.',
        }),
        DegradedAlarm: stageAlarm({
          ...common, name: 'degraded', metric: 'Degraded', threshold: await params.alarmDegraded(context),
          description: 'Callers were served tokens shorter-lived than they asked for (X-Token-Degraded), because Identity could not renew them. Tokens still work; find why renewal fails (identity-failures alarm, audit.reason) before they expire.',
        }),
        CredentialsUnusableAlarm: stageAlarm({
          ...common, name: 'credentials-unusable', metric: 'CredentialsUnusable', threshold: 1,
          description: 'A profile\'s custodied key was refused by Identity (even after re-reading the secret), its secret is unusable, or its Identity URL is wrong (502). Callers of that profile get no new token. Find the profile and reason in the audit lines (status 502) and put a valid key or URL in its secret.',
        }),
        // Also counted in CredentialsUnusable (a 502), but its own alarm: the fix is another user or
        // a declaration, not a key, and the runbook must say so.
        CredentialsOverprivilegedAlarm: stageAlarm({
          ...common, name: 'credentials-overprivileged', metric: 'CredentialsOverprivileged', threshold: 1,
          description: 'A profile\'s Rackspace user holds roles the profile does not allow (an account-management role such as identity:user-admin without "accountAdmin": true, or a role outside its "roles"), so no token is vended for it (502 credentials-overprivileged). Find the profile and the roles in the audit lines (audit.refusedRoles), then custody a sub-user holding only the product roles its callers need, or fix the declaration in infra/profiles.json.',
        }),
        ConcurrencyAlarm: {
          Type: 'AWS::CloudWatch::Alarm',
          Properties: {
            AlarmName: `${service}-${stage}-concurrency`,
            AlarmDescription: `Concurrent executions reached ${concurrencyPercent}% of the reserved ${reserved}; beyond it callers are throttled (429). Check the API's callers for a retry storm (dashboard), or raise --param=reservedConcurrency.`,
            Namespace: 'AWS/Lambda',
            MetricName: 'ConcurrentExecutions',
            Dimensions: [{ Name: 'FunctionName', Value: functionName }],
            Statistic: 'Maximum',
            Period: 60,
            EvaluationPeriods: 3,
            Threshold: Math.max(1, Math.ceil((reserved * concurrencyPercent) / 100)),
            ComparisonOperator: 'GreaterThanOrEqualToThreshold',
            TreatMissingData: 'notBreaching',
            AlarmActions: common.notify,
          },
        },
      },
    };
  },
};
