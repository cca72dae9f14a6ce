'use strict';
// The API Gateway REST API in front of the function, written out as CloudFormation rather than left
// to osls's `http` events: osls sets a REST stage's access log through the SDK after the deploy
// (outside the template) and has no stage throttling at all, so the template would not show, and
// CloudFormation would not own, two of the controls this API depends on. serverless.yml loads
// `${file(infra/rest-api.cjs):resources}`; osls calls it at package time, with no AWS credentials.
//
// The resource policy is generated from infra/profiles.json (like infra/secret-arns.cjs for the
// function's IAM policy): only roles some profile allows may invoke the route, so everyone else is
// refused by API Gateway before the function runs and cannot spend its reserved concurrency. The
// function still checks `allow` exactly (defence in depth); this gate is per account and role name.
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const path = require('node:path');
const params = require('./params.cjs');
const { declarationFile } = require('./declaration.cjs');
const { guarded } = require('./guard.cjs');
const ROUTE = { method: 'GET', parts: ['v1', 'profiles', '{profile}', 'token'] };
// The same shape functions/core/profiles.ts accepts; it validates the details at cold start.
const MIN_WILDCARD_PREFIX = 3;
// API Gateway's quota on a REST API's resource policy, in characters.
const POLICY_MAX_LENGTH = 8192;
const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/((?:[\w+=,.@*-]+\/)*)([\w+=,.@*-]{1,64})$/;

// What the access log records for every request, allowed or refused (one JSON object per line).
// The error message may contain quotes: `$context.error.messageString` is API Gateway's JSON-quoted
// form of it, so it stands unquoted in the format and every line stays valid JSON.
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  caller: '$context.identity.userArn',
  callerAccount: '$context.identity.accountId',
  sourceIp: '$context.identity.sourceIp',
  vpceId: '$context.identity.vpceId',
  method: '$context.httpMethod',
  path: '$context.path',
  status: '$context.status',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  error: '$context.error.messageString',
  requestTime: '$context.requestTimeEpoch',
}).replace('"$context.error.messageString"', '$context.error.messageString');

/**
 * Role ARN patterns for `aws:PrincipalArn`, per allowed account. A caller's principal ARN is its
 * role's ARN including the role's path, which `allow` entries may leave out (the function ignores
 * the path): so each entry becomes `role/NAME` and `role/*\/NAME`.
 */
function allowedRoles(declaration) {
  const profiles = declaration && Array.isArray(declaration.profiles) ? declaration.profiles : [];
  if (profiles.length === 0) throw new Error('infra/profiles.json declares no profiles: nobody could call the API');
  const accounts = new Set();
  const patterns = new Set();
  for (const [index, profile] of profiles.entries()) {
    const allow = profile && Array.isArray(profile.allow) ? profile.allow : [];
    for (const entry of allow) {
      const match = typeof entry === 'string' ? ROLE_ARN.exec(entry) : null;
      if (!match) throw new Error(`infra/profiles.json profiles[${index}].allow: '${entry}' is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)`);
      const [, partition, account, , name] = match;
      // The function refuses these at cold start (functions/core/profiles.ts); refusing them here too
      // keeps a policy that would let in roles nobody meant to allow from ever being packaged.
      const star = name.indexOf('*');
      if (star >= 0 && star < MIN_WILDCARD_PREFIX) throw new Error(`infra/profiles.json profiles[${index}].allow: '${entry}': a * must follow a literal prefix of at least ${MIN_WILDCARD_PREFIX} characters (e.g. ci-*)`);
      accounts.add(`arn:${partition}:iam::${account}:root`);
      patterns.add(`arn:${partition}:iam::${account}:role/${name}`);
      patterns.add(`arn:${partition}:iam::${account}:role/*/${name}`);
    }
  }
  return { accounts: [...accounts].sort(), patterns: [...patterns].sort() };
}

/**
 * The REST API's resource policy. Allow: the accounts of the allowed roles, on the token route only.
 * Deny, so that no IAM policy of this account can widen it either: any role no profile allows, and,
 * when set, callers outside the organisation or outside the allowed VPC endpoints. (The conditions
 * sit on the Deny statements only: an explicit Deny wins, so repeating them on the Allow would
 * change nothing but the policy's length, which API Gateway limits.)
 *
 * @param {unknown} declaration infra/profiles.json
 * @param {{ stage: string, orgId: string, vpcEndpointIds: string[] }} options
 */
