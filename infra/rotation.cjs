'use strict';
// Key rotation, generated from infra/profiles.json (serverless.yml `resources`:
// `${file(infra/rotation.cjs):resources}`). For every profile with `"rotateEveryDays": N`:
// - an AWS::SecretsManager::RotationSchedule on its secret, invoking the `rotate` function every N
//   days (and on demand: `aws secretsmanager rotate-secret --secret-id …`);
// and once:
// - an AWS::Lambda::Permission letting Secrets Manager invoke the function, from this account only
//   (`SourceAccount`: without it any account's Secrets Manager could make it run);
// - RotationFailuresAlarm: any failed invocation of the rotation function (a step that failed leaves
//   the rotation pending; after a failed createSecret the new key may exist only at Rackspace);
// - RotateRole, the function's own role (least privilege, apart from the vending function's): read
//   and write exactly the rotating secrets (GetSecretValue, PutSecretValue, DescribeSecret,
//   UpdateSecretVersionStage), use their KMS key only through Secrets Manager, and write its own
//   log group. osls would otherwise give both functions one role.
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { secretArnsFrom } = require('./secret-arns.cjs');
const custody = require('./custody.cjs');
const { guarded } = require('./guard.cjs');
const FUNCTION_ARN = { 'Fn::GetAtt': ['RotateLambdaFunction', 'Arn'] };
const PERMISSION_ID = 'RotateInvokeBySecretsManager';

/** The profiles with a schedule, one per secret; two profiles may share a secret only with one schedule. */
function rotatingFrom(declaration) {
  const profiles = declaration && Array.isArray(declaration.profiles) ? declaration.profiles : [];
  const bySecret = new Map();
  for (const [index, profile] of profiles.entries()) {
    if (!profile || profile.rotateEveryDays === undefined) continue;
    const days = profile.rotateEveryDays;
    const where = `infra/profiles.json profiles[${index}]${profile.name ? ` ('${profile.name}')` : ''}`;
    // Secrets Manager's bounds for AutomaticallyAfterDays.
    if (!Number.isInteger(days) || days < 1 || days > 1000) throw new Error(`${where}: rotateEveryDays must be a whole number from 1 to 1000, got ${JSON.stringify(days)}`);
    const seen = bySecret.get(profile.secretId);
    if (seen && seen.days !== days) throw new Error(`${where}: secret '${profile.secretId}' is rotated every ${seen.days} days by profile '${seen.name}'; one secret has one schedule`);
    if (!seen) bySecret.set(profile.secretId, { name: String(profile.name), secretId: profile.secretId, days });
  }
  return [...bySecret.values()];
}

/** `RotationSchedule` + the profile name in PascalCase; names that collide after that are refused. */
function scheduleId(name, taken) {
  const id = `RotationSchedule${name.split(/[^A-Za-z0-9]+/).filter(Boolean).map((part) => part[0].toUpperCase() + part.slice(1)).join('')}`;
  if (taken.has(id)) throw new Error(`infra/profiles.json: profiles '${taken.get(id)}' and '${name}' would share the resource name ${id}; rename one`);
  taken.set(id, name);
  return id;
}

/**
 * @param {(secretId: string) => unknown} secretRef how the schedule names the secret: a Ref to the
 *   stack's own secret resource (infra/custody.cjs), else the id as declared
 * @returns {{ Resources: Record<string, unknown> }}
 */
function rotationResources(declaration, secretRef = (secretId) => secretId) {
  const rotating = rotatingFrom(declaration);
  const Resources = {};
  const taken = new Map();
  for (const { name, secretId, days } of rotating) {
    Resources[scheduleId(name, taken)] = {
      Type: 'AWS::SecretsManager::RotationSchedule',
      DependsOn: [PERMISSION_ID],
      Properties: {
        SecretId: secretRef(secretId),
        RotationLambdaARN: FUNCTION_ARN,
        RotationRules: { AutomaticallyAfterDays: days },
        // A deploy never resets a key by itself: the first rotation comes on schedule, or on demand.
        RotateImmediatelyOnUpdate: false,
      },
    };
  }
  Resources[PERMISSION_ID] = {
    Type: 'AWS::Lambda::Permission',
    Properties: { FunctionName: FUNCTION_ARN, Action: 'lambda:InvokeFunction', Principal: 'secretsmanager.amazonaws.com', SourceAccount: { Ref: 'AWS::AccountId' } },
  };
  const statements = [
    { Sid: 'WriteOwnLogGroup', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [{ 'Fn::GetAtt': ['RotateLogGroup', 'Arn'] }] },
  ];
  if (rotating.length > 0) {
    const arns = secretArnsFrom({ profiles: rotating.map(({ name, secretId }) => ({ name, secretId })) });
    statements.push(
      {
        Sid: 'RotateDeclaredSecrets',
        Effect: 'Allow',
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
        Resource: arns,
      },
      {
        // Decrypt to read, GenerateDataKey to write a version; only when Secrets Manager asks for us.
        Sid: 'UseSecretsKeyThroughSecretsManager',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: [{ 'Fn::GetAtt': ['SecretsKey', 'Arn'] }],
        Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' } } },
      },
    );
  }
  Resources.RotateRole = {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] }] },
      Policies: [{ PolicyName: 'rotate-keys', PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
    },
  };
  return { Resources };
}

/** Alarms when a step fails; `notify` as for the other alarms (the HasAlarmTopic condition of infra/resources.yml). */
function failureAlarm(notify) {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmDescription:
        'A key rotation step failed. Find the rotation audit line with outcome "failed" in the rotate function\'s log; after a failed createSecret, re-run aws secretsmanager rotate-secret within the session expiry it names (docs/operations.md, "Rotating keys").',
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'RotateLambdaFunction' } }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: notify,
    },
  };
}

module.exports = {
  resources: guarded(async (context) => {
    const { resolveVariable } = context;
    const { declaration, kept } = await custody.settings(context);
    const generated = rotationResources(declaration, custody.secretRef(declaration, { kept }));
    const notify = { 'Fn::If': ['HasAlarmTopic', [await resolveVariable('param:alarmTopicArn')], { Ref: 'AWS::NoValue' }] };
    generated.Resources.RotationFailuresAlarm = failureAlarm(notify);
    return generated;
  }),
  rotationResources,
};
