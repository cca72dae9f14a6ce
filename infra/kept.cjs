'use strict';
// osls plugin (serverless.yml `plugins`), run on the finished template (after `resources` merged):
//
// 1. The token function waits for every IAM policy it needs. Its role's inline policy comes with the
//    role (osls makes the function depend on it), but the shared tier's grant is a separate
//    AWS::IAM::Policy: without DependsOn, CloudFormation may create the function (and the API may
//    serve) before the grant exists, and the first requests fall back and fire the fallback alarm.
//
// 2. Re-creating a removed stage (`--param=keptKeyArn=arn:aws:kms:…:key/…`): the removed stack kept
//    its KMS key, its secrets and its log groups (all Retain), and their names are fixed, so creating
//    them again would fail ("already exists") and a new key could not read the kept secrets. With
//    the parameter the template creates none of them and refers to the kept ones instead: the key by
//    the given ARN, the log groups by their ARNs (built from their names), the secrets by name
//    (infra/custody.cjs creates none). CloudFormation does not manage them in the new stack: their
//    key policy and retention stay as the removed stack left them (docs/deploy.md).
const KEY_ID = 'SecretsKey';
const LOG_GROUP_TYPE = 'AWS::Logs::LogGroup';

class KeptResources {
  constructor(serverless) {
    this.hooks = { 'after:aws:package:finalize:mergeCustomProviderResources': () => finish(serverless.service.provider.compiledCloudFormationTemplate, serverless.service.custom?.keptKeyArn ?? '') };
  }
}

/** Replaces every `{ Fn::GetAtt: [id, 'Arn'] }` and `{ Ref: id }` of the given ids, anywhere in the template. */
function replaceReferences(node, replacements) {
  if (Array.isArray(node)) return node.map((item) => replaceReferences(item, replacements));
  if (node === null || typeof node !== 'object') return node;
  const getAtt = node['Fn::GetAtt'];
  if (Array.isArray(getAtt) && getAtt[1] === 'Arn' && replacements.has(getAtt[0]) && Object.keys(node).length === 1) return replacements.get(getAtt[0]);
  if (typeof node.Ref === 'string' && replacements.has(node.Ref) && Object.keys(node).length === 1) return replacements.get(node.Ref);
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, replaceReferences(value, replacements)]));
}

/** The template with the kept resources adopted (see above); unchanged when keptKeyArn is ''. */
function adopt(template, keptKeyArn) {
  if (!keptKeyArn) return template;
  const replacements = new Map([[KEY_ID, keptKeyArn]]);
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== LOG_GROUP_TYPE) continue;
    // As Fn::GetAtt LogGroup.Arn answers: the group's ARN with ':*' (its streams).
    replacements.set(id, { 'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${resource.Properties.LogGroupName}:*` });
  }
  const Resources = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (replacements.has(id)) continue;
    const adopted = replaceReferences(resource, replacements);
    if (adopted.DependsOn !== undefined) {
      adopted.DependsOn = [].concat(adopted.DependsOn).filter((other) => !replacements.has(other));
      if (adopted.DependsOn.length === 0) delete adopted.DependsOn;
    }
    Resources[id] = adopted;
  }
  return { ...template, Resources, Outputs: replaceReferences(template.Outputs ?? {}, replacements) };
}

/** The token function depends on every standalone policy granting its role something. */
function waitForPolicies(template) {
  const fn = template.Resources.TokenLambdaFunction;
  if (!fn) return;
  const policies = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles ?? []).includes('"IamRoleLambdaExecution"'))
    .map(([id]) => id);
  fn.DependsOn = [...new Set([...[].concat(fn.DependsOn ?? []), ...policies])];
}

function finish(template, keptKeyArn) {
  Object.assign(template, adopt(template, keptKeyArn));
  waitForPolicies(template);
}

module.exports = KeptResources;
module.exports.adopt = adopt;
module.exports.waitForPolicies = waitForPolicies;
