import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadProfiles } from '../../functions/core/profiles.ts';
import { loadCfnSpec, specProblems, type CfnSpec } from '../support/cfn-spec.ts';
import { evaluate, type Policy } from '../support/resource-policy.ts';
import { emptyFacts } from '../../functions/token/audit.ts';
import { metricValues } from '../../functions/token/metrics.ts';
import { recordContext } from '../../functions/core/token-record.ts';

const run = promisify(execFile);
const { secretArnsFrom } = createRequire(import.meta.url)('../../infra/secret-arns.cjs') as { secretArnsFrom: (declaration: unknown) => unknown[] };
const { rotationResources } = createRequire(import.meta.url)('../../infra/rotation.cjs') as { rotationResources: (declaration: unknown) => { Resources: Record<string, { Type: string; Properties: Record<string, any> }> } };

/** `serverless package` as `npm run package` runs it, into a temp dir, with no AWS credentials at all. */
async function packageTemplate(dir: string, params: string[] = []) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_') || key === 'AWS_CA_BUNDLE'));
  await run(process.execPath, ['node_modules/serverless/bin/serverless.js', 'package', '--package', dir, ...params], { env: { ...env, HOME: dir } });
  return JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties: Record<string, any>; DependsOn?: string[]; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;
  };
}

/** Every metric name the function's code writes, over requests of every kind it answers. */
function everyMetricEmitted() {
  const served = { ...emptyFacts('r'), cacheHit: false, identityMs: 12, secondsLeft: 600, degraded: true, upstream: 'identity' as const };
  return Object.assign({}, ...[200, 403, 400, 502, 503].map((status) => metricValues(status === 200 ? served : emptyFacts('r'), status)));
}

/**
 * Unzips the packaged function and cold-starts it in a fresh process with the template's
 * environment (and a region, as Lambda sets one); answers the status of one request from a caller
 * no profile allows, which needs no AWS call. A configuration the function refuses fails the import.
 */
/** An environment value as CloudFormation would resolve it: a Ref to its logical id, a GetAtt to an ARN naming it. */
const resolved = (value: unknown): string =>
  typeof value === 'string' ? value : (value as { Ref?: string }).Ref ?? `arn:aws:kms:us-east-1:000000000000:key/${(value as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]}`;

async function startPackaged(dir: string, variables: Record<string, unknown>): Promise<number> {
  const env = Object.fromEntries(Object.entries(variables).map(([key, value]) => [key, resolved(value)]));
  await run('unzip', ['-q', '-o', join(dir, 'token.zip'), '-d', join(dir, 'token')]);
  const bundle = join(dir, 'token', 'functions', 'token', 'handler.mjs');
  const event = { version: '2.0', pathParameters: { profile: 'nobody' }, requestContext: { requestId: 'r', authorizer: { iam: { userArn: 'arn:aws:sts::000000000000:assumed-role/none/x' } } } };
  const script = `const { handler } = await import(${JSON.stringify(bundle)}); console.log('STATUS ' + (await handler(${JSON.stringify(event)}, { awsRequestId: 'r' })).statusCode);`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1', ...env } });
  return Number(/^STATUS (\d+)$/m.exec(stdout)?.[1]);
}

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtv-package-'));
  dirs.push(dir);
  return dir;
};
type Template = Awaited<ReturnType<typeof packageTemplate>>;
// Packaged twice, side by side: with the defaults, and with every parameter changed: the REST API
// ones, and every bounded one at its lowest value (the highest are packaged in their own test).
const TUNED = [
  '--param=reservedConcurrency=1', '--param=identityBudgetMs=100', '--param=logRetentionInDays=1', '--param=logLevel=SILENT',
  '--param=endpointType=PRIVATE', '--param=vpcEndpointIds=vpce-0a1b2c3d4e5f60718, vpce-11112222333344445',
  '--param=orgId=o-abcd123456', '--param=throttlingRateLimit=1', '--param=throttlingBurstLimit=1', '--param=apiGatewayLogRole=existing',
];
let template: Template;
let tuned: Template;
let tunedDir: string;
let spec: CfnSpec;
before(async () => {
  // One after the other: serverless-esbuild builds in a shared .esbuild/ directory.
  template = await packageTemplate(tempDir());
  tunedDir = tempDir();
  tuned = await packageTemplate(tunedDir, TUNED);
  spec = loadCfnSpec();
});
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const ofType = (type: string, from: Template = template) => Object.values(from.Resources).filter((r) => r.Type === type);
const the = (type: string, from: Template = template) => {
  const found = ofType(type, from);
  assert.equal(found.length, 1, `one ${type}`);
  return found[0]!;
};
const statement = (sid: string) => {
  const role = template.Resources.IamRoleLambdaExecution;
  const statements = role?.Properties.Policies.flatMap((p: { PolicyDocument: { Statement: unknown[] } }) => p.PolicyDocument.Statement);
  return statements.find((s: { Sid?: string }) => s.Sid === sid);
};

