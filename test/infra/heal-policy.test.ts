import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { runSimulation } from '@cloud-copilot/iam-simulate';

const { healStatements, healResources } = createRequire(import.meta.url)('../../infra/heal.cjs') as {
  healStatements: (declaration: unknown) => Array<Record<string, any>>;
  healResources: (declaration: unknown) => { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
};

const ACCOUNT = '123456789012';
const KEY_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const declaration = {
  profiles: [
    { name: 'billing', secretId: 'rtv/billing', allow: [`arn:aws:iam::${ACCOUNT}:role/ci`] },
    { name: 'ops', secretId: 'rtv/ops', rotateEveryDays: 1, allow: [`arn:aws:iam::${ACCOUNT}:role/ci`] },
  ],
};
const secretArn = (name: string) => `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${name}-AbCdEf`;

/** The statements as CloudFormation would resolve them in us-east-1 of ACCOUNT. */
function resolved(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(resolved);
  if (value && typeof value === 'object') {
    const sub = (value as { 'Fn::Sub'?: string })['Fn::Sub'];
    if (typeof sub === 'string') return sub.replace('${AWS::Partition}', 'aws').replace('${AWS::Region}', 'us-east-1').replace('${AWS::AccountId}', ACCOUNT);
    if ((value as { 'Fn::GetAtt'?: string[] })['Fn::GetAtt']) return KEY_ARN;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolved(v)]));
  }
  return value;
}

async function decide(action: string, resource: string, context: Record<string, string | string[]> = {}) {
  const policy = { Version: '2012-10-17', Statement: resolved(healStatements(declaration)) };
  const response = await runSimulation(
    {
      request: { principal: `arn:aws:iam::${ACCOUNT}:role/rackspace-token-vendor-prod-us-east-1-lambdaRole`, action, resource: { resource, accountId: ACCOUNT }, contextVariables: context },
      identityPolicies: [{ name: 'heal', policy: policy as never }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      // A KMS key obeys IAM policies only when its key policy delegates to the account (infra/resources.yml does, for these actions).
      resourcePolicy: action.startsWith('kms:')
        ? { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: '*' }] }
        : undefined,
    },
    {},
  );
  if (response.resultType === 'error') throw new Error(JSON.stringify(response.errors));
  return response.overallResult;
}

describe('The heal policy (infra/heal.cjs), on the vending function role', () => {
  it('is a policy of its own on the function role, with exactly these statements', () => {
    const { HealPolicy } = healResources(declaration).Resources;
    assert.deepEqual([HealPolicy?.Type, HealPolicy?.Properties.Roles], ['AWS::IAM::Policy', [{ Ref: 'IamRoleLambdaExecution' }]]);
    assert.deepEqual(
      healStatements(declaration).map((s) => [s.Sid, s.Action]),
      [
        ['HealDeclaredSecrets', ['secretsmanager:PutSecretValue']],
        ['MoveCurrentOfDeclaredSecrets', ['secretsmanager:UpdateSecretVersionStage']],
        ['RotateRotatingSecretsAsConfigured', ['secretsmanager:RotateSecret']],
        ['EncryptHealedVersionsThroughSecretsManager', ['kms:GenerateDataKey']],
      ],
    );
    assert.ok(!JSON.stringify(healStatements(declaration)).includes('*"'), 'no wildcard action or resource');
  });

  it('has no RotateSecret statement when no profile rotates', () => {
    const sids = healStatements({ profiles: [declaration.profiles[0]] }).map((s) => s.Sid);
    assert.deepEqual(sids, ['HealDeclaredSecrets', 'MoveCurrentOfDeclaredSecrets', 'EncryptHealedVersionsThroughSecretsManager']);
  });

  it('allows the heal its calls on declared secrets only (IAM simulator)', async () => {
    assert.equal(await decide('secretsmanager:PutSecretValue', secretArn('rtv/billing')), 'Allowed');
    assert.equal(await decide('secretsmanager:PutSecretValue', secretArn('rtv/other')), 'ImplicitlyDenied');
    assert.equal(await decide('secretsmanager:UpdateSecretVersionStage', secretArn('rtv/billing'), { 'secretsmanager:VersionStage': 'AWSCURRENT' }), 'Allowed');
    assert.equal(await decide('secretsmanager:DeleteSecret', secretArn('rtv/billing')), 'ImplicitlyDenied');
  });

  it('moves only AWSCURRENT: never AWSPENDING or another label', async () => {
    assert.equal(await decide('secretsmanager:UpdateSecretVersionStage', secretArn('rtv/ops'), { 'secretsmanager:VersionStage': 'AWSPENDING' }), 'ImplicitlyDenied');
    assert.equal(await decide('secretsmanager:UpdateSecretVersionStage', secretArn('rtv/ops'), { 'secretsmanager:VersionStage': 'RTV_ROTATION_SESSION' }), 'ImplicitlyDenied');
  });

  it('starts only the rotation the stack configured, on rotating secrets only', async () => {
    assert.equal(await decide('secretsmanager:RotateSecret', secretArn('rtv/ops')), 'Allowed');
    assert.equal(await decide('secretsmanager:RotateSecret', secretArn('rtv/billing')), 'ImplicitlyDenied', 'not a rotating secret');
    const elsewhere = { 'secretsmanager:RotationLambdaARN': `arn:aws:lambda:us-east-1:${ACCOUNT}:function:attacker` };
    assert.equal(await decide('secretsmanager:RotateSecret', secretArn('rtv/ops'), elsewhere), 'ImplicitlyDenied', 'naming another rotation function');
    assert.equal(await decide('secretsmanager:RotateSecret', secretArn('rtv/ops'), { 'secretsmanager:ModifyRotationRules': 'true' }), 'ImplicitlyDenied', 'changing the schedule');
  });

  it('uses the secrets key for new versions only through Secrets Manager', async () => {
    assert.equal(await decide('kms:GenerateDataKey', KEY_ARN, { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' }), 'Allowed');
    assert.equal(await decide('kms:GenerateDataKey', KEY_ARN), 'ImplicitlyDenied');
    assert.equal(await decide('kms:Decrypt', KEY_ARN, { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' }), 'ImplicitlyDenied', 'Decrypt is the read statement\'s, not this one\'s');
  });
});