function resourcePolicyFrom(declaration, { stage, orgId, vpcEndpointIds }) {
  const { accounts, patterns } = allowedRoles(declaration);
  const route = `execute-api:/${stage}/${ROUTE.method}/${ROUTE.parts.map((p) => (p.startsWith('{') ? '*' : p)).join('/')}`;
  const deny = (Sid, Condition) => ({ Sid, Effect: 'Deny', Principal: '*', Action: 'execute-api:Invoke', Resource: 'execute-api:/*', Condition });
  const policy = {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'AllowDeclaredAccounts', Effect: 'Allow', Principal: { AWS: accounts }, Action: 'execute-api:Invoke', Resource: route },
      deny('DenyUndeclaredRoles', { ArnNotLike: { 'aws:PrincipalArn': patterns } }),
      ...(orgId ? [deny('DenyOutsideOrganization', { StringNotEquals: { 'aws:PrincipalOrgID': orgId } })] : []),
      ...(vpcEndpointIds.length > 0 ? [deny('DenyOutsideVpcEndpoints', { StringNotEquals: { 'aws:SourceVpce': vpcEndpointIds } })] : []),
    ],
  };
  const length = JSON.stringify(policy).length;
  if (length > POLICY_MAX_LENGTH) {
    throw new Error(`infra/profiles.json: the API's resource policy would be ${length} characters; API Gateway accepts ${POLICY_MAX_LENGTH}. Cover roles with patterns (ci-*) rather than one entry each.`);
  }
  return policy;
}

