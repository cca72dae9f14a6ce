#!/usr/bin/env node
'use strict';
// The IAM policy a person or pipeline needs to deploy (and remove) one stage: generated from the
// packaged template, so it grants the actions for exactly the resource types the template holds,
// on the names this stage uses, and nothing for what the template does not create (no DynamoDB
// with sharedTier=off, no API Gateway account setting unless apiGatewayLogRole=create, no
// CreateKey with keptKeyArn). A resource type it has no entry for is refused: a new kind of
// resource must get its permissions here, reviewed, before anyone can deploy it.
//
//   npm run package -- --stage prod --region eu-west-1 [--param=…]
//   npm run deployer-policy -- --stage prod --region eu-west-1 --account 123456789012 > deployer-policy.json
//
// Names: CloudFormation names what the template leaves unnamed STACK-LogicalId-RANDOM, and the
// stack is SERVICE-STAGE, so every role, alarm and bucket of the stage starts with SERVICE-STAGE-.
const { readFileSync } = require('node:fs');
const path = require('node:path');

const SERVICE = 'rackspace-token-vendor';

/**
 * Per resource type: the statements CloudFormation needs to create, update and delete it.
 * `at` builds ARNs in the deploy's partition, region and account; `prefix` is SERVICE-STAGE.
 */
