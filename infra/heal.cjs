'use strict';
// The vending function's right to heal a key reset from outside (functions/core/heal.ts), as its
// own policy on the function's role (serverless.yml `resources`: `${file(infra/heal.cjs):resources}`).
//
// Why the vending function writes, not the rotate function: the heal happens inside the request
// that met the refusal (so its caller gets a 200, not a 502), holding the fleet's lease; the token
// it reads the key with is in this function's memory or table. Delegating would add an invoke per
// heal and give the token function lambda:InvokeFunction on a function that may write any value,
// so it would bound nothing more: whoever controls the vending function already holds tokens that
// can reset the key at Identity. What IAM can bound, it does:
// - HealDeclaredSecrets: PutSecretValue on exactly the declared secrets (the action has no
//   condition key for the value or its labels; the code puts only under RTV_HEALED).
// - MoveCurrentOfDeclaredSecrets: UpdateSecretVersionStage on the same secrets, and only the
//   AWSCURRENT label (secretsmanager:VersionStage): it cannot remove AWSPENDING or move other labels.
// - RotateRotatingSecretsAsConfigured: RotateSecret on the secrets with a schedule only, never
//   naming a rotation function (secretsmanager:RotationLambdaARN must be absent) nor changing the
//   rules (secretsmanager:ModifyRotationRules false when present): it can only start the rotation
//   the stack configured.
// - EncryptHealedVersionsThroughSecretsManager: kms:GenerateDataKey on the secrets' key, only via
//   Secrets Manager (a new version is encrypted under it); the key policy further limits it to
//   the declared secrets' encryption context.
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { secretArnsFrom } = require('./secret-arns.cjs');

const DECLARATION = path.join(__dirname, 'profiles.json');
const VIA_SECRETS_MANAGER = { 'kms:ViaService': { 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' } };

/** The policy's statements for a declaration (infra/profiles.json's shape). */
function healStatements(declaration) {
  const profiles = declaration && Array.isArray(declaration.profiles) ? declaration.profiles : [];
  const declared = secretArnsFrom({ profiles: profiles.map(({ name, secretId }) => ({ name, secretId })) });
  const rotatingProfiles = profiles.filter((p) => p && p.rotateEveryDays !== undefined);
  const statements = [
    { Sid: 'HealDeclaredSecrets', Effect: 'Allow', Action: ['secretsmanager:PutSecretValue'], Resource: declared },
    {
      Sid: 'MoveCurrentOfDeclaredSecrets',
      Effect: 'Allow',
      Action: ['secretsmanager:UpdateSecretVersionStage'],
      Resource: declared,
      Condition: { StringEquals: { 'secretsmanager:VersionStage': 'AWSCURRENT' } },
    },
  ];
  if (rotatingProfiles.length > 0) {
    statements.push({
      Sid: 'RotateRotatingSecretsAsConfigured',
      Effect: 'Allow',
      Action: ['secretsmanager:RotateSecret'],
      Resource: secretArnsFrom({ profiles: rotatingProfiles.map(({ name, secretId }) => ({ name, secretId })) }),
      Condition: { Null: { 'secretsmanager:RotationLambdaARN': 'true' }, BoolIfExists: { 'secretsmanager:ModifyRotationRules': 'false' } },
    });
  }
  statements.push({
    Sid: 'EncryptHealedVersionsThroughSecretsManager',
    Effect: 'Allow',
    Action: ['kms:GenerateDataKey'],
    Resource: [{ 'Fn::GetAtt': ['SecretsKey', 'Arn'] }],
    Condition: { StringEquals: VIA_SECRETS_MANAGER },
  });
  return statements;
}

/** @returns {{ Resources: Record<string, unknown> }} */
function healResources(declaration) {
  return {
    Resources: {
      HealPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: 'heal-reset-keys',
          Roles: [{ Ref: 'IamRoleLambdaExecution' }],
          PolicyDocument: { Version: '2012-10-17', Statement: healStatements(declaration) },
        },
      },
    },
  };
}

module.exports = {
  resources: () => healResources(JSON.parse(readFileSync(DECLARATION, 'utf8'))),
  healResources,
  healStatements,
};