/** The CloudFormation resources of the REST API, from the validated parameters. */
function restApiResources(declaration, settings) {
  const { service, stage, endpointType, vpcEndpointIds, orgId, throttlingRateLimit, throttlingBurstLimit, logRetentionInDays, apiGatewayLogRole } = settings;
  const resources = {};
  const api = { Ref: 'ApiGatewayRestApi' };
  resources.ApiGatewayRestApi = {
    Type: 'AWS::ApiGateway::RestApi',
    Properties: {
      Name: `${service}-${stage}`,
      Description: 'Vends Rackspace Identity tokens to IAM-authorized callers',
      EndpointConfiguration: endpointType === 'PRIVATE' ? { Types: ['PRIVATE'], VpcEndpointIds: vpcEndpointIds } : { Types: [endpointType] },
      Policy: resourcePolicyFrom(declaration, { stage, orgId, vpcEndpointIds }),
    },
  };

  // /v1/profiles/{profile}/token, one resource per path part, each the child of the one before.
  let parent = { 'Fn::GetAtt': ['ApiGatewayRestApi', 'RootResourceId'] };
  let logicalId = 'ApiGatewayResource';
  for (const part of ROUTE.parts) {
    logicalId += part.startsWith('{') ? `${capitalise(part.slice(1, -1))}Var` : capitalise(part);
    resources[logicalId] = { Type: 'AWS::ApiGateway::Resource', Properties: { RestApiId: api, ParentId: parent, PathPart: part } };
    parent = { Ref: logicalId };
  }
  resources.ApiGatewayMethodTokenGet = {
    Type: 'AWS::ApiGateway::Method',
    Properties: {
      RestApiId: api,
      ResourceId: parent,
      HttpMethod: ROUTE.method,
      AuthorizationType: 'AWS_IAM',
      RequestParameters: { 'method.request.path.profile': true },
      Integration: {
        Type: 'AWS_PROXY',
        IntegrationHttpMethod: 'POST',
        Uri: { 'Fn::Sub': 'arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${TokenLambdaFunction.Arn}/invocations' },
      },
    },
  };

  // A REST API serves what was last *deployed*: a changed policy or method takes effect only with a
  // new Deployment. Its logical id carries a hash of what it deploys, so CloudFormation creates a new
  // one exactly when something changed (osls uses a timestamp: a new deployment on every deploy).
  const deployed = JSON.stringify(Object.entries(resources).map(([id, r]) => [id, r.Properties]));
  const deploymentId = `ApiGatewayDeployment${createHash('sha256').update(deployed).digest('hex').slice(0, 10)}`;
  resources[deploymentId] = {
    Type: 'AWS::ApiGateway::Deployment',
    DependsOn: ['ApiGatewayMethodTokenGet'],
    Properties: { RestApiId: api, Description: 'The token route and resource policy as declared' },
  };

  // Kept when the stack is removed or the group replaced (as the audit trail is): who called, when.
  resources.ApiGatewayAccessLogGroup = {
    Type: 'AWS::Logs::LogGroup',
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
    Properties: { LogGroupName: `/aws/api-gateway/${service}-${stage}-access`, RetentionInDays: logRetentionInDays },
  };
  resources.ApiGatewayStage = {
    Type: 'AWS::ApiGateway::Stage',
    // API Gateway refuses an access log until the account has a CloudWatch role (ApiGatewayAccount).
    ...(apiGatewayLogRole === 'create' ? { DependsOn: ['ApiGatewayAccount'] } : {}),
    Properties: {
      RestApiId: api,
      StageName: stage,
      DeploymentId: { Ref: deploymentId },
      // Stage-wide throttle (every method): an allowed but misbehaving caller cannot take every
      // reserved environment; excess requests get API Gateway's 429 without reaching the function.
      MethodSettings: [{ ResourcePath: '/*', HttpMethod: '*', ThrottlingRateLimit: throttlingRateLimit, ThrottlingBurstLimit: throttlingBurstLimit, MetricsEnabled: false }],
      AccessLogSetting: { DestinationArn: { 'Fn::GetAtt': ['ApiGatewayAccessLogGroup', 'Arn'] }, Format: ACCESS_LOG_FORMAT },
    },
  };

  resources.TokenLambdaPermissionApiGateway = {
    Type: 'AWS::Lambda::Permission',
    Properties: {
      FunctionName: { 'Fn::GetAtt': ['TokenLambdaFunction', 'Arn'] },
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      // This API's token route only, in any of its stages.
      SourceArn: { 'Fn::Sub': 'arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${ApiGatewayRestApi}/*/GET/v1/profiles/*/token' },
    },
  };

  if (apiGatewayLogRole === 'create') {
    // API Gateway writes access logs with one role per account and region (its account settings).
    // Retained: deleting this stack must not leave the account pointing at a deleted role, which
    // would break the logs of every other API in the account.
    resources.ApiGatewayLogRole = {
      Type: 'AWS::IAM::Role',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: ['apigateway.amazonaws.com'] }, Action: ['sts:AssumeRole'] }],
        },
        ManagedPolicyArns: [{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs' }],
      },
    };
    resources.ApiGatewayAccount = {
      Type: 'AWS::ApiGateway::Account',
      DependsOn: ['ApiGatewayRestApi'],
      Properties: { CloudWatchRoleArn: { 'Fn::GetAtt': ['ApiGatewayLogRole', 'Arn'] } },
    };
  }

  return {
    Resources: resources,
    Outputs: {
      ServiceEndpoint: {
        Description: 'Base URL of the token API; the route is GET {ServiceEndpoint}/v1/profiles/{profile}/token',
        Value: { 'Fn::Sub': `https://\${ApiGatewayRestApi}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/${stage}` },
      },
      RestApiId: { Description: 'For execute-api:Invoke resource ARNs', Value: api },
    },
  };
}

function capitalise(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

module.exports = {
  resources: guarded(async (context) => {
    const { resolveVariable } = context;
    const [service, stage, endpoint, orgId, throttlingRateLimit, throttlingBurstLimit, logRetentionInDays, apiGatewayLogRole] = await Promise.all([
      resolveVariable('self:service'),
      resolveVariable('sls:stage'),
      params.endpoint(context),
      params.orgId(context),
      params.throttlingRateLimit(context),
      params.throttlingBurstLimit(context),
      params.logRetentionInDays(context),
      params.apiGatewayLogRole(context),
    ]);
    const declaration = JSON.parse(readFileSync(path.join(__dirname, '..', declarationFile(stage)), 'utf8'));
    return restApiResources(declaration, { service, stage, ...endpoint, orgId, throttlingRateLimit, throttlingBurstLimit, logRetentionInDays, apiGatewayLogRole });
  }),
  resourcePolicyFrom,
  restApiResources,
  ACCESS_LOG_FORMAT,
};