const BY_TYPE = {
  'AWS::S3::Bucket': ({ prefix }) => [
    stmt('DeploymentBucket', ['s3:CreateBucket', 's3:DeleteBucket', 's3:GetBucketLocation', 's3:ListBucket', 's3:GetEncryptionConfiguration', 's3:PutEncryptionConfiguration', 's3:PutBucketPublicAccessBlock', 's3:GetBucketPublicAccessBlock', 's3:PutBucketTagging', 's3:GetBucketTagging', 's3:PutBucketOwnershipControls', 's3:GetBucketOwnershipControls'], [`arn:aws:s3:::${prefix.toLowerCase()}-serverlessdeploymentbuck*`]),
    stmt('DeploymentArtifacts', ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'], [`arn:aws:s3:::${prefix.toLowerCase()}-serverlessdeploymentbuck*/*`]),
  ],
  'AWS::S3::BucketPolicy': ({ prefix }) => [stmt('DeploymentBucketPolicy', ['s3:PutBucketPolicy', 's3:GetBucketPolicy', 's3:DeleteBucketPolicy'], [`arn:aws:s3:::${prefix.toLowerCase()}-serverlessdeploymentbuck*`])],
  'AWS::Lambda::Function': ({ at, prefix }) => [
    stmt('Functions', ['lambda:CreateFunction', 'lambda:DeleteFunction', 'lambda:GetFunction', 'lambda:GetFunctionConfiguration', 'lambda:UpdateFunctionCode', 'lambda:UpdateFunctionConfiguration', 'lambda:PutFunctionConcurrency', 'lambda:DeleteFunctionConcurrency', 'lambda:ListVersionsByFunction', 'lambda:ListTags', 'lambda:TagResource', 'lambda:UntagResource', 'lambda:GetRuntimeManagementConfig'], [at('lambda', `function:${prefix}-*`)]),
    // The functions' roles, passed to Lambda only.
    stmt('PassFunctionRoles', ['iam:PassRole'], [at('iam', `role/${prefix}-*`, { region: '' })], { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } }),
  ],
  'AWS::Lambda::Version': ({ at, prefix }) => [stmt('FunctionVersions', ['lambda:PublishVersion', 'lambda:DeleteFunction'], [at('lambda', `function:${prefix}-*`)])],
  'AWS::Lambda::Permission': ({ at, prefix }) => [stmt('FunctionPermissions', ['lambda:AddPermission', 'lambda:RemovePermission', 'lambda:GetPolicy'], [at('lambda', `function:${prefix}-*`)])],
  'AWS::IAM::Role': ({ at, prefix }) => [
    stmt('Roles', ['iam:CreateRole', 'iam:DeleteRole', 'iam:GetRole', 'iam:UpdateAssumeRolePolicy', 'iam:PutRolePolicy', 'iam:GetRolePolicy', 'iam:DeleteRolePolicy', 'iam:AttachRolePolicy', 'iam:DetachRolePolicy', 'iam:ListRolePolicies', 'iam:ListAttachedRolePolicies', 'iam:TagRole', 'iam:UntagRole'], [at('iam', `role/${prefix}-*`, { region: '' })]),
  ],
  'AWS::IAM::Policy': ({ at, prefix }) => [stmt('RolePolicies', ['iam:PutRolePolicy', 'iam:GetRolePolicy', 'iam:DeleteRolePolicy'], [at('iam', `role/${prefix}-*`, { region: '' })])],
  'AWS::KMS::Key': () => [
    // CreateKey names no key yet, so it cannot be narrowed to one; the key policy it sets is the template's.
    stmt('CreateCustodyKey', ['kms:CreateKey'], ['*']),
    stmt('ManageCustodyKey', ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:PutKeyPolicy', 'kms:EnableKeyRotation', 'kms:GetKeyRotationStatus', 'kms:ListResourceTags', 'kms:TagResource', 'kms:UntagResource', 'kms:UpdateKeyDescription'], [{ at: 'kms', resource: 'key/*' }]),
  ],
  'AWS::KMS::Alias': ({ at, stage }) => [stmt('CustodyKeyAlias', ['kms:CreateAlias', 'kms:DeleteAlias', 'kms:UpdateAlias'], [at('kms', `alias/${SERVICE}-${stage}`), at('kms', 'key/*')])],
  'AWS::SecretsManager::Secret': ({ at, secretNames }) => [
    stmt('CustodiedSecrets', ['secretsmanager:CreateSecret', 'secretsmanager:DescribeSecret', 'secretsmanager:UpdateSecret', 'secretsmanager:TagResource', 'secretsmanager:UntagResource'], secretNames.map((name) => at('secretsmanager', `secret:${name}-??????`))),
  ],
  'AWS::SecretsManager::RotationSchedule': ({ at, prefix, rotatedSecrets }) => [
    stmt('RotationSchedules', ['secretsmanager:RotateSecret', 'secretsmanager:CancelRotateSecret', 'secretsmanager:DescribeSecret'], rotatedSecrets.map((id) => (id.startsWith('arn:') ? id : at('secretsmanager', `secret:${id}-??????`)))),
    // Secrets Manager requires the caller of RotateSecret may invoke the rotation function.
    stmt('RotationFunction', ['lambda:InvokeFunction'], [at('lambda', `function:${prefix}-rotate`)]),
  ],
  'AWS::Logs::LogGroup': ({ at, logGroups }) => [
    stmt('LogGroups', ['logs:CreateLogGroup', 'logs:DeleteLogGroup', 'logs:PutRetentionPolicy', 'logs:DeleteRetentionPolicy', 'logs:TagResource', 'logs:UntagResource', 'logs:ListTagsForResource'], logGroups.map((name) => at('logs', `log-group:${name}`))),
    stmt('DescribeLogGroups', ['logs:DescribeLogGroups'], ['*']),
  ],
  'AWS::ApiGateway::RestApi': ({ at }) => [stmt('RestApi', ['apigateway:GET', 'apigateway:POST', 'apigateway:PUT', 'apigateway:PATCH', 'apigateway:DELETE'], [at('apigateway', '/restapis', { account: '' }), at('apigateway', '/restapis/*', { account: '' }), at('apigateway', '/tags/*', { account: '' })])],
  'AWS::ApiGateway::Resource': () => [],
  'AWS::ApiGateway::Method': () => [],
  'AWS::ApiGateway::Deployment': () => [],
  'AWS::ApiGateway::Stage': () => [],
  // Account-wide: API Gateway's CloudWatch role for every REST API of the account and region.
  'AWS::ApiGateway::Account': ({ at, prefix }) => [
    stmt('ApiGatewayAccountSetting', ['apigateway:GET', 'apigateway:PATCH'], [at('apigateway', '/account', { account: '' })]),
    stmt('PassApiGatewayLogRole', ['iam:PassRole'], [at('iam', `role/${prefix}-*`, { region: '' })], { StringEquals: { 'iam:PassedToService': 'apigateway.amazonaws.com' } }),
  ],
  'AWS::CloudWatch::Alarm': ({ at, prefix }) => [stmt('Alarms', ['cloudwatch:PutMetricAlarm', 'cloudwatch:DeleteAlarms', 'cloudwatch:DescribeAlarms', 'cloudwatch:TagResource', 'cloudwatch:UntagResource', 'cloudwatch:ListTagsForResource'], [at('cloudwatch', `alarm:${prefix}-*`)])],
  'AWS::CloudWatch::Dashboard': ({ at, prefix }) => [stmt('Dashboard', ['cloudwatch:PutDashboard', 'cloudwatch:GetDashboard', 'cloudwatch:DeleteDashboards'], [at('cloudwatch', `dashboard/${prefix}`, { region: '' })])],
  'AWS::DynamoDB::Table': ({ at, prefix }) => [
    stmt('TokenTable', ['dynamodb:CreateTable', 'dynamodb:DeleteTable', 'dynamodb:DescribeTable', 'dynamodb:UpdateTable', 'dynamodb:UpdateTimeToLive', 'dynamodb:DescribeTimeToLive', 'dynamodb:DescribeContinuousBackups', 'dynamodb:TagResource', 'dynamodb:UntagResource', 'dynamodb:ListTagsOfResource'], [at('dynamodb', `table/${prefix}-*`)]),
  ],
};

function stmt(Sid, Action, Resource, Condition) {
  return { Sid, Effect: 'Allow', Action, Resource, ...(Condition ? { Condition } : {}) };
}

/**
 * The deployer policy for a packaged template.
 * @param {{ Resources: Record<string, { Type: string, Properties?: any }> }} template
 * @param {{ stage: string, region: string, account: string, partition?: string }} where
 */
function deployerPolicy(template, { stage, region, account, partition = 'aws' }) {
  const prefix = `${SERVICE}-${stage}`;
  const resources = Object.values(template.Resources);
  const types = [...new Set(resources.map((r) => r.Type))].sort();
  const unknown = types.filter((type) => !(type in BY_TYPE));
  if (unknown.length > 0) throw new Error(`infra/deployer-policy.cjs has no permissions for ${unknown.join(', ')}: add them (reviewed) before deploying a template that holds them`);
  const at = (service, resource, overrides = {}) => `arn:${partition}:${service}:${overrides.region ?? region}:${overrides.account ?? account}:${resource}`;
  const resolveAt = (value) => (typeof value === 'object' && value.at ? at(value.at, value.resource) : value);
  const context = {
    at,
    prefix,
    stage,
    secretNames: resources.filter((r) => r.Type === 'AWS::SecretsManager::Secret').map((r) => r.Properties.Name),
    rotatedSecrets: resources.filter((r) => r.Type === 'AWS::SecretsManager::RotationSchedule').map((r) => {
      const id = r.Properties.SecretId;
      return typeof id === 'string' ? id : template.Resources[id.Ref].Properties.Name;
    }),
    logGroups: resources.filter((r) => r.Type === 'AWS::Logs::LogGroup').map((r) => r.Properties.LogGroupName),
  };
  const statements = [
    stmt('Stack', ['cloudformation:CreateStack', 'cloudformation:UpdateStack', 'cloudformation:DeleteStack', 'cloudformation:DescribeStacks', 'cloudformation:DescribeStackEvents', 'cloudformation:DescribeStackResource', 'cloudformation:DescribeStackResources', 'cloudformation:ListStackResources', 'cloudformation:GetTemplate', 'cloudformation:CreateChangeSet', 'cloudformation:DescribeChangeSet', 'cloudformation:ExecuteChangeSet', 'cloudformation:DeleteChangeSet'], [at('cloudformation', `stack/${prefix}/*`)]),
    stmt('ValidateTemplate', ['cloudformation:ValidateTemplate'], ['*']),
    ...types.flatMap((type) => BY_TYPE[type](context)),
  ].map((s) => ({ ...s, Resource: s.Resource.map(resolveAt) }));
  // One statement per set of resources and condition: the grants on one kind of name (the stage's
  // roles, its functions, its bucket) read as one, and the policy stays under IAM's size limit.
  const merged = new Map();
  for (const s of statements) {
    const key = JSON.stringify([s.Resource, s.Condition ?? null]);
    const seen = merged.get(key);
    if (seen) Object.assign(seen, { Sid: seen.Sid.includes(s.Sid) ? seen.Sid : `${seen.Sid}${s.Sid}`, Action: [...new Set([...seen.Action, ...s.Action])] });
    else merged.set(key, { ...s, Action: [...s.Action] });
  }
  return { Version: '2012-10-17', Statement: [...merged.values()] };
}

/** IAM counts a managed policy's size without whitespace (limit 6,144 characters). */
const policySize = (policy) => JSON.stringify(policy).length;

if (require.main === module) {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const at = args.indexOf(`--${name}`);
    return at >= 0 ? args[at + 1] : fallback;
  };
  const stage = option('stage', 'dev');
  const file = option('template', path.join('.serverless', 'cloudformation-template-update-stack.json'));
  try {
    const template = JSON.parse(readFileSync(file, 'utf8'));
    const policy = deployerPolicy(template, { stage, region: option('region', 'us-east-1'), account: option('account', '*'), partition: option('partition', 'aws') });
    process.stdout.write(`${JSON.stringify(policy, null, 2)}\n`);
    process.stderr.write(`deployer policy for ${SERVICE}-${stage}: ${policy.Statement.length} statements, ${policySize(policy)} characters (IAM's limit for a managed policy: 6144)\n`);
  } catch (error) {
    process.stderr.write(`npm run deployer-policy refused: ${error.message.split('\n')[0]} (run npm run package with the same --stage first)\n`);
    process.exit(1);
  }
}

module.exports = { deployerPolicy, policySize, BY_TYPE };
