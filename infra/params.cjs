'use strict';
// Deployment parameters, validated at package time. Defaults live in serverless.yml (`params:`);
// override with `--param=NAME=VALUE`. CLI params arrive as strings, so each is parsed here and
// refused (the package/deploy stops) when out of range, rather than reaching AWS half-checked.

const bounded = (name, min, max) => async ({ resolveVariable }) => {
  const text = String(await resolveVariable(`param:${name}`)).trim();
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) throw new Error(`--param=${name}=… must be a whole number from ${min} to ${max}, got '${text}'`);
  return value;
};

// What CloudWatch Logs accepts for RetentionInDays.
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

// Time the function needs besides the Identity budget: reading the secret (SDK client with
// maxAttempts 2, normally tens of ms) plus answering. The Lambda timeout is a backstop only: the
// function's own budgets end every wait first, so callers get a 503 with Retry-After, not a timeout.
const SECRETS_ALLOWANCE_MS = 2_000;

// The function itself accepts up to 60 s (functions/config.ts); a deployment is capped at 25 s so
// budget + allowance stays under API Gateway's 30 s integration timeout.
const identityBudgetMs = bounded('identityBudgetMs', 100, 25_000);

const text = async (resolveVariable, name) => String(await resolveVariable(`param:${name}`)).trim();

// REGIONAL: callers reach the API over the internet (signed, and refused unless declared). PRIVATE:
// only through the listed interface VPC endpoints (com.amazonaws.REGION.execute-api).
const ENDPOINT_TYPES = ['REGIONAL', 'PRIVATE'];
const VPC_ENDPOINT_ID = /^vpce-[0-9a-f]{8,17}$/;
const ORG_ID = /^o-[a-z0-9]{10,32}$/;

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
  throttlingRateLimit: bounded('throttlingRateLimit', 1, 10_000),
  throttlingBurstLimit: bounded('throttlingBurstLimit', 1, 5_000),
  // 'create': the stack sets the account's API Gateway CloudWatch role (needed for access logs);
  // 'existing': the account already has one (another stack or an administrator set it).
  apiGatewayLogRole: async ({ resolveVariable }) => {
    const value = await text(resolveVariable, 'apiGatewayLogRole');
    if (value !== 'create' && value !== 'existing') throw new Error(`--param=apiGatewayLogRole=… must be 'create' or 'existing', got '${value}'`);
    return value;
  },
  // Bounded so a burst of callers (or a retry storm) cannot fan out into a stampede on Identity:
  // each execution environment authenticates once per profile and then serves from its cache.
  reservedConcurrency: bounded('reservedConcurrency', 1, 100),
  identityBudgetMs,
  // timeout (s) = ceil((identityBudgetMs + SECRETS_ALLOWANCE_MS) / 1000): 8000 + 2000 ms → 10 s.
  timeout: async (context) => Math.ceil((await identityBudgetMs(context) + SECRETS_ALLOWANCE_MS) / 1000),
  logRetentionInDays: async ({ resolveVariable }) => {
    const text = String(await resolveVariable('param:logRetentionInDays')).trim();
    const value = Number(text);
    if (!RETENTION_DAYS.includes(value)) throw new Error(`--param=logRetentionInDays=… must be one of ${RETENTION_DAYS.join(', ')}, got '${text}'`);
    return value;
  },
};
