'use strict';
// osls plugin (serverless.yml `plugins`): scopes the functions' logging permissions to their own
// log groups. osls grants logs:CreateLogStream, CreateLogGroup and TagResource on
// `/aws/lambda/SERVICE-STAGE*` — a prefix that also matches other stages (`…-dev*` covers
// `…-devtest-…`) — and PutLogEvents on the same prefix. Each function's log group is a resource of
// this stack, so the function never needs to create or tag one: it gets CreateLogStream and
// PutLogEvents on exactly its group's ARN (`Fn::GetAtt LogGroup.Arn`, which ends in `:*` and so
// covers the group's streams), and nothing else.
const LOGGING_ACTIONS = new Set(['logs:CreateLogStream', 'logs:CreateLogGroup', 'logs:TagResource', 'logs:PutLogEvents']);

class ScopedLogPermissions {
  constructor(serverless) {
    this.hooks = { 'after:package:setupProviderConfiguration': () => scope(serverless) };
  }
}

function scope(serverless) {
  const provider = serverless.getProvider('aws');
  const resources = serverless.service.provider.compiledCloudFormationTemplate.Resources;
  const role = resources[provider.naming.getRoleLogicalId()];
  if (!role) return; // a custom role: its author decides
  const groups = serverless.service
    .getAllFunctions()
    // A function with a role of its own (rotate: infra/rotation.cjs) gets its log permissions there.
    .filter((name) => !serverless.service.getFunction(name).disableLogs && !serverless.service.getFunction(name).role)
    .map((name) => provider.naming.getLogGroupLogicalId(name))
    .filter((logicalId) => resources[logicalId]?.Type === 'AWS::Logs::LogGroup');
  const document = role.Properties.Policies[0].PolicyDocument;
  const isDefaultLogging = (statement) =>
    statement.Effect === 'Allow' && !statement.Sid && [].concat(statement.Action).every((action) => LOGGING_ACTIONS.has(action));
  document.Statement = document.Statement.filter((statement) => !isDefaultLogging(statement));
  if (groups.length === 0) return;
  document.Statement.unshift({
    Sid: 'WriteOwnLogGroups',
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: groups.map((logicalId) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] })),
  });
}

module.exports = ScopedLogPermissions;