describe('The packaged CloudFormation template (npm run package)', () => {
  it('serves GET /v1/profiles/{profile}/token from a REST API with AWS_IAM, its only method, proxied to the function', () => {
    assert.deepEqual(ofType('AWS::ApiGatewayV2::Api'), [], 'no HTTP API any more');
    the('AWS::ApiGateway::RestApi');
    const pathOf = (ref: unknown): string => {
      if (typeof ref === 'object' && ref !== null && 'Fn::GetAtt' in ref) return '';
      const id = (ref as { Ref: string }).Ref;
      const resource = template.Resources[id]!;
      return `${pathOf(resource.Properties.ParentId)}/${resource.Properties.PathPart}`;
    };
    const methods = ofType('AWS::ApiGateway::Method').map((m) => [m.Properties.HttpMethod, pathOf(m.Properties.ResourceId), m.Properties.AuthorizationType, m.Properties.Integration.Type]);
    assert.deepEqual(methods, [['GET', '/v1/profiles/{profile}/token', 'AWS_IAM', 'AWS_PROXY']]);
    const uri = the('AWS::ApiGateway::Method').Properties.Integration.Uri['Fn::Sub'];
    assert.match(uri, /:lambda:path\/2015-03-31\/functions\/\$\{TokenLambdaFunction\.Arn\}\/invocations$/);
    const permission = ofType('AWS::Lambda::Permission').find((p) => p.Properties.Principal === 'apigateway.amazonaws.com')!.Properties;
    assert.deepEqual([permission.FunctionName, permission.Principal], [{ 'Fn::GetAtt': ['TokenLambdaFunction', 'Arn'] }, 'apigateway.amazonaws.com']);
    assert.match(permission.SourceArn['Fn::Sub'], /:\$\{ApiGatewayRestApi\}\/\*\/GET\/v1\/profiles\/\*\/token$/, 'API Gateway may invoke it for this route only');
  });

  it('runs nodejs24.x on arm64, with a timeout just above the Identity budget and bounded reserved concurrency', () => {
    const fn = template.Resources.TokenLambdaFunction?.Properties;
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

  it('keeps the function log group and the API access log group for the configured retention, and alarms on 5xx, Identity failures, degraded answers, refused keys, overprivileged users and concurrency', () => {
    const logs = (from: Template) => ofType('AWS::Logs::LogGroup', from).map((l) => [l.Properties.LogGroupName, l.Properties.RetentionInDays]).sort();
    assert.deepEqual(logs(template), [['/aws/api-gateway/rackspace-token-vendor-dev-access', 30], ['/aws/lambda/rackspace-token-vendor-dev-rotate', 30], ['/aws/lambda/rackspace-token-vendor-dev-token', 30]]);
    assert.deepEqual(logs(tuned), [['/aws/api-gateway/rackspace-token-vendor-dev-access', 1], ['/aws/lambda/rackspace-token-vendor-dev-rotate', 1], ['/aws/lambda/rackspace-token-vendor-dev-token', 1]]);
    // REST API metrics are keyed by the API's name and the stage: both must be this API's.
    const api = JSON.stringify([{ Name: 'ApiName', Value: the('AWS::ApiGateway::RestApi').Properties.Name }, { Name: 'Stage', Value: the('AWS::ApiGateway::Stage').Properties.StageName }]);
    const alarms = ofType('AWS::CloudWatch::Alarm').map((a) => [`${a.Properties.Namespace}/${a.Properties.MetricName}`, a.Properties.Threshold, JSON.stringify(a.Properties.Dimensions)]);
    assert.deepEqual(alarms.sort(), [
      ['AWS/ApiGateway/5XXError', 1, api],
      ['AWS/Lambda/ConcurrentExecutions', 8, JSON.stringify([{ Name: 'FunctionName', Value: 'rackspace-token-vendor-dev-token' }])],
      ['AWS/Lambda/Errors', 1, JSON.stringify([{ Name: 'FunctionName', Value: { Ref: 'RotateLambdaFunction' } }])],
      ['RackspaceTokenVendor/CredentialsOverprivileged', 1, '[{"Name":"Stage","Value":"dev"}]'],
      ['RackspaceTokenVendor/CredentialsUnusable', 1, '[{"Name":"Stage","Value":"dev"}]'],
      ['RackspaceTokenVendor/Degraded', 1, '[{"Name":"Stage","Value":"dev"}]'],
      ['RackspaceTokenVendor/IdentityFailure', 1, '[{"Name":"Stage","Value":"dev"}]'],
      ['RackspaceTokenVendor/SharedTierFallback', 1, '[{"Name":"Stage","Value":"dev"}]'],
    ]);
    for (const alarm of ofType('AWS::CloudWatch::Alarm')) assert.match(alarm.Properties.AlarmDescription, /\b(check|find|put|raise)\b/i, 'each alarm says what to do');
    // Like a refused key: one refusal is enough, and its runbook names the fix (another user or the declaration).
    const overprivileged = ofType('AWS::CloudWatch::Alarm').find((a) => a.Properties.MetricName === 'CredentialsOverprivileged');
    const unusable = ofType('AWS::CloudWatch::Alarm').find((a) => a.Properties.MetricName === 'CredentialsUnusable');
    const shape = (a: typeof unusable) => [a?.Properties.Statistic, a?.Properties.Period, a?.Properties.EvaluationPeriods, a?.Properties.ComparisonOperator, a?.Properties.TreatMissingData, JSON.stringify(a?.Properties.AlarmActions)];
    assert.deepEqual(shape(overprivileged), shape(unusable));
    assert.match(overprivileged?.Properties.AlarmDescription, /sub-user.*accountAdmin|accountAdmin.*sub-user/s);
  });

  it('has a dashboard whose every widget on our namespace names a metric the function emits, and whose API widgets name this API', () => {
    const [dashboard] = ofType('AWS::CloudWatch::Dashboard');
    const body = JSON.parse(dashboard?.Properties.DashboardBody['Fn::Sub']) as { widgets: { type: string; properties: { metrics?: unknown[][]; query?: string } }[] };
    const emitted = new Set(Object.keys(everyMetricEmitted()));
    const ours = body.widgets.flatMap((w) => (w.properties.metrics ?? []).filter((m) => m[0] === 'RackspaceTokenVendor').map((m) => m[1] as string));
    assert.ok(ours.length >= 8, 'the dashboard shows our metrics');
    assert.deepEqual(ours.filter((name) => !emitted.has(name)), []);
    assert.deepEqual([...emitted].filter((name) => !ours.includes(name)), [], 'and every metric we emit is on it');
    const kinds = body.widgets.flatMap((w) => (w.properties.metrics ?? []).map((m) => `${m[0]}/${m[1]}`));
    for (const wanted of ['AWS/ApiGateway/Count', 'AWS/ApiGateway/5XXError', 'AWS/Lambda/Duration', 'AWS/Lambda/ConcurrentExecutions', 'AWS/Lambda/Throttles']) assert.ok(kinds.includes(wanted), wanted);
    const apiMetrics = body.widgets.flatMap((w) => (w.properties.metrics ?? []).filter((m) => m[0] === 'AWS/ApiGateway'));
    for (const m of apiMetrics) assert.deepEqual(m.slice(2), ['ApiName', the('AWS::ApiGateway::RestApi').Properties.Name, 'Stage', the('AWS::ApiGateway::Stage').Properties.StageName]);
    const insights = body.widgets.find((w) => w.type === 'log');
    assert.match(insights?.properties.query ?? '', /^SOURCE '\/aws\/lambda\/rackspace-token-vendor-dev-token' \| .*filter audit\.status >= 400/);
  });

  it('packages every parameter at its lowest and highest value into a function that starts, and refuses out-of-range ones before anything reaches AWS', async () => {
    const highest = ['--param=reservedConcurrency=100', '--param=identityBudgetMs=25000', '--param=logRetentionInDays=3653', '--param=logLevel=TRACE', '--param=throttlingRateLimit=10000', '--param=throttlingBurstLimit=5000'];
    // (The throttle limits are resolved later, by the REST API's own step; test/infra/rest-api.test.ts refuses theirs.)
    const beyond = ['--param=reservedConcurrency=101', '--param=identityBudgetMs=25001', '--param=logRetentionInDays=3654', '--param=logLevel=LOUD'];
    // The refused one stops while resolving variables, before any build, so it may run beside the other.
    const highDir = tempDir();
    const [high, refused] = await Promise.allSettled([packageTemplate(highDir, highest), packageTemplate(tempDir(), beyond)]);
    assert.equal(high.status, 'fulfilled', high.status === 'rejected' ? String(high.reason?.stderr ?? high.reason) : '');
    for (const [dir, packaged, expected] of [[tunedDir, tuned, [1, 100, 3, 1, 'SILENT', 1, 1]], [highDir, (high as PromiseFulfilledResult<Template>).value, [100, 25_000, 27, 3653, 'TRACE', 10_000, 5_000]]] as const) {
      const fn = packaged.Resources.TokenLambdaFunction!.Properties;
      const retention = ofType('AWS::Logs::LogGroup', packaged).find((l) => l.Properties.LogGroupName === '/aws/lambda/rackspace-token-vendor-dev-token')?.Properties.RetentionInDays;
      const throttle = the('AWS::ApiGateway::Stage', packaged).Properties.MethodSettings[0];
      const env = fn.Environment.Variables as Record<string, string>;
      assert.deepEqual([fn.ReservedConcurrentExecutions, Number(env.IDENTITY_BUDGET_MS), fn.Timeout, retention, env.POWERTOOLS_LOG_LEVEL, throttle.ThrottlingRateLimit, throttle.ThrottlingBurstLimit], expected);
      assert.equal(await startPackaged(dir, env), 403, `the function packaged with ${expected.join(', ')} starts and answers`);
    }
    assert.equal(refused.status, 'rejected');
    const output = `${(refused as PromiseRejectedResult).reason.stdout}${(refused as PromiseRejectedResult).reason.stderr}`;
    for (const message of [
      /reservedConcurrency=… must be a whole number from 1 to 100, got '101'/,
      /identityBudgetMs=… must be a whole number from 100 to 25000, got '25001'/,
      /logRetentionInDays=… must be one of 1, 3, 5, .*, 3653, got '3654'/,
      /logLevel=… must be one of TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, SILENT, got 'LOUD'/,
    ]) assert.match(output, message);
  });

  it('throttles the whole stage (defaults 50/s, burst 100; or as given) and access-logs caller, status, latency and request id', () => {
    const settings = (from: Template) => the('AWS::ApiGateway::Stage', from).Properties.MethodSettings.map((m: Record<string, unknown>) => [m.ResourcePath, m.HttpMethod, m.ThrottlingRateLimit, m.ThrottlingBurstLimit]);
    assert.deepEqual(settings(template), [['/*', '*', 50, 100]]);
    assert.deepEqual(settings(tuned), [['/*', '*', 1, 1]]);
    const stage = the('AWS::ApiGateway::Stage').Properties;
    assert.equal(stage.StageName, 'dev');
    const logGroupId = Object.entries(template.Resources).find(([, r]) => r.Properties.LogGroupName === '/aws/api-gateway/rackspace-token-vendor-dev-access')?.[0];
    assert.deepEqual(stage.AccessLogSetting.DestinationArn, { 'Fn::GetAtt': [logGroupId, 'Arn'] });
    // Every line must be JSON whatever the values: substitute quoted test values as API Gateway would.
    const line = String(stage.AccessLogSetting.Format).replaceAll(/\$context\.error\.messageString/g, JSON.stringify('He said "no"')).replaceAll(/\$context\.[\w.]+/g, (v: string) => `${v}-value`);
    assert.doesNotThrow(() => JSON.parse(line), line);
    const format = JSON.parse(String(stage.AccessLogSetting.Format).replace('$context.error.messageString', '"$context.error.messageString"')) as Record<string, string>;
    for (const variable of ['$context.identity.userArn', '$context.status', '$context.responseLatency', '$context.requestId']) {
      assert.ok(Object.values(format).includes(variable), `the access log records ${variable}`);
    }
  });

  it('deploys the API anew when what it serves changes (the stage points at a deployment named by its content)', () => {
    const deployment = (from: Template) => Object.entries(from.Resources).filter(([, r]) => r.Type === 'AWS::ApiGateway::Deployment').map(([id]) => id);
    const [ours, theirs] = [deployment(template), deployment(tuned)];
    assert.equal(ours.length, 1);
    assert.notEqual(ours[0], theirs[0], 'another policy and endpoint, another deployment');
    assert.deepEqual(the('AWS::ApiGateway::Stage').Properties.DeploymentId, { Ref: ours[0] });
    assert.deepEqual(the('AWS::ApiGateway::Stage', tuned).Properties.DeploymentId, { Ref: theirs[0] });
  });

  it('has API Gateway write access logs with a retained account role, unless apiGatewayLogRole=existing', () => {
    const role = template.Resources.ApiGatewayLogRole!;
    assert.deepEqual([role.DeletionPolicy, role.UpdateReplacePolicy], ['Retain', 'Retain']);
    assert.deepEqual(role.Properties.AssumeRolePolicyDocument.Statement[0].Principal, { Service: ['apigateway.amazonaws.com'] });
    assert.deepEqual(the('AWS::ApiGateway::Account').Properties.CloudWatchRoleArn, { 'Fn::GetAtt': ['ApiGatewayLogRole', 'Arn'] });
    assert.deepEqual(template.Resources.ApiGatewayStage!.DependsOn, ['ApiGatewayAccount'], 'the account role is set before the stage logs');
    assert.deepEqual([ofType('AWS::ApiGateway::Account', tuned), tuned.Resources.ApiGatewayLogRole, tuned.Resources.ApiGatewayStage!.DependsOn], [[], undefined, undefined]);
  });
});

describe('The REST API resource policy in the packaged template', () => {
  const declaration = JSON.parse(readFileSync('infra/profiles.json', 'utf8'));
  const patterns = [...loadProfiles(declaration).values()].flatMap((p) => p.allow);
  const policy = (from: Template) => the('AWS::ApiGateway::RestApi', from).Properties.Policy as Policy;
  // A role ARN each allow entry matches: its `*`s filled in, under a path or none.
  const declaredRoles = patterns.flatMap((p) => {
    const name = p.source.slice(p.source.lastIndexOf('/') + 1).replaceAll('*', 'x1');
    return [`arn:${p.partition}:iam::${p.account}:role/${name}`, `arn:${p.partition}:iam::${p.account}:role/team/${name}`];
  });
  const route = 'execute-api:/dev/GET/v1/profiles/billing/token';

  it('lets in exactly the accounts and roles infra/profiles.json allows, on the token route only', () => {
    const allow = policy(template).Statement.filter((s) => s.Effect === 'Allow');
    assert.equal(allow.length, 1);
    assert.deepEqual(allow[0]!.Principal, { AWS: [...new Set(patterns.map((p) => `arn:${p.partition}:iam::${p.account}:root`))].sort() });
    assert.deepEqual([allow[0]!.Action, allow[0]!.Resource], ['execute-api:Invoke', 'execute-api:/dev/GET/v1/profiles/*/token']);
    for (const role of declaredRoles) assert.equal(evaluate(policy(template), { principalArn: role, resource: route }), 'allow', role);
    const [first] = patterns;
    const strangers = [`arn:aws:iam::${first!.account}:role/admin`, `arn:aws:iam::210987654321:role/${first!.source.split('/').pop()}`, `arn:aws:iam::${first!.account}:user/alice`];
    for (const stranger of strangers) assert.equal(evaluate(policy(template), { principalArn: stranger, resource: route }), 'deny', stranger);
    assert.equal(evaluate(policy(template), { principalArn: declaredRoles[0]!, resource: 'execute-api:/dev/GET/v1/other' }), 'implicit-deny');
  });

  it('with orgId and PRIVATE, also requires the organisation and one of the VPC endpoints', () => {
    const conditions = policy(tuned).Statement.filter((s) => s.Effect === 'Deny').map((s) => s.Condition);
    assert.deepEqual(conditions.slice(1), [
      { StringNotEquals: { 'aws:PrincipalOrgID': 'o-abcd123456' } },
      { StringNotEquals: { 'aws:SourceVpce': ['vpce-0a1b2c3d4e5f60718', 'vpce-11112222333344445'] } },
    ]);
    assert.deepEqual(the('AWS::ApiGateway::RestApi', tuned).Properties.EndpointConfiguration, { Types: ['PRIVATE'], VpcEndpointIds: ['vpce-0a1b2c3d4e5f60718', 'vpce-11112222333344445'] });
    assert.deepEqual(the('AWS::ApiGateway::RestApi').Properties.EndpointConfiguration, { Types: ['REGIONAL'] });
    const role = declaredRoles[0]!;
    const inside = { principalArn: role, resource: route, orgId: 'o-abcd123456', sourceVpce: 'vpce-11112222333344445' };
    assert.equal(evaluate(policy(tuned), inside), 'allow');
    assert.equal(evaluate(policy(tuned), { ...inside, orgId: 'o-zzzz999999' }), 'deny');
    assert.equal(evaluate(policy(tuned), { ...inside, orgId: undefined }), 'deny');
    assert.equal(evaluate(policy(tuned), { ...inside, sourceVpce: 'vpce-99998888777766665' }), 'deny');
    assert.equal(evaluate(policy(template), { principalArn: role, resource: route }), 'allow', 'REGIONAL without orgId: no such conditions');
  });
});

describe('Custody key and logging permissions in the packaged template', () => {
  // The shared tier's statement (the function role only, its own encryption context) is checked with the shared tier below.
  const keyStatements = () => (the('AWS::KMS::Key').Properties.KeyPolicy.Statement as { Sid: string; Action: string[]; Condition?: Record<string, Record<string, unknown>> }[]).filter((s) => !('Fn::If' in s));
  const CRYPTO = /^kms:(Decrypt|Encrypt|GenerateDataKey|ReEncrypt|CreateGrant|Sign|Verify|GenerateMac|VerifyMac|DeriveSharedSecret|\*)/;

  it('retains the custody key when the stack is deleted or the key replaced', () => {
    const key = the('AWS::KMS::Key');
    assert.deepEqual([key.DeletionPolicy, key.UpdateReplacePolicy], ['Retain', 'Retain']);
  });

  it('separates key administrators (no cryptographic use, no grants) from users (Decrypt/GenerateDataKey only via Secrets Manager, for the declared secrets)', () => {
    const statements = keyStatements();
    assert.ok(statements.every((s) => ![].concat(s.Action as never).some((a: string) => a === 'kms:*')), 'no kms:*');
    const admin = statements.find((s) => s.Sid === 'KeyAdministrators')!;
    assert.deepEqual(admin.Action.filter((a) => CRYPTO.test(a)), []);
    assert.ok(admin.Action.includes('kms:PutKeyPolicy') && admin.Action.includes('kms:ScheduleKeyDeletion'));
    const users = statements.filter((s) => s.Action.some((a) => CRYPTO.test(a)));
    assert.equal(users.length, 1, 'one statement may use the key');
    const [use] = users;
    assert.deepEqual(use!.Action, ['kms:Decrypt', 'kms:GenerateDataKey']);
    assert.deepEqual(use!.Condition!.StringEquals!['kms:ViaService'], { 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' });
    const readable = statement('ReadDeclaredSecrets').Resource;
    assert.deepEqual(use!.Condition!.StringLike!['kms:EncryptionContext:SecretARN'], readable, 'the same secrets the function may read');
  });

  it('lets the function write only to its own log group: no wildcard group, no CreateLogGroup or TagResource', () => {
    const role = template.Resources.IamRoleLambdaExecution!.Properties;
    const logging = role.Policies.flatMap((p: { PolicyDocument: { Statement: { Action: string[] }[] } }) => p.PolicyDocument.Statement).filter((s: { Action: string[] }) => [].concat(s.Action as never).some((a: string) => a.startsWith('logs:')));
    assert.deepEqual(logging, [{ Sid: 'WriteOwnLogGroups', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [{ 'Fn::GetAtt': ['TokenLogGroup', 'Arn'] }] }]);
    assert.equal(template.Resources.TokenLogGroup!.Properties.LogGroupName, '/aws/lambda/rackspace-token-vendor-dev-token');
  });
});

describe("The packaged templates against AWS's CloudFormation resource specification", () => {
  it('has only known resource types, with known properties of the right kind, every required one present', () => {
    assert.ok(spec.resources.size > 1000, `the specification (@aws-cdk/aws-service-spec ${spec.version}) loaded`);
    assert.deepEqual(specProblems(spec, template), []);
    assert.deepEqual(specProblems(spec, tuned), []);
  });

  it('would report an unknown type, an unknown or missing property, a wrongly typed value and a GetAtt of no attribute', () => {
    const broken = structuredClone(template);
    broken.Resources.ApiGatewayStage!.Properties.MethodSettings[0].Throttle = 1;
    broken.Resources.ApiGatewayStage!.Properties.MethodSettings[0].ThrottlingBurstLimit = 'lots';
    delete broken.Resources.ApiGatewayMethodTokenGet!.Properties.HttpMethod;
    broken.Resources.Extra = { Type: 'AWS::ApiGateway::Nothing', Properties: {} };
    broken.Resources.ApiGatewayStage!.Properties.RestApiId = { 'Fn::GetAtt': ['ApiGatewayRestApi', 'NoSuchAttribute'] };
    assert.deepEqual(specProblems(spec, broken).sort(), [
      'ApiGatewayMethodTokenGet.Properties: required property HttpMethod is missing',
      'ApiGatewayStage.Properties.MethodSettings[0].ThrottlingBurstLimit: expected an integer, got "lots"',
      'ApiGatewayStage.Properties.MethodSettings[0]: MethodSetting has no property Throttle',
      'Extra: unknown resource type AWS::ApiGateway::Nothing',
      'Resources.ApiGatewayStage.Properties.RestApiId: AWS::ApiGateway::RestApi has no attribute NoSuchAttribute',
    ]);
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

describe('Key rotation in the packaged template (infra/rotation.cjs, from rotateEveryDays)', () => {
  const declaration = JSON.parse(readFileSync('infra/profiles.json', 'utf8')) as { profiles: { secretId: string; rotateEveryDays?: number }[] };
  const rotating = declaration.profiles.filter((p) => p.rotateEveryDays !== undefined);
  const rotateRole = () => template.Resources.RotateRole!.Properties.Policies[0].PolicyDocument.Statement as { Sid: string; Action: string[]; Resource: unknown[]; Condition?: unknown }[];

  it('attaches a rotation schedule to each secret whose profile says rotateEveryDays, invoking the rotate function, never at deploy time', () => {
    assert.ok(rotating.length > 0, 'the shipped declaration shows rotation');
    const schedules = ofType('AWS::SecretsManager::RotationSchedule').map((r) => [r.Properties.SecretId, r.Properties.RotationRules.AutomaticallyAfterDays, r.Properties.RotateImmediatelyOnUpdate]);
    assert.deepEqual(schedules, rotating.map((p) => [p.secretId, p.rotateEveryDays, false]));
    for (const schedule of ofType('AWS::SecretsManager::RotationSchedule')) assert.deepEqual(schedule.Properties.RotationLambdaARN, { 'Fn::GetAtt': ['RotateLambdaFunction', 'Arn'] });
    assert.equal(template.Resources.RotateLambdaFunction?.Properties.Handler, 'functions/rotate/handler.handler');
  });

  it('lets Secrets Manager of this account only invoke the rotate function (SourceAccount), before any schedule exists', () => {
    const permissions = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Permission' && r.Properties.Principal === 'secretsmanager.amazonaws.com');
    assert.equal(permissions.length, 1);
    const [id, permission] = permissions[0]!;
    assert.deepEqual(permission.Properties, { FunctionName: { 'Fn::GetAtt': ['RotateLambdaFunction', 'Arn'] }, Action: 'lambda:InvokeFunction', Principal: 'secretsmanager.amazonaws.com', SourceAccount: { Ref: 'AWS::AccountId' } });
    for (const schedule of ofType('AWS::SecretsManager::RotationSchedule')) assert.deepEqual(schedule.DependsOn, [id]);
  });

  it('runs the rotate function under its own role: the four calls on exactly the rotating secrets, their key via Secrets Manager, its own log group', () => {
    assert.deepEqual(template.Resources.RotateLambdaFunction?.Properties.Role, { 'Fn::GetAtt': ['RotateRole', 'Arn'] });
    const statements = rotateRole();
    assert.deepEqual(statements.map((s) => s.Sid), ['WriteOwnLogGroup', 'RotateDeclaredSecrets', 'UseSecretsKeyThroughSecretsManager']);
    const [logs, secrets, key] = statements;
    assert.deepEqual([logs!.Action, logs!.Resource], [['logs:CreateLogStream', 'logs:PutLogEvents'], [{ 'Fn::GetAtt': ['RotateLogGroup', 'Arn'] }]]);
    assert.deepEqual(secrets!.Action, ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage']);
    assert.deepEqual(secrets!.Resource, secretArnsFrom({ profiles: rotating.map((p, i) => ({ name: `p${i}`, secretId: p.secretId })) }));
    assert.deepEqual([key!.Action, key!.Resource], [['kms:Decrypt', 'kms:GenerateDataKey'], [{ 'Fn::GetAtt': ['SecretsKey', 'Arn'] }]]);
    assert.deepEqual(key!.Condition, { StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' } } });
    assert.ok(!JSON.stringify(statements).includes('*"'), 'no wildcard action or resource');
    const tokenRole = JSON.stringify(template.Resources.IamRoleLambdaExecution);
    assert.ok(!/PutSecretValue|UpdateSecretVersionStage|RotateLogGroup/.test(tokenRole), 'the vending function gains nothing');
  });

  it('generates from the declaration: a schedule per rotating secret, none and no secret access when nothing rotates; refuses bad days and two schedules for one secret', () => {
    const profile = (name: string, secretId: string, rotateEveryDays?: unknown) => ({ name, secretId, allow: ['arn:aws:iam::123456789012:role/app'], ...(rotateEveryDays !== undefined && { rotateEveryDays }) });
    const generated = rotationResources({ profiles: [profile('billing-eu', 'team/billing', 7), profile('billing-us', 'team/billing', 7), profile('storage', 'team/storage')] }).Resources;
    const schedules = Object.entries(generated).filter(([, r]) => r.Type === 'AWS::SecretsManager::RotationSchedule').map(([id, r]) => [id, r.Properties.SecretId]);
    assert.deepEqual(schedules, [['RotationScheduleBillingEu', 'team/billing']]);
    const none = rotationResources({ profiles: [profile('storage', 'team/storage')] }).Resources;
    assert.deepEqual(Object.values(none).filter((r) => r.Type === 'AWS::SecretsManager::RotationSchedule'), []);
    assert.deepEqual(none.RotateRole!.Properties.Policies[0].PolicyDocument.Statement.map((s: { Sid: string }) => s.Sid), ['WriteOwnLogGroup']);
    for (const days of [0, 1001, 1.5, '30']) assert.throws(() => rotationResources({ profiles: [profile('p', 's', days)] }), /rotateEveryDays must be a whole number from 1 to 1000/);
    assert.throws(() => rotationResources({ profiles: [profile('a', 'team/x', 7), profile('b', 'team/x', 30)] }), /one secret has one schedule/);
    assert.throws(() => loadProfiles({ profiles: [profile('p', 's', 0)] }), /rotateEveryDays: must be at least 1 day/);
  });
});

// The shared tier (infra/fleet.cjs): its table and least-privilege grants, and their absence when off.
const declared = (JSON.parse(readFileSync('infra/profiles.json', 'utf8')) as { profiles: Array<{ name: string }> }).profiles.map((p) => p.name);
const ofTypeIn = (t: Template, type: string) => Object.values(t.Resources).filter((r) => r.Type === type);
const env = (t: Template) => ofTypeIn(t, 'AWS::Lambda::Function')[0]?.Properties.Environment.Variables;
/** Every IAM statement in the template, inline role policies and standalone policies alike. */
const statements = (t: Template) => [
  ...ofTypeIn(t, 'AWS::IAM::Role').flatMap((r) => (r.Properties.Policies ?? []).flatMap((p: any) => p.PolicyDocument.Statement)),
  ...ofTypeIn(t, 'AWS::IAM::Policy').flatMap((p) => p.Properties.PolicyDocument.Statement),
];
const granting = (t: Template, action: RegExp) => statements(t).filter((s) => [s.Action].flat().some((a: string) => action.test(a)));

describe('The packaged template: shared tier on (the default)', () => {
  let on: Template;
  before(() => void (on = template));
  it('has an on-demand table keyed by profile, with a TTL, and hands its name and the stack key to the function', () => {
    const [table] = ofTypeIn(on, 'AWS::DynamoDB::Table');
    assert.deepEqual(
      [table?.Properties.BillingMode, table?.Properties.KeySchema, table?.Properties.TimeToLiveSpecification],
      ['PAY_PER_REQUEST', [{ AttributeName: 'profile', KeyType: 'HASH' }], { AttributeName: 'expiresTtl', Enabled: true }],
    );
    assert.deepEqual([env(on).FLEET_TABLE, env(on).FLEET_KEY_ID, env(on).STAGE], [{ Ref: 'TokensTable' }, { 'Fn::GetAtt': ['SecretsKey', 'Arn'] }, 'dev']);
  });

  it('lets the function GetItem/UpdateItem only its table, only items of declared profiles, and nothing else in DynamoDB', () => {
    const grants = granting(on, /^dynamodb:/);
    assert.equal(grants.length, 1);
    const [grant] = grants;
    assert.deepEqual([grant.Action, grant.Resource], [['dynamodb:GetItem', 'dynamodb:UpdateItem'], { 'Fn::GetAtt': ['TokensTable', 'Arn'] }]);
    assert.deepEqual(grant.Condition, { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': declared } });
  });

  it('lets the function generate and use data keys only under the stack key and only with its own encryption context', () => {
    const grants = granting(on, /^kms:(GenerateDataKey|Decrypt)/).filter((s) => !s.Condition?.StringEquals?.['kms:ViaService']);
    assert.equal(grants.length, 1, 'one direct KMS grant; the other Decrypt is only via Secrets Manager');
    const [grant] = grants;
    assert.deepEqual([grant.Action, grant.Resource], [['kms:GenerateDataKey', 'kms:Decrypt'], { 'Fn::GetAtt': ['SecretsKey', 'Arn'] }]);
    // The condition names exactly the context the code sends, for every declared profile.
    for (const profile of declared) {
      for (const [key, value] of Object.entries(recordContext('dev', profile))) {
        assert.ok([grant.Condition.StringEquals[`kms:EncryptionContext:${key}`]].flat().includes(value), `${key}=${value}`);
      }
    }
    assert.deepEqual(grant.Condition['ForAllValues:StringEquals'], { 'kms:EncryptionContextKeys': Object.keys(recordContext('dev', 'x')).sort() });
    assert.ok(!JSON.stringify(statements(on)).includes('"kms:*"') && !JSON.stringify(statements(on)).includes('"dynamodb:*"'));
  });

  it('lets the function role, and only it, use the stack key directly in the key policy, with the same encryption context', () => {
    const statements = on.Resources.SecretsKey!.Properties.KeyPolicy.Statement as any[];
    const shared = statements.filter((s) => s['Fn::If']).map((s) => s['Fn::If']);
    assert.equal(shared.length, 1);
    const [[condition, statement, otherwise]] = shared as [[string, any, unknown]];
    assert.deepEqual([condition, (on as any).Conditions[condition], otherwise], ['SharedTierOn', { 'Fn::Equals': ['on', 'on'] }, { Ref: 'AWS::NoValue' }]);
    assert.deepEqual(statement.Action, ['kms:GenerateDataKey', 'kms:Decrypt']);
    const role = on.Resources.IamRoleLambdaExecution!.Properties.RoleName['Fn::Join'][1].map((part: unknown) => (typeof part === 'string' ? part : '${AWS::Region}')).join('-');
    assert.deepEqual(statement.Condition.ArnEquals, { 'aws:PrincipalArn': { 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${role}` } });
    const grant = granting(on, /^kms:GenerateDataKey/).find((s) => !s.Condition?.StringEquals?.['kms:ViaService']);
    assert.deepEqual([statement.Condition.StringEquals, statement.Condition['ForAllValues:StringEquals']], [grant.Condition.StringEquals, grant.Condition['ForAllValues:StringEquals']]);
  });

  it('alarms when instances fall back because the table or KMS failed, on the metric the audit line carries', () => {
    const alarm = ofTypeIn(on, 'AWS::CloudWatch::Alarm').find((a) => a.Properties.MetricName === 'SharedTierFallback');
    assert.deepEqual([alarm?.Properties.Threshold, alarm?.Properties.Namespace, alarm?.Properties.Dimensions], [1, 'RackspaceTokenVendor', [{ Name: 'Stage', Value: 'dev' }]]);
    assert.ok('SharedTierFallback' in everyMetricEmitted());
  });
});

describe('The packaged template: --param=sharedTier=off', () => {
  let off: Template;
  // Packaged here, after the file's other packaging: two at once would share .serverless/.
  before(async () => {
    off = await packageTemplate(tempDir(), ['--param=sharedTier=off']);
  });
  it('has no table, no DynamoDB grant, no data-key grant, no fallback alarm, and an empty FLEET_TABLE', () => {
    assert.deepEqual(ofTypeIn(off, 'AWS::DynamoDB::Table'), []);
    assert.deepEqual(granting(off, /^dynamodb:|^kms:GenerateDataKey/).filter((s) => !s.Condition?.StringEquals?.['kms:ViaService']), [], 'none but through Secrets Manager (the rotate function)');
    assert.ok(granting(off, /^kms:Decrypt$/).every((s) => s.Condition?.StringEquals?.['kms:ViaService']), 'Decrypt only via Secrets Manager');
    assert.ok(!ofTypeIn(off, 'AWS::CloudWatch::Alarm').some((a) => a.Properties.MetricName === 'SharedTierFallback'));
    assert.deepEqual([env(off).FLEET_TABLE, env(off).FLEET_KEY_ID], ['', '']);
    assert.deepEqual((off as any).Conditions.SharedTierOn, { 'Fn::Equals': ['off', 'on'] }, 'the key policy statement is dropped');
  });

  it('refuses any other value before anything reaches AWS', async () => {
    await assert.rejects(packageTemplate(tempDir(), ['--param=sharedTier=maybe']), (error: { stdout: string; stderr: string }) => /sharedTier=… must be on or off, got 'maybe'/.test(error.stdout + error.stderr));
  });
});
