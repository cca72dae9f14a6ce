import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

const require = createRequire(import.meta.url);
const { adminOutputsFrom } = require('../../infra/admin-outputs.cjs') as { adminOutputsFrom: (declaration: unknown) => { Outputs: Record<string, { Value: unknown }> } };

describe('Stack outputs for the operators\' CLI', () => {
  it('name every declared profile\'s secret as declared, and the token function by the logical id the REST API integrates', () => {
    const declaration = JSON.parse(readFileSync('infra/profiles.json', 'utf8')) as { profiles: Array<{ name: string; secretId: string }> };
    const { Outputs } = adminOutputsFrom({ profiles: [...declaration.profiles, { name: 'billing', secretId: ' arn:aws:secretsmanager:us-east-1:123456789012:secret:billing-AbCdEf ' }] });
    assert.deepEqual(JSON.parse(Outputs.ProfileSecrets?.Value as string), {
      ...Object.fromEntries(declaration.profiles.map((p) => [p.name, p.secretId])),
      billing: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:billing-AbCdEf',
    });
    assert.deepEqual(Outputs.TokenFunctionName?.Value, { Ref: 'TokenLambdaFunction' });
    assert.match(readFileSync('infra/rest-api.cjs', 'utf8'), /'Fn::GetAtt': \['TokenLambdaFunction', 'Arn'\]/, 'the same logical id the API invokes');
    assert.match(readFileSync('serverless.yml', 'utf8'), /^ {2}- \$\{file\(infra\/admin-outputs\.cjs\):resources\}$/m, 'the template includes them');
  });
});
