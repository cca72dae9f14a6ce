import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadProfiles } from '../../functions/core/profiles.ts';
import { loadCfnSpec, specProblems, type CfnSpec } from '../support/cfn-spec.ts';
import { apiArn, evaluate, simulate, type Policy } from '../support/resource-policy.ts';
import { RegoEngine, TemplateFile } from '@aws/cloudformation-validate';
import { emptyFacts } from '../../functions/token/audit.ts';
import { metricValues } from '../../functions/token/metrics.ts';
import { recordContext } from '../../functions/core/token-record.ts';

const run = promisify(execFile);
const { secretArnsFrom } = createRequire(import.meta.url)('../../infra/secret-arns.cjs') as { secretArnsFrom: (declaration: unknown) => unknown[] };
const { healStatements } = createRequire(import.meta.url)('../../infra/heal.cjs') as { healStatements: (declaration: unknown) => unknown[] };
const { rotationResources } = createRequire(import.meta.url)('../../infra/rotation.cjs') as { rotationResources: (declaration: unknown) => { Resources: Record<string, { Type: string; Properties: Record<string, any> }> } };

/** The packaged template's file, for AWS's validator (which reads files). */
const templateFiles = new Map<object, string>();
/** `serverless package` as `npm run package` runs it, into a temp dir, with no AWS credentials at all. */
async function packageTemplate(dir: string, params: string[] = []) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_') || key === 'AWS_CA_BUNDLE'));
  await run(process.execPath, ['node_modules/serverless/bin/serverless.js', 'package', '--package', dir, ...params], { env: { ...env, HOME: dir } });
  const file = join(dir, 'cloudformation-template-update-stack.json');
  const template = JSON.parse(readFileSync(file, 'utf8')) as {
    Resources: Record<string, { Type: string; Properties: Record<string, any>; DependsOn?: string[]; DeletionPolicy?: string; UpdateReplacePolicy?: string; Condition?: string }>;
    Outputs?: Record<string, unknown>;
  };
  templateFiles.set(template, file);
  return template;
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
// Every bounded parameter at its highest value, and the stack setting the account's API Gateway role.
const HIGHEST = ['--param=reservedConcurrency=100', '--param=identityBudgetMs=25000', '--param=logRetentionInDays=3653', '--param=logLevel=TRACE', '--param=throttlingRateLimit=10000', '--param=throttlingBurstLimit=5000', '--param=apiGatewayLogRole=create'];
// A re-created stage (it adopts the key, secrets and log groups the removed one kept), with its own
// declaration (infra/profiles.<stage>.json): no rotation, one secret named by ARN, one by name.
const KEPT_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const OWN_STAGE = `own${process.pid}`;
const OWN_DECLARATION = {
  profiles: [
    { name: 'stage-own', secretId: 'rtv-own/stage-own', allow: ['arn:aws:iam::123456789012:role/own-consumer'] },
    { name: 'elsewhere', secretId: 'arn:aws:secretsmanager:us-east-1:210987654321:secret:team/rackspace-AbC123', allow: ['arn:aws:iam::210987654321:role/other-consumer'] },
  ],
};
const OFF = ['--stage', OWN_STAGE, '--param=sharedTier=off', `--param=keptKeyArn=${KEPT_KEY}`];
let template: Template;
let tuned: Template;
let tunedDir: string;
let high: Template;
let highDir: string;
let off: Template;
let offDir: string;
let spec: CfnSpec;
before(async () => {
  writeFileSync(`infra/profiles.${OWN_STAGE}.json`, JSON.stringify(OWN_DECLARATION));
  // One after the other: serverless-esbuild builds in a shared .esbuild/ directory.
  template = await packageTemplate(tempDir());
  tunedDir = tempDir();
  tuned = await packageTemplate(tunedDir, TUNED);
  highDir = tempDir();
  high = await packageTemplate(highDir, HIGHEST);
  offDir = tempDir();
  off = await packageTemplate(offDir, OFF);
  spec = loadCfnSpec();
});
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  rmSync(`infra/profiles.${OWN_STAGE}.json`, { force: true });
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

  it('keeps the function log group and the API access log group for the configured retention, and alarms on 5xx, Identity failures, degraded answers, refused keys, overprivileged users, healed keys and concurrency', () => {
    const logs = (from: Template) => ofType('AWS::Logs::LogGroup', from).map((l) => [l.Properties.LogGroupName, l.Properties.RetentionInDays]).sort();
    // Kept when the stack is removed or a group replaced, as the key is: the audit trail outlives the stack.
    for (const group of [...ofType('AWS::Logs::LogGroup'), ...ofType('AWS::Logs::LogGroup', tuned), ...ofType('AWS::Logs::LogGroup', high)]) {
      assert.deepEqual([group.DeletionPolicy, group.UpdateReplacePolicy], ['Retain', 'Retain'], group.Properties.LogGroupName);
    }
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
      ['RackspaceTokenVendor/KeyHealed', 1, '[{"Name":"Stage","Value":"dev"}]'],
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
    const beyond = ['--param=reservedConcurrency=101', '--param=identityBudgetMs=25001', '--param=logRetentionInDays=3654', '--param=logLevel=LOUD'];
    // The refused one stops while resolving variables, before any build.
    const refused = await packageTemplate(tempDir(), beyond).then(() => null, (reason: { stdout: string; stderr: string }) => reason);
    for (const [dir, packaged, expected] of [[tunedDir, tuned, [1, 100, 3, 1, 'SILENT', 1, 1]], [highDir, high, [100, 25_000, 27, 3653, 'TRACE', 10_000, 5_000]]] as const) {
      const fn = packaged.Resources.TokenLambdaFunction!.Properties;
      const retention = ofType('AWS::Logs::LogGroup', packaged).find((l) => l.Properties.LogGroupName === '/aws/lambda/rackspace-token-vendor-dev-token')?.Properties.RetentionInDays;
      const throttle = the('AWS::ApiGateway::Stage', packaged).Properties.MethodSettings[0];
      const env = fn.Environment.Variables as Record<string, string>;
      assert.deepEqual([fn.ReservedConcurrentExecutions, Number(env.IDENTITY_BUDGET_MS), fn.Timeout, retention, env.POWERTOOLS_LOG_LEVEL, throttle.ThrottlingRateLimit, throttle.ThrottlingBurstLimit], expected);
      assert.equal(await startPackaged(dir, env), 403, `the function packaged with ${expected.join(', ')} starts and answers`);
    }
    assert.ok(refused, 'out-of-range values are refused');
    const output = `${refused.stdout}${refused.stderr}`;
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

  it("leaves the account's API Gateway CloudWatch role alone by default; with apiGatewayLogRole=create sets it with a retained role", () => {
    assert.deepEqual([ofType('AWS::ApiGateway::Account'), template.Resources.ApiGatewayLogRole, template.Resources.ApiGatewayStage!.DependsOn], [[], undefined, undefined], 'no account-wide change unasked');
    const role = high.Resources.ApiGatewayLogRole!;
    assert.deepEqual([role.DeletionPolicy, role.UpdateReplacePolicy], ['Retain', 'Retain']);
    assert.deepEqual(role.Properties.AssumeRolePolicyDocument.Statement[0].Principal, { Service: ['apigateway.amazonaws.com'] });
    assert.deepEqual(the('AWS::ApiGateway::Account', high).Properties.CloudWatchRoleArn, { 'Fn::GetAtt': ['ApiGatewayLogRole', 'Arn'] });
    assert.deepEqual(high.Resources.ApiGatewayStage!.DependsOn, ['ApiGatewayAccount'], 'the account role is set before the stage logs');
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

  it('lets in exactly the accounts and roles infra/profiles.json allows, on the token route only', async () => {
    const allow = policy(template).Statement.filter((s) => s.Effect === 'Allow');
    assert.equal(allow.length, 1);
    assert.deepEqual(allow[0]!.Principal, { AWS: [...new Set(patterns.map((p) => `arn:${p.partition}:iam::${p.account}:root`))].sort() });
    assert.deepEqual([allow[0]!.Action, allow[0]!.Resource], ['execute-api:Invoke', 'execute-api:/dev/GET/v1/profiles/*/token']);
    for (const role of declaredRoles) assert.equal(await evaluate(policy(template), { principalArn: role, resource: route }), 'allow', role);
    const [first] = patterns;
    const strangers = [`arn:aws:iam::${first!.account}:role/admin`, `arn:aws:iam::210987654321:role/${first!.source.split('/').pop()}`, `arn:aws:iam::${first!.account}:user/alice`];
    for (const stranger of strangers) assert.equal(await evaluate(policy(template), { principalArn: stranger, resource: route }), 'deny', stranger);
    assert.equal(await evaluate(policy(template), { principalArn: declaredRoles[0]!, resource: 'execute-api:/dev/GET/v1/other' }), 'implicit-deny');
  });

  it('with orgId and PRIVATE, also requires the organisation and one of the VPC endpoints', async () => {
    const conditions = policy(tuned).Statement.filter((s) => s.Effect === 'Deny').map((s) => s.Condition);
    assert.deepEqual(conditions.slice(1), [
      { StringNotEquals: { 'aws:PrincipalOrgID': 'o-abcd123456' } },
      { StringNotEquals: { 'aws:SourceVpce': ['vpce-0a1b2c3d4e5f60718', 'vpce-11112222333344445'] } },
    ]);
    assert.deepEqual(the('AWS::ApiGateway::RestApi', tuned).Properties.EndpointConfiguration, { Types: ['PRIVATE'], VpcEndpointIds: ['vpce-0a1b2c3d4e5f60718', 'vpce-11112222333344445'] });
    assert.deepEqual(the('AWS::ApiGateway::RestApi').Properties.EndpointConfiguration, { Types: ['REGIONAL'] });
    const role = declaredRoles[0]!;
    const inside = { principalArn: role, resource: route, orgId: 'o-abcd123456', sourceVpce: 'vpce-11112222333344445' };
    assert.equal(await evaluate(policy(tuned), inside), 'allow');
    assert.equal(await evaluate(policy(tuned), { ...inside, orgId: 'o-zzzz999999' }), 'deny');
    assert.equal(await evaluate(policy(tuned), { ...inside, orgId: undefined }), 'deny');
    assert.equal(await evaluate(policy(tuned), { ...inside, sourceVpce: 'vpce-99998888777766665' }), 'deny');
    assert.equal(await evaluate(policy(template), { principalArn: role, resource: route }), 'allow', 'REGIONAL without orgId: no such conditions');
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
    // Each schedule refers to the stack's own secret resource (so CloudFormation creates the secret first).
    const schedules = ofType('AWS::SecretsManager::RotationSchedule').map((r) => [template.Resources[r.Properties.SecretId.Ref]?.Properties.Name, r.Properties.RotationRules.AutomaticallyAfterDays, r.Properties.RotateImmediatelyOnUpdate]);
    assert.deepEqual(schedules, rotating.map((p) => [p.secretId, p.rotateEveryDays, false]));
    for (const schedule of ofType('AWS::SecretsManager::RotationSchedule')) assert.equal(template.Resources[schedule.Properties.SecretId.Ref]?.Type, 'AWS::SecretsManager::Secret');
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
    assert.ok(!/PutSecretValue|UpdateSecretVersionStage|RotateLogGroup/.test(tokenRole), 'the vending function gains nothing of the rotate role (its heal rights are HealPolicy)');
  });

  it("gives the vending function's role the heal's writes as a policy of its own, generated from the declaration (infra/heal.cjs)", () => {
    const policy = template.Resources.HealPolicy;
    assert.equal(policy?.Type, 'AWS::IAM::Policy');
    assert.deepEqual(policy?.Properties.Roles, [{ Ref: 'IamRoleLambdaExecution' }]);
    assert.deepEqual(policy?.Properties.PolicyDocument.Statement, healStatements(JSON.parse(readFileSync('infra/profiles.json', 'utf8'))));
    const writes = granting(template, /^secretsmanager:(PutSecretValue|UpdateSecretVersionStage|RotateSecret)$/).map((s) => s.Sid).sort();
    assert.deepEqual(writes, ['HealDeclaredSecrets', 'MoveCurrentOfDeclaredSecrets', 'RotateDeclaredSecrets', 'RotateRotatingSecretsAsConfigured'], 'no other statement writes a secret');
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
  it('has no table, no DynamoDB grant, no data-key grant, no fallback alarm, and an empty FLEET_TABLE', () => {
    assert.deepEqual(ofTypeIn(off, 'AWS::DynamoDB::Table'), []);
    assert.deepEqual(granting(off, /^dynamodb:|^kms:GenerateDataKey/).filter((s) => !s.Condition?.StringEquals?.['kms:ViaService']), [], 'none but through Secrets Manager (the rotate function)');
    assert.ok(granting(off, /^kms:Decrypt$/).every((s) => s.Condition?.StringEquals?.['kms:ViaService']), 'Decrypt only via Secrets Manager');
    assert.ok(!ofTypeIn(off, 'AWS::CloudWatch::Alarm').some((a) => a.Properties.MetricName === 'SharedTierFallback'));
    assert.deepEqual([env(off).FLEET_TABLE, env(off).FLEET_KEY_ID], ['', '']);
    assert.deepEqual((off as any).Conditions.SharedTierOn, { 'Fn::Equals': ['off', 'on'] }, 'the key policy statement is dropped');
  });

  it('refuses any other value before anything reaches AWS', async () => {
    await assert.rejects(packageTemplate(tempDir(), ['--param=sharedTier=maybe']), (error: { stdout: string; stderr: string }) => /sharedTier=… must be one of on, off, got 'maybe'/.test(error.stdout + error.stderr));
  });
});

const { custodyResources } = createRequire(import.meta.url)('../../infra/custody.cjs') as { custodyResources: (declaration: unknown, options: { stage: string; kept: boolean }) => { Resources: Record<string, { Type: string; Properties: Record<string, any> }> } };

/** Every Ref and Fn::GetAtt in a template that names no resource, parameter or pseudo parameter of it. */
function danglingReferences(t: Template): string[] {
  const found: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const ref = (node as { Ref?: unknown }).Ref;
    if (typeof ref === 'string' && !ref.startsWith('AWS::') && !(ref in t.Resources)) found.push(`Ref ${ref}`);
    const getAtt = (node as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'];
    if (Array.isArray(getAtt) && !(getAtt[0] in t.Resources)) found.push(`GetAtt ${getAtt[0]}`);
    for (const [key, value] of Object.entries(node)) if (key !== 'Fn::Sub') walk(value);
    const sub = (node as { 'Fn::Sub'?: unknown })['Fn::Sub'];
    const text = typeof sub === 'string' ? sub : Array.isArray(sub) ? sub[0] : '';
    for (const [, name] of String(text).matchAll(/\$\{([A-Za-z0-9]+)(?:\.\w+)?\}/g)) if (!(name! in t.Resources)) found.push(`Sub ${name}`);
  };
  walk(t.Resources);
  walk(t.Outputs ?? {});
  return found;
}
/** The standalone IAM policies granting the token function's role something that the function does not wait for. */
const unawaitedPolicies = (t: Template) =>
  Object.entries(t.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes('"IamRoleLambdaExecution"'))
    .map(([id]) => id)
    .filter((id) => ![t.Resources.TokenLambdaFunction!.DependsOn ?? []].flat().includes(id));

describe('The stack creates and keeps what a first deploy needs', () => {
  const declaration = JSON.parse(readFileSync('infra/profiles.json', 'utf8')) as { profiles: { name: string; secretId: string }[] };
  const named = [...new Set(declaration.profiles.map((p) => p.secretId).filter((id) => !id.startsWith('arn:')))].sort();

  it('creates each declared secret named by name, empty, under the stack key, kept on delete and replace, readable by the grants', () => {
    const secrets = ofType('AWS::SecretsManager::Secret');
    assert.deepEqual(secrets.map((s) => s.Properties.Name).sort(), named);
    const readable = statement('ReadDeclaredSecrets').Resource.map((r: string | { 'Fn::Sub': string }) => (typeof r === 'string' ? r : r['Fn::Sub']));
    for (const secret of secrets) {
      assert.deepEqual([secret.DeletionPolicy, secret.UpdateReplacePolicy], ['Retain', 'Retain']);
      assert.deepEqual(secret.Properties.KmsKeyId, { 'Fn::GetAtt': ['SecretsKey', 'Arn'] });
      assert.ok(!('SecretString' in secret.Properties) && !('GenerateSecretString' in secret.Properties), 'created empty: a stack update never overwrites the key put later');
      assert.ok(readable.includes(`arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${secret.Properties.Name}-??????`), 'the function may read it');
    }
  });

  it('creates no secret that a profile names by ARN (it is managed elsewhere), and one per secret shared by profiles', () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:team/rackspace-AbC123';
    const allow = ['arn:aws:iam::123456789012:role/app'];
    const created = custodyResources({ profiles: [{ name: 'a', secretId: arn, allow }, { name: 'b', secretId: 'team/b', allow }, { name: 'c', secretId: 'team/b', allow }] }, { stage: 'dev', kept: false }).Resources;
    assert.deepEqual(Object.entries(created).map(([id, r]) => [id, r.Properties.Name]), [['SecretB', 'team/b']]);
    assert.match(created.SecretB!.Properties.Description, /profile\(s\) b, c\. Created empty: put the value with rackspace-token admin put-key b$/);
  });

  it('makes the token function wait for every policy granting its role (the shared tier grant too)', () => {
    assert.ok(template.Resources.SharedTierPolicy, 'the shared tier has a policy of its own');
    assert.deepEqual(unawaitedPolicies(template), []);
    assert.ok(template.Resources.TokenLambdaFunction!.DependsOn!.includes('SharedTierPolicy'));
    assert.ok(!(off.Resources.TokenLambdaFunction!.DependsOn ?? []).includes('SharedTierPolicy'), 'no such policy when the shared tier is off');
  });

  it('blocks public access to the deployment bucket in the template itself', () => {
    const create = JSON.parse(readFileSync(join(templateFiles.get(template)!, '..', 'cloudformation-template-create-stack.json'), 'utf8')) as Template;
    for (const t of [template, create]) {
      assert.deepEqual(t.Resources.ServerlessDeploymentBucket!.Properties.PublicAccessBlockConfiguration, { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    }
  });

  it('leaves no reference to a resource it does not create, in any variant', () => {
    for (const t of [template, tuned, high, off]) assert.deepEqual(danglingReferences(t), []);
  });
});

describe('Re-creating a removed stage (--param=keptKeyArn) with its own declaration (infra/profiles.<stage>.json)', () => {
  it('creates no key, no secret and no log group, and uses the kept ones: the key by its ARN, the groups by theirs', () => {
    assert.deepEqual([ofTypeIn(off, 'AWS::KMS::Key'), ofTypeIn(off, 'AWS::SecretsManager::Secret'), ofTypeIn(off, 'AWS::Logs::LogGroup')], [[], [], []]);
    assert.equal(ofTypeIn(off, 'AWS::KMS::Alias')[0]?.Properties.TargetKeyId, KEPT_KEY);
    const role = off.Resources.IamRoleLambdaExecution!.Properties.Policies[0].PolicyDocument.Statement as { Sid: string; Resource: unknown }[];
    assert.deepEqual(role.find((s) => s.Sid === 'DecryptSecretsThroughSecretsManager')?.Resource, [KEPT_KEY]);
    const group = (name: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${name}:*` });
    assert.deepEqual(role.find((s) => s.Sid === 'WriteOwnLogGroups')?.Resource, [group(`/aws/lambda/rackspace-token-vendor-${OWN_STAGE}-token`)]);
    assert.deepEqual(off.Resources.ApiGatewayStage!.Properties.AccessLogSetting.DestinationArn, group(`/aws/api-gateway/rackspace-token-vendor-${OWN_STAGE}-access`));
    const rotate = off.Resources.RotateRole!.Properties.Policies[0].PolicyDocument.Statement as { Sid: string; Resource: unknown }[];
    assert.deepEqual(rotate.find((s) => s.Sid === 'WriteOwnLogGroup')?.Resource, [group(`/aws/lambda/rackspace-token-vendor-${OWN_STAGE}-rotate`)]);
  });

  it("generates the stage's template from its own declaration and ships that declaration in its bundle", async () => {
    assert.deepEqual(ofTypeIn(off, 'AWS::SecretsManager::RotationSchedule'), [], 'no profile of this stage rotates');
    const role = off.Resources.IamRoleLambdaExecution!.Properties.Policies[0].PolicyDocument.Statement as { Sid: string; Resource: unknown }[];
    assert.deepEqual(role.find((s) => s.Sid === 'ReadDeclaredSecrets')?.Resource, [
      { 'Fn::Sub': 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:rtv-own/stage-own-??????' },
      OWN_DECLARATION.profiles[1]!.secretId,
    ]);
    await run('unzip', ['-q', '-o', join(offDir, 'token.zip'), '-d', join(offDir, 'token')]);
    const bundle = readFileSync(join(offDir, 'token', 'functions', 'token', 'handler.mjs'), 'utf8');
    assert.ok(bundle.includes('rtv-own/stage-own') && !bundle.includes('rackspace-token-vendor/example'), "the stage's declaration, not infra/profiles.json");
    const outputs = (off as { Outputs: Record<string, { Value: unknown }> }).Outputs;
    assert.deepEqual(Object.keys(JSON.parse(String(outputs.ProfileSecrets?.Value))), ['stage-own', 'elsewhere'], "the operators' CLI finds this stage's profiles");
  });
});

describe('Granting a caller: every caller needs an execute-api:Invoke statement of its own (IAM simulator)', () => {
  // The resource policy's Allow names accounts (:root), which delegates to each account's IAM: it
  // does not grant a role anything by itself, in the API's own account or another.
  const apiAccount = '123456789012';
  const policy = () => the('AWS::ApiGateway::RestApi', off).Properties.Policy as Policy;
  const route = `execute-api:/${OWN_STAGE}/GET/v1/profiles/stage-own/token`;
  // The statement a caller team adds (the API's id from the stack output RestApiId). The simulator
  // we use does not match a * standing for the API id, so the statement names it, as docs/deploy.md does.
  const invoke = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: apiArn(`execute-api:/${OWN_STAGE}/GET/v1/profiles/*/token`, apiAccount) }] };
  const callers = [
    ['in the API\'s own account', 'arn:aws:iam::123456789012:role/own-consumer'],
    ['in another account', 'arn:aws:iam::210987654321:role/other-consumer'],
  ] as const;

  for (const [where, principalArn] of callers) {
    it(`refuses an allowed role ${where} that has no statement of its own, and lets it in with one`, async () => {
      assert.equal(await simulate(policy(), { principalArn, resource: route }, { identityPolicy: null, apiAccount }), 'implicit-deny');
      assert.equal(await simulate(policy(), { principalArn, resource: route }, { identityPolicy: invoke, apiAccount }), 'allow');
    });
  }

  it('refuses a role no profile allows even when its own policy allows everything', async () => {
    const everything = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
    assert.equal(await simulate(policy(), { principalArn: 'arn:aws:iam::123456789012:role/admin', resource: route }, { identityPolicy: everything, apiAccount }), 'deny');
  });
});

// AWS's offline validator (@aws/cloudformation-validate: the rules cfn-lint and `cdk synth` run) over
// every packaged variant: no error, and every warning one of these, each with its reason.
const EXPLAINED_WARNINGS: Array<{ ruleId: string; logicalId: RegExp; reason: string }> = [
  { ruleId: 'W3005', logicalId: /^RotateLambdaFunction$/, reason: 'osls adds DependsOn on a function\'s own role (RotateRole) though Role already references it; redundant, harmless' },
  { ruleId: 'W3011', logicalId: /^(Token|Rotate)LambdaVersion/, reason: 'osls keeps old Lambda versions on delete (DeletionPolicy Retain) for rollback; a version is never replaced in place (each has its own logical id), so UpdateReplacePolicy would change nothing' },
  { ruleId: 'W8003', logicalId: /^(HasAlarmTopic|SharedTierOn)$/, reason: 'osls substitutes --param values at package time, so these conditions are constant in each packaged template; kept as conditions so every variant has the same shape' },
  { ruleId: 'W8001', logicalId: /^SharedTierOn$/, reason: 'with --param=keptKeyArn the key, whose policy is the one user of this condition, is not in the template; the condition stays so every variant has the same Conditions' },
  { ruleId: 'W9013', logicalId: /^SecretsKeyAlias$/, reason: 'with --param=keptKeyArn the alias targets the kept key by the ARN the operator gave, account id included: that key is not a resource of the stack' },
];

describe("AWS's CloudFormation validator over every packaged variant", () => {
  const variants = () => ({ default: template, 'PRIVATE, orgId, lowest values': tuned, 'highest values, apiGatewayLogRole=create': high, 'sharedTier=off, keptKeyArn, own declaration': off });
  it('finds no error and no warning left unexplained in any of them', () => {
    const engine = new RegoEngine();
    try {
      for (const [name, t] of Object.entries(variants())) {
        const report = engine.validateStandard(new TemplateFile(templateFiles.get(t)!), { severityLevel: 'WARN' });
        assert.equal(report.status, 'OK', `${name}: the validator finished`);
        const unexplained = report.diagnostics
          .filter((d) => !EXPLAINED_WARNINGS.some((w) => d.severity === 'WARN' && w.ruleId === d.ruleId && w.logicalId.test(d.entity?.logicalId ?? '')))
          .map((d) => `${d.severity} ${d.ruleId} ${d.entity?.logicalId}: ${d.message}`);
        assert.deepEqual(unexplained, [], name);
      }
    } finally {
      engine.free();
    }
  });

  it('would report a broken template (the check can fail)', () => {
    const broken = structuredClone(template);
    broken.Resources.TokenLambdaFunction!.Properties.MemorySize = 'lots';
    broken.Resources.ApiGatewayStage!.DependsOn = ['NoSuchResource'];
    const file = join(tempDir(), 'broken.json');
    writeFileSync(file, JSON.stringify(broken));
    const engine = new RegoEngine();
    try {
      const errors = engine.validateStandard(new TemplateFile(file), { severityLevel: 'ERROR' }).diagnostics.map((d) => `${d.ruleId} ${d.entity?.logicalId}`);
      assert.ok(errors.some((e) => e.endsWith('TokenLambdaFunction')), errors.join('\n'));
      assert.ok(errors.some((e) => e.endsWith('ApiGatewayStage')), errors.join('\n'));
    } finally {
      engine.free();
    }
  });
});

describe('The deployer policy, generated from the packaged template (npm run deployer-policy)', () => {
  const { deployerPolicy, policySize } = createRequire(import.meta.url)('../../infra/deployer-policy.cjs') as {
    deployerPolicy: (t: unknown, where: { stage: string; region: string; account: string }) => { Statement: { Sid: string; Action: string[]; Resource: string[] }[] };
    policySize: (policy: unknown) => number;
  };
  const account = '123456789012';
  const where = (stage = 'dev') => ({ stage, region: 'us-east-1', account });
  /** The simulator's answer for a deployer holding only this policy, in the same account. */
  async function allows(policy: unknown, action: string, resource: string): Promise<boolean> {
    const { runSimulation } = await import('@cloud-copilot/iam-simulate');
    const answer = await runSimulation({
      identityPolicies: [{ name: 'deployer', policy }], serviceControlPolicies: [], resourceControlPolicies: [],
      request: { action, principal: `arn:aws:iam::${account}:role/deployer`, resource: { accountId: account, resource }, contextVariables: { 'iam:PassedToService': 'lambda.amazonaws.com' } },
    } as never, {});
    if (answer.resultType === 'error') throw new Error(JSON.stringify(answer.errors));
    return answer.overallResult === 'Allowed';
  }

  it("fits in one managed policy (IAM's 6,144 characters) for every variant, and never grants an action wildcard", () => {
    for (const [t, stage] of [[template, 'dev'], [tuned, 'dev'], [high, 'dev'], [off, OWN_STAGE]] as const) {
      const policy = deployerPolicy(t, where(stage));
      assert.ok(policySize(policy) <= 6144, `${policySize(policy)} characters`);
      assert.deepEqual(policy.Statement.flatMap((s) => s.Action).filter((a) => a.includes('*')), []);
    }
  });

  it("lets the deployer create this stage's resources and nothing of another stage or an undeclared secret", async () => {
    const policy = deployerPolicy(template, where());
    const arn = (service: string, resource: string, region = 'us-east-1') => `arn:aws:${service}:${region}:${account}:${resource}`;
    assert.ok(await allows(policy, 'cloudformation:CreateStack', arn('cloudformation', 'stack/rackspace-token-vendor-dev/1234')));
    assert.ok(await allows(policy, 'lambda:CreateFunction', arn('lambda', 'function:rackspace-token-vendor-dev-token')));
    assert.ok(await allows(policy, 'secretsmanager:CreateSecret', arn('secretsmanager', 'secret:rackspace-token-vendor/example-AbC123')));
    assert.ok(await allows(policy, 'secretsmanager:RotateSecret', arn('secretsmanager', 'secret:rackspace-token-vendor/example-AbC123')));
    assert.ok(await allows(policy, 'iam:PassRole', `arn:aws:iam::${account}:role/rackspace-token-vendor-dev-us-east-1-lambdaRole`));
    assert.ok(!(await allows(policy, 'lambda:CreateFunction', arn('lambda', 'function:rackspace-token-vendor-prod-token'))), 'not another stage');
    assert.ok(!(await allows(policy, 'secretsmanager:CreateSecret', arn('secretsmanager', 'secret:someone-else/key-AbC123'))), 'not another secret');
    assert.ok(!(await allows(policy, 'secretsmanager:GetSecretValue', arn('secretsmanager', 'secret:rackspace-token-vendor/example-AbC123'))), 'never reads a secret');
    assert.ok(!(await allows(policy, 'iam:CreateRole', `arn:aws:iam::${account}:role/admin`)));
  });

  it("grants the account-wide API Gateway setting only when the template changes it, and no DynamoDB when the shared tier is off", async () => {
    const account_ = `arn:aws:apigateway:us-east-1::/account`;
    assert.ok(!(await allows(deployerPolicy(template, where()), 'apigateway:PATCH', account_)));
    assert.ok(await allows(deployerPolicy(high, where()), 'apigateway:PATCH', account_));
    assert.ok(!JSON.stringify(deployerPolicy(off, where(OWN_STAGE))).includes('dynamodb:'));
    assert.ok(!JSON.stringify(deployerPolicy(off, where(OWN_STAGE))).includes('kms:CreateKey'), 'a kept key is not created');
  });

  it('refuses a template holding a resource type it has no permissions for', () => {
    const extra = { Resources: { ...template.Resources, Queue: { Type: 'AWS::SQS::Queue', Properties: {} } } };
    assert.throws(() => deployerPolicy(extra, where()), /has no permissions for AWS::SQS::Queue: add them/);
  });
});
