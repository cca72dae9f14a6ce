'use strict';
// Stack outputs for the operators' CLI (`rackspace-token admin …`, client/admin-stack.ts), which
// finds everything it needs from `--stage`/`--region` alone: the token function to invoke for a
// flush, and each declared profile's secret for put-key and rotate. serverless.yml loads it as
// `${file(infra/admin-outputs.cjs):resources}`; ServiceEndpoint and RestApiId come from
// infra/rest-api.cjs.
//
// ProfileSecrets is one JSON object (profile name → secretId as declared, a name or an ARN; both
// are valid SecretIds for Secrets Manager's API) rather than one output per profile: profile names
// need not be valid output keys, and a stack has at most 200 outputs.
const { readFileSync } = require('node:fs');
const path = require('node:path');

const DECLARATION = path.join(__dirname, 'profiles.json');

/** @returns {{ Outputs: Record<string, { Description: string, Value: unknown }> }} */
function adminOutputsFrom(declaration) {
  const profiles = declaration && Array.isArray(declaration.profiles) ? declaration.profiles : [];
  const secrets = {};
  for (const profile of profiles) if (profile && typeof profile.name === 'string' && typeof profile.secretId === 'string') secrets[profile.name] = profile.secretId.trim();
  return {
    Outputs: {
      TokenFunctionName: { Description: 'The token function; `rackspace-token admin flush` invokes it', Value: { Ref: 'TokenLambdaFunction' } },
      ProfileSecrets: { Description: 'Profile name → secret id (JSON), for `rackspace-token admin put-key|rotate`', Value: JSON.stringify(secrets) },
    },
  };
}

module.exports = {
  resources: () => adminOutputsFrom(JSON.parse(readFileSync(DECLARATION, 'utf8'))),
  adminOutputsFrom,
};
