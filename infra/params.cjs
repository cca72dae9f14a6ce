'use strict';
// Deployment parameters, validated at package time: `--param=NAME=VALUE` overrides the defaults.
// Ranges and defaults live in infra/limits.json, which functions/config.ts reads too, so a value
// accepted here is one the function accepts at cold start (test/infra/template.test.ts walks them).
// CLI params arrive as strings, so each is parsed here and refused (the package/deploy stops) when
// out of range, rather than reaching AWS half-checked.
const { parameters, lambda } = require('./limits.json');
const { guarded } = require('./guard.cjs');

/** The parameter's text: given with --param, else its default (limits.json, or serverless.yml `params:`). */
const text = async (resolveVariable, name) => {
  const given = await resolveVariable(`param:${name}, null`);
  return String(given ?? parameters[name]?.default ?? '').trim();
};

const bounded = (name) => async ({ resolveVariable }) => {
  const { min, max } = parameters[name];
  const value = await text(resolveVariable, name);
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(number >= min && number <= max)) throw new Error(`--param=${name}=… must be a whole number from ${min} to ${max}, got '${value}'`);
  return number;
};

const oneOf = (name) => async ({ resolveVariable }) => {
  const allowed = parameters[name].oneOf;
  const value = await text(resolveVariable, name);
  const found = allowed.find((candidate) => String(candidate) === value);
  if (found === undefined) throw new Error(`--param=${name}=… must be one of ${allowed.join(', ')}, got '${value}'`);
  return found;
};

const identityBudgetMs = bounded('identityBudgetMs');

/**
 * The Lambda timeout (s) for a budget: the budget plus what the function needs besides Identity
 * (reading the secret, answering), rounded up: 8000 + 2000 ms → 10 s. It is a backstop only: the
 * function's own budgets end every wait first, so callers get a 503 with Retry-After, not a timeout.
 * The deployable budget is capped (limits.json) so this stays under API Gateway's integration timeout.
 */
const timeoutSeconds = (budgetMs) => Math.ceil((budgetMs + lambda.allowanceMs) / 1000);

// REGIONAL: callers reach the API over the internet (signed, and refused unless declared). PRIVATE:
// only through the listed interface VPC endpoints (com.amazonaws.REGION.execute-api).
const ENDPOINT_TYPES = ['REGIONAL', 'PRIVATE'];
const VPC_ENDPOINT_ID = /^vpce-[0-9a-f]{8,17}$/;
const ORG_ID = /^o-[a-z0-9]{10,32}$/;
// A standard SNS topic (CloudWatch alarm actions do not take FIFO topics).
const SNS_TOPIC_ARN = /^arn:(aws|aws-cn|aws-us-gov):sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}$/;
// A KMS key by key ARN (an alias would follow the alias, not the key the kept secrets need).
const KMS_KEY_ARN = /^arn:(aws|aws-cn|aws-us-gov):kms:[a-z]{2}(-[a-z]+)+-\d:\d{12}:key\/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** A parameter that is empty or matches `pattern`; `what` says what is allowed. */
const emptyOr = (name, pattern, what) => async ({ resolveVariable }) => {
  const value = await text(resolveVariable, name);
  if (value !== '' && !pattern.test(value)) throw new Error(`--param=${name}=… must be empty or ${what}, got '${value}'`);
  return value;
};

const choice = (name, allowed) => async ({ resolveVariable }) => {
  const value = await text(resolveVariable, name);
  if (!allowed.includes(value)) throw new Error(`--param=${name}=… must be one of ${allowed.join(', ')}, got '${value}'`);
  return value;
};

