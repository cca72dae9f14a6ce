'use strict';
// The shared tier's infrastructure (docs/operations.md "Shared tier"), generated at package time so that
// `--param=sharedTier=off` leaves no trace: no table, no IAM grant, no KMS use, no alarm, and the
// function's FLEET_TABLE is empty (it then works alone, as before). serverless.yml loads
// `${file(infra/fleet.cjs):resources}` and the two environment values below.
//
// Least privilege, both generated from infra/profiles.json:
// - the table: GetItem/UpdateItem on its items only, and only items whose key is a declared profile
//   (dynamodb:LeadingKeys); no Scan, Query, PutItem or DeleteItem;
// - the stack's key (the one the secrets are encrypted with, so whoever may decrypt a cached token
//   is no broader than who may decrypt the secret): GenerateDataKey/Decrypt only with this service's
//   encryption context (service, stage, format, a declared profile, and no other keys).
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { stageAlarm } = require('./observability.cjs');
const { declarationFile } = require('./declaration.cjs');
const { guarded } = require('./guard.cjs');

const SERVICE = 'rackspace-token-vendor';
// functions/core/token-record.ts RECORD_FORMAT: a new format needs a new grant.
const RECORD_FORMAT = 'token/v1';
const CONTEXT_KEYS = ['format', 'profile', 'service', 'stage'];

async function sharedTierOn({ resolveVariable }) {
  const text = String(await resolveVariable('param:sharedTier')).trim();
  if (text !== 'on' && text !== 'off') throw new Error(`--param=sharedTier=… must be on or off, got '${text}'`);
  return text === 'on';
}

function profileNames(stage) {
  const declaration = JSON.parse(readFileSync(path.join(__dirname, '..', declarationFile(stage)), 'utf8'));
  const names = (declaration.profiles || []).map((p) => p && p.name).filter((n) => typeof n === 'string');
  if (names.length === 0) throw new Error('infra/profiles.json declares no profiles: the shared tier has nothing to grant');
  return [...new Set(names)];
}

/** GenerateDataKey/Decrypt with the shared records' encryption context: the IAM statement's condition. */
function dataKeyCondition(stage, names) {
  return {
    StringEquals: {
      'kms:EncryptionContext:service': SERVICE,
      'kms:EncryptionContext:stage': stage,
      'kms:EncryptionContext:format': RECORD_FORMAT,
      'kms:EncryptionContext:profile': names,
    },
    'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': CONTEXT_KEYS },
  };
}

/**
 * The key policy's statement for the same use (infra/resources.yml): the function's role by name,
 * not by GetAtt, since the role's own policy already refers to the key (a cycle otherwise).
 */
function keyPolicyStatement(stage, names = profileNames(stage)) {
  const condition = dataKeyCondition(stage, names);
  return {
    Sid: 'SharedTierDataKeysForTheFunction',
    Effect: 'Allow',
    Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } },
    Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
    Resource: '*',
    Condition: {
      ...condition,
      ArnEquals: { 'aws:PrincipalArn': { 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${SERVICE}-${stage}-\${AWS::Region}-lambdaRole` } },
    },
  };
}

/** The CloudFormation fragment for `stage`, or an empty one when the shared tier is off. */
function fleetResources(stage, on, alarmTopicArn = '', names = profileNames(stage)) {
  if (!on) return {};
  return {
    Resources: {
      // One item per profile; on demand: a few thousand requests a day (docs/operations.md, "Shared tier").
      TokensTable: {
        Type: 'AWS::DynamoDB::Table',
        DeletionPolicy: 'Delete', // a cache: losing it costs one authentication per profile
        Properties: {
          TableName: `${SERVICE}-${stage}-tokens`,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'profile', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'profile', KeyType: 'HASH' }],
          // Records of profiles no longer declared go a day after their token expired.
          TimeToLiveSpecification: { AttributeName: 'expiresTtl', Enabled: true },
        },
      },
      SharedTierPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: `${SERVICE}-${stage}-shared-tier`,
          Roles: [{ Ref: 'IamRoleLambdaExecution' }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'SharedTierItems',
                Effect: 'Allow',
                Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
                Resource: { 'Fn::GetAtt': ['TokensTable', 'Arn'] },
                Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': names } },
              },
              {
                Sid: 'SharedTierDataKeys',
                Effect: 'Allow',
                Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
                Resource: { 'Fn::GetAtt': ['SecretsKey', 'Arn'] },
                Condition: dataKeyCondition(stage, names),
              },
            ],
          },
        },
      },
      // The instances that worked alone because the table or KMS failed: the SharedTierFallback metric
      // of the audit line (functions/token/metrics.json).
      SharedTierFallbackAlarm: stageAlarm({
        stage, service: SERVICE, notify: alarmTopicArn ? [alarmTopicArn] : { Ref: 'AWS::NoValue' }, name: 'shared-tier-fallback', metric: 'SharedTierFallback', threshold: 1,
        description: 'The shared token table or KMS failed, so instances authenticate on their own (callers are still served). Check the audit lines with shared "fallback": sharedFallback names the dependency and error (table throttling, KMS key policy or grant).',
      }),
    },
  };
}

const stageOf = async ({ resolveVariable }) => String(await resolveVariable('sls:stage'));

module.exports = {
  resources: guarded(async (context) =>
    fleetResources(await stageOf(context), await sharedTierOn(context), String(await context.resolveVariable('param:alarmTopicArn')).trim())),
  keyPolicyStatement: guarded(async (context) => keyPolicyStatement(await stageOf(context))),
  // Empty when off: the function then has no shared tier (functions/config.ts).
  tableEnv: guarded(async (context) => ((await sharedTierOn(context)) ? { Ref: 'TokensTable' } : '')),
  keyEnv: guarded(async (context) => ((await sharedTierOn(context)) ? { 'Fn::GetAtt': ['SecretsKey', 'Arn'] } : '')),
  fleetResources,
};
