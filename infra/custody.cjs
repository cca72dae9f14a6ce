'use strict';
// The custodied secrets as resources of the stack (serverless.yml `resources`:
// `${file(infra/custody.cjs):resources}`), so one deploy creates everything rotation needs: each
// profile whose `secretId` is a NAME gets an AWS::SecretsManager::Secret of that name, encrypted
// with the stack's key, and its rotation schedule (infra/rotation.cjs) refers to that resource.
//
// - Created EMPTY (no SecretString, no GenerateSecretString): the operator then puts the value with
//   `rackspace-token admin put-key PROFILE`. Empty rather than a placeholder value, because a
//   SecretString in the template is re-written by CloudFormation whenever the resource is updated
//   (it would overwrite the real key with the placeholder), and because "no version labelled
//   AWSCURRENT" is a state Secrets Manager itself reports, so neither the function nor the rotation
//   has to recognise a magic value: the function answers 502 (no value), the rotation skips the
//   secret (functions/rotate/steps.ts, "not yet set").
// - Retained on delete and on replacement, as the key is: the value lives only here.
// - A `secretId` that is a full or partial ARN names a secret managed elsewhere (another stack,
//   another account): never created, used as it is.
// - `--param=keptKeyArn=…` (re-creating a removed stage) creates none: the kept secrets of the
//   removed stack are used by name (infra/kept.cjs adopts the key and the log groups).
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { declarationFile } = require('./declaration.cjs');
const { guarded } = require('./guard.cjs');

/** `Secret` + the first profile's name in PascalCase; two names that collide after that are refused. */
function secretLogicalId(name, taken) {
  const id = `Secret${name.split(/[^A-Za-z0-9]+/).filter(Boolean).map((part) => part[0].toUpperCase() + part.slice(1)).join('')}`;
  if (taken.has(id)) throw new Error(`infra/profiles.json: profiles '${taken.get(id)}' and '${name}' would share the resource name ${id}; rename one`);
  taken.set(id, name);
  return id;
}

/**
 * The secrets this stack creates, by secret name: logical id and the profiles that use it.
 * @returns {Map<string, { id: string, profiles: string[] }>}
 */
function createdSecrets(declaration, { kept }) {
  const created = new Map();
  if (kept) return created;
  const taken = new Map();
  for (const profile of declaration.profiles) {
    if (profile.secretId.startsWith('arn:')) continue;
    const seen = created.get(profile.secretId);
    if (seen) seen.profiles.push(profile.name);
    else created.set(profile.secretId, { id: secretLogicalId(profile.name, taken), profiles: [profile.name] });
  }
  return created;
}

/** How the template names a declared secret: a Ref to the stack's own resource, else the id as declared. */
function secretRef(declaration, options) {
  const created = createdSecrets(declaration, options);
  return (secretId) => (created.has(secretId) ? { Ref: created.get(secretId).id } : secretId);
}

function custodyResources(declaration, { stage, kept }) {
  const Resources = {};
  for (const [name, { id, profiles }] of createdSecrets(declaration, { kept })) {
    Resources[id] = {
      Type: 'AWS::SecretsManager::Secret',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        Name: name,
        Description: `Rackspace credentials of rackspace-token-vendor ${stage}, profile(s) ${profiles.join(', ')}. Created empty: put the value with rackspace-token admin put-key ${profiles[0]}`,
        KmsKeyId: { 'Fn::GetAtt': ['SecretsKey', 'Arn'] },
      },
    };
  }
  return { Resources };
}

async function settings({ resolveVariable }) {
  const stage = String(await resolveVariable('sls:stage'));
  const kept = String((await resolveVariable('param:keptKeyArn, null')) ?? '').trim() !== '';
  const declaration = JSON.parse(readFileSync(path.join(__dirname, '..', declarationFile(stage)), 'utf8'));
  return { stage, kept, declaration };
}

module.exports = {
  resources: guarded(async (context) => {
    const { stage, kept, declaration } = await settings(context);
    return custodyResources(declaration, { stage, kept });
  }),
  settings,
  createdSecrets,
  custodyResources,
  secretRef,
};
