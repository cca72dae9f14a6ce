import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadProfiles } from '../../functions/core/profiles.ts';

const run = promisify(execFile);
const { secretArnsFrom } = createRequire(import.meta.url)('../../infra/secret-arns.cjs') as { secretArnsFrom: (declaration: unknown) => unknown[] };

/** `serverless package` as `npm run package` runs it, into a temp dir, with no AWS credentials at all. */
async function packageTemplate(dir: string, params: string[] = []) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_') || key === 'AWS_CA_BUNDLE'));
  await run(process.execPath, ['node_modules/serverless/bin/serverless.js', 'package', '--package', dir, ...params], { env: { ...env, HOME: dir } });
  return JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
}

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtv-package-'));
  dirs.push(dir);
  return dir;
};
let template: Awaited<ReturnType<typeof packageTemplate>>;
before(async () => {
  template = await packageTemplate(tempDir());
});
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const ofType = (type: string) => Object.values(template.Resources).filter((r) => r.Type === type);
const statement = (sid: string) => {
  const role = ofType('AWS::IAM::Role')[0];
  const statements = role?.Properties.Policies.flatMap((p: { PolicyDocument: { Statement: unknown[] } }) => p.PolicyDocument.Statement);
  return statements.find((s: { Sid?: string }) => s.Sid === sid);
};

describe('The packaged CloudFormation template (npm run package)', () => {
  it('routes GET /v1/profiles/{profile}/token with the AWS_IAM authorizer, and nothing else', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map((r) => [r.Properties.RouteKey, r.Properties.AuthorizationType]);
    assert.deepEqual(routes, [['GET /v1/profiles/{profile}/token', 'AWS_IAM']]);
  });

  it('runs nodejs24.x on arm64, with a timeout just above the Identity budget and bounded reserved concurrency', () => {
    const fn = ofType('AWS::Lambda::Function')[0]?.Properties;
    assert.deepEqual([fn?.Runtime, fn?.Architectures, fn?.ReservedConcurrentExecutions], ['nodejs24.x', ['arm64'], 10]);
    const budgetMs = Number(fn?.Environment.Variables.IDENTITY_BUDGET_MS);
    assert.ok(fn?.Timeout * 1000 > budgetMs && fn?.Timeout * 1000 <= budgetMs + 3000, `timeout ${fn?.Timeout} s for a ${budgetMs} ms budget`);
    assert.equal(fn?.Handler, 'functions/token/handler.handler');
  });

  it('grants GetSecretValue on exactly the declared secrets, never *, and kms:Decrypt on their key only, via Secrets Manager', () => {
    const declaration = JSON.parse(readFileSync('infra/profiles.json', 'utf8'));
    const declared = [...loadProfiles(declaration).values()].map((p) => p.secretId);
    const read = statement('ReadDeclaredSecrets');
    assert.deepEqual(read.Action, ['secretsmanager:GetSecretValue']);
    const resources: string[] = read.Resource.map((r: string | { 'Fn::Sub': string }) => (typeof r === 'string' ? r : r['Fn::Sub']));
    assert.deepEqual(resources, declared.map((name) => `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${name}-??????`));
    assert.ok(resources.every((r) => !r.includes('*')));
    const decrypt = statement('DecryptSecretsThroughSecretsManager');
    assert.deepEqual([decrypt.Action, decrypt.Resource], [['kms:Decrypt'], [{ 'Fn::GetAtt': ['SecretsKey', 'Arn'] }]]);
    assert.deepEqual(decrypt.Condition.StringEquals['kms:ViaService'], { 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' });
    const all = JSON.stringify(ofType('AWS::IAM::Role'));
    assert.ok(!/"secretsmanager:\*"|"kms:\*"/.test(all), 'no wildcard actions');
  });

  it('keeps the log group for the configured retention, and alarms on 5xx and on Identity failures', () => {
    const logs = ofType('AWS::Logs::LogGroup');
    assert.deepEqual(logs.map((l) => [l.Properties.LogGroupName, l.Properties.RetentionInDays]), [['/aws/lambda/rackspace-token-vendor-dev-token', 30]]);
    assert.equal(ofType('AWS::KMS::Key').length, 1);
    const alarms = ofType('AWS::CloudWatch::Alarm').map((a) => `${a.Properties.Namespace}/${a.Properties.MetricName}`);
    assert.deepEqual(alarms.sort(), ['AWS/ApiGateway/5xx', 'RackspaceTokenVendor/dev/IdentityFailures']);
    const filter = ofType('AWS::Logs::MetricFilter')[0]?.Properties;
    assert.equal(filter?.FilterPattern, '{ $.audit.upstream = "identity" }');
  });

  it('takes deployment parameters, and refuses out-of-range ones before anything reaches AWS', async () => {
    const tuned = await packageTemplate(tempDir(), ['--param=reservedConcurrency=3', '--param=identityBudgetMs=12000', '--param=logRetentionInDays=90']);
    const fn = Object.values(tuned.Resources).find((r) => r.Type === 'AWS::Lambda::Function')?.Properties;
    assert.deepEqual([fn?.ReservedConcurrentExecutions, fn?.Timeout, fn?.Environment.Variables.IDENTITY_BUDGET_MS], [3, 14, '12000']);
    await assert.rejects(packageTemplate(tempDir(), ['--param=reservedConcurrency=0']), (error: { stdout: string; stderr: string }) =>
      /reservedConcurrency=… must be a whole number from 1 to 100, got '0'/.test(error.stdout + error.stderr));
  });
});

describe('infra/secret-arns.cjs: declared secret ids → IAM resources', () => {
  const arns = (...secretIds: string[]) => secretArnsFrom({ profiles: secretIds.map((secretId, i) => ({ name: `p${i}`, secretId })) });
  it('turns a name into its ARN with the 6-character suffix matched by ?, never *', () => {
    assert.deepEqual(arns('team/rackspace'), [{ 'Fn::Sub': 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:team/rackspace-??????' }]);
  });
  it('keeps a full ARN, completes a partial one, and grants a shared secret once', () => {
    const full = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/rackspace-AbC123';
    const partial = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/other';
    assert.deepEqual(arns(full, partial, full), [full, `${partial}-??????`]);
  });
  it('refuses wildcards, ARNs of other things and an empty declaration', () => {
    assert.throws(() => arns('team/*'), /no wildcards/);
    assert.throws(() => arns('arn:aws:s3:::bucket'), /not a Secrets Manager secret ARN/);
    assert.throws(() => arns('arn:aws:secretsmanager:eu-west-1:123456789012:secret:*'), /not a Secrets Manager secret ARN/);
    assert.throws(() => secretArnsFrom({ profiles: [] }), /declares no profiles/);
  });
});
