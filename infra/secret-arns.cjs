'use strict';
// The IAM resources for `secretsmanager:GetSecretValue`, generated from infra/profiles.json so the
// function may read exactly the declared secrets and nothing else. serverless.yml loads it as
// `${file(infra/secret-arns.cjs):secretArns}`; osls calls the exported function at package time,
// with no AWS credentials, so region and account are left to CloudFormation (`Fn::Sub`).
//
// - A secret NAME becomes arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:NAME-??????
//   Secrets Manager appends "-" and 6 random characters to every secret's ARN; each `?` matches
//   exactly one character, so the pattern matches that secret and no other (not a `*`).
// - A full secret ARN (…:secret:NAME-AbCdEf) is used as it is.
// - An ARN without the 6-character suffix (a "partial ARN") gets `-??????` appended, like a name.
//   A partial ARN whose name itself ends in "-" + 6 letters/digits cannot be told apart from a full
//   one and is used as is: IAM then denies, and the function answers 502 (fails closed).
//
// The function validates the whole declaration at cold start; this only refuses what would make
// the policy wrong: no profiles, wildcards, an ARN of something other than a secret.
const { readFileSync } = require('node:fs');
const path = require('node:path');

const { declarationFile } = require('./declaration.cjs');
const { guarded } = require('./guard.cjs');
const SECRET_ARN = /^arn:(aws|aws-cn|aws-us-gov):secretsmanager:([a-z0-9-]+):(\d{12}):secret:(.+)$/;
const FULL_SUFFIX = /-[A-Za-z0-9]{6}$/;
// Secrets Manager allows these characters in a name.
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

/** @returns {Array<string | { 'Fn::Sub': string }>} */
function secretArnsFrom(declaration) {
  const profiles = declaration && Array.isArray(declaration.profiles) ? declaration.profiles : [];
  if (profiles.length === 0) throw new Error('infra/profiles.json declares no profiles: nothing to grant');
  const arns = [];
  const seen = new Set();
  for (const [index, profile] of profiles.entries()) {
    const secretId = profile && typeof profile.secretId === 'string' ? profile.secretId.trim() : '';
    const where = `infra/profiles.json profiles[${index}]${profile && profile.name ? ` ('${profile.name}')` : ''}`;
    if (!secretId) throw new Error(`${where}: secretId is missing`);
    if (seen.has(secretId)) continue; // two profiles may share a secret; grant it once
    seen.add(secretId);
    if (secretId.startsWith('arn:')) {
      const match = SECRET_ARN.exec(secretId);
      if (!match || !SECRET_NAME.test(match[4])) throw new Error(`${where}: secretId '${secretId}' is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf)`);
      arns.push(FULL_SUFFIX.test(match[4]) ? secretId : `${secretId}-??????`);
    } else {
      if (!SECRET_NAME.test(secretId)) throw new Error(`${where}: secretId '${secretId}' is not a secret name (letters, digits and /_+=.@- only; no wildcards)`);
      arns.push({ 'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${secretId}-??????` });
    }
  }
  return arns;
}

module.exports = {
  secretArns: guarded(async ({ resolveVariable }) => secretArnsFrom(JSON.parse(readFileSync(path.join(__dirname, '..', declarationFile(await resolveVariable('sls:stage'))), 'utf8')))),
  secretArnsFrom,
};