/** endpointType and vpcEndpointIds together: the ids are required with PRIVATE and meaningless without it. */
const endpoint = async ({ resolveVariable }) => {
  const endpointType = (await text(resolveVariable, 'endpointType')).toUpperCase();
  if (!ENDPOINT_TYPES.includes(endpointType)) throw new Error(`--param=endpointType=… must be one of ${ENDPOINT_TYPES.join(', ')}, got '${endpointType}'`);
  const listed = await text(resolveVariable, 'vpcEndpointIds');
  const vpcEndpointIds = listed === '' ? [] : listed.split(',').map((id) => id.trim());
  const bad = vpcEndpointIds.find((id) => !VPC_ENDPOINT_ID.test(id));
  if (bad !== undefined) throw new Error(`--param=vpcEndpointIds=… must be comma-separated VPC endpoint ids (vpce-0123456789abcdef0), got '${bad}'`);
  if (endpointType === 'PRIVATE' && vpcEndpointIds.length === 0) throw new Error('--param=endpointType=PRIVATE needs --param=vpcEndpointIds=vpce-…[,vpce-…]: the VPC endpoints callers may come through');
  if (endpointType !== 'PRIVATE' && vpcEndpointIds.length > 0) throw new Error(`--param=vpcEndpointIds=… applies only with --param=endpointType=PRIVATE (got ${endpointType})`);
  return { endpointType, vpcEndpointIds: [...new Set(vpcEndpointIds)] };
};

module.exports = {
  endpoint,
  // '' (any organisation) or an AWS Organizations id: callers must then belong to it (aws:PrincipalOrgID).
  orgId: async ({ resolveVariable }) => {
    const value = await text(resolveVariable, 'orgId');
    if (value !== '' && !ORG_ID.test(value)) throw new Error(`--param=orgId=… must be empty or an organization id (o-abcd123456), got '${value}'`);
    return value;
  },
  // Stage-wide, for all callers together (API Gateway's account limit is 10,000/s, burst 5,000).
  throttlingRateLimit: bounded('throttlingRateLimit'),
  throttlingBurstLimit: bounded('throttlingBurstLimit'),
  // Alarm thresholds (infra/observability.cjs): events in 5 minutes, and % of reservedConcurrency.
  alarmIdentityFailures: bounded('alarmIdentityFailures'),
  alarmDegraded: bounded('alarmDegraded'),
  alarmConcurrencyPercent: bounded('alarmConcurrencyPercent'),
  // 'existing' (the default): the account already has API Gateway's CloudWatch role (one per account
  // and region, shared by every REST API there; the stack must not replace it unasked). 'create': the
  // stack sets it, for an account that has none yet (docs/deploy.md says how to tell).
  apiGatewayLogRole: choice('apiGatewayLogRole', ['existing', 'create']),
  sharedTier: choice('sharedTier', ['on', 'off']),
  alarmTopicArn: emptyOr('alarmTopicArn', SNS_TOPIC_ARN, 'an SNS topic ARN (arn:aws:sns:us-east-1:123456789012:alarms)'),
  // Re-creating a removed stage: the KMS key its stack kept (infra/kept.cjs adopts it, the kept
  // secrets and log groups instead of creating new ones).
  keptKeyArn: emptyOr('keptKeyArn', KMS_KEY_ARN, 'the key ARN of the KMS key a removed stack of this stage kept (arn:aws:kms:us-east-1:123456789012:key/…)'),
  // Bounded so a burst of callers (or a retry storm) cannot fan out into a stampede on Identity:
  // each execution environment authenticates once per profile and then serves from its cache.
  reservedConcurrency: bounded('reservedConcurrency'),
  identityBudgetMs,
  timeout: async (context) => timeoutSeconds(await identityBudgetMs(context)),
  logRetentionInDays: oneOf('logRetentionInDays'),
  logLevel: oneOf('logLevel'),
  timeoutSeconds,
};
// What serverless.yml reads: the same resolvers, after the preflight (infra/preflight.cjs).
for (const name of ['timeout', 'logRetentionInDays', 'identityBudgetMs', 'logLevel', 'reservedConcurrency', 'keptKeyArn']) {
  module.exports[`checked${name[0].toUpperCase()}${name.slice(1)}`] = guarded(module.exports[name]);
}
