import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

// The osls plugin on a stand-in of what osls hands it (the compiled template so far and the naming
// helpers), so more functions than the stack has today can be tried without packaging.
const require = createRequire(import.meta.url);
const ScopedLogPermissions = require('../../infra/log-permissions.cjs') as new (serverless: unknown) => { hooks: Record<string, () => void> };

function run(functions: Record<string, { disableLogs?: boolean }>, statements: unknown[]) {
  const resources: Record<string, unknown> = {
    IamRoleLambdaExecution: { Type: 'AWS::IAM::Role', Properties: { Policies: [{ PolicyDocument: { Statement: statements } }] } },
  };
  const logGroupId = (name: string) => `${name[0]!.toUpperCase()}${name.slice(1)}LogGroup`;
  for (const [name, fn] of Object.entries(functions)) if (!fn.disableLogs) resources[logGroupId(name)] = { Type: 'AWS::Logs::LogGroup', Properties: {} };
  const serverless = {
    getProvider: () => ({ naming: { getRoleLogicalId: () => 'IamRoleLambdaExecution', getLogGroupLogicalId: logGroupId } }),
    service: { provider: { compiledCloudFormationTemplate: { Resources: resources } }, getAllFunctions: () => Object.keys(functions), getFunction: (name: string) => functions[name] },
  };
  new ScopedLogPermissions(serverless).hooks['after:package:setupProviderConfiguration']!();
  return (resources.IamRoleLambdaExecution as { Properties: { Policies: { PolicyDocument: { Statement: unknown[] } }[] } }).Properties.Policies[0]!.PolicyDocument.Statement;
}

// What osls writes for functions named SERVICE-STAGE-…: a prefix that also matches other stages.
const OSLS_DEFAULT = [
  { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:CreateLogGroup', 'logs:TagResource'], Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/svc-dev*:*' }] },
  { Effect: 'Allow', Action: ['logs:PutLogEvents'], Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/svc-dev*:*:*' }] },
];
const OURS = { Sid: 'ReadDeclaredSecrets', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: ['arn:…'] };

describe('infra/log-permissions.cjs: logging permissions on each function’s own log group', () => {
  it("replaces osls's prefix grant with CreateLogStream and PutLogEvents on every function's log group, keeping other statements", () => {
    const statements = run({ token: {}, rotate: {}, quiet: { disableLogs: true } }, [...OSLS_DEFAULT, OURS]);
    assert.deepEqual(statements, [
      { Sid: 'WriteOwnLogGroups', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [{ 'Fn::GetAtt': ['TokenLogGroup', 'Arn'] }, { 'Fn::GetAtt': ['RotateLogGroup', 'Arn'] }] },
      OURS,
    ]);
  });

  it('grants no logging at all when no function has a log group in the stack', () => {
    assert.deepEqual(run({ quiet: { disableLogs: true } }, [...OSLS_DEFAULT, OURS]), [OURS]);
  });
});
