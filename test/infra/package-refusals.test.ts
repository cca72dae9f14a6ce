import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';

// `npm run package` refuses every mistake before anything is built or reaches AWS: one line per
// mistake, said once, no stack trace (infra/preflight.cjs). Each mistake is checked in-process
// (fast); a few run through the real `serverless package` to prove the wiring: exit code, one line,
// once even for a parameter that three resources use.
const require = createRequire(import.meta.url);
type Context = { options?: { param?: string[] }; resolveVariable: (name: string) => Promise<unknown> };
const { problems, declarationLines } = require('../../infra/preflight.cjs') as {
  problems: (context: Context) => Promise<string[]>;
  declarationLines: (file: string, json: unknown, policy: { stage: string; orgId: string; vpcEndpointIds: string[] }) => string[];
};

// serverless.yml `params: default:` (the others' defaults are in infra/limits.json).
const YAML_DEFAULTS: Record<string, string> = { alarmTopicArn: '', endpointType: 'REGIONAL', vpcEndpointIds: '', orgId: '', apiGatewayLogRole: 'existing', sharedTier: 'on', keptKeyArn: '' };

/** What osls hands a resolver for `serverless package --param=…` (stage dev, the repository's declaration). */
function osls(...param: string[]): Context {
  const given = Object.fromEntries(param.map((item) => [item.slice(0, item.indexOf('=')), item.slice(item.indexOf('=') + 1)]));
  return {
    options: { param },
    resolveVariable: async (variable) => {
      if (variable === 'sls:stage') return 'dev';
      const name = /^param:(\w+)(, null)?$/.exec(variable)?.[1];
      if (name === undefined) throw new Error(`unexpected ${variable}`);
      return given[name] ?? YAML_DEFAULTS[name] ?? null;
    },
  };
}

const ROLE = 'arn:aws:iam::123456789012:role/billing-app';
const ok = { name: 'billing', secretId: 'team/billing', allow: [ROLE] };
const linesFor = (json: unknown) => declarationLines('infra/profiles.json', json, { stage: 'dev', orgId: '', vpcEndpointIds: [] });

describe('npm run package: each declaration mistake is one line naming the file, the profile, the field and what is allowed', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['an unknown key (alow)', { profiles: [{ ...ok, alow: [ROLE] }] }, /^infra\/profiles\.json: profile 'billing' \(profiles\[0\]\): unknown field\(s\) alow; a profile may have only name, description, secretId, allow, rotateEveryDays(, \w+)*$/],
    ['a duplicate profile name', { profiles: [ok, { ...ok, secretId: 'team/other' }] }, /^infra\/profiles\.json: profile 'billing' is declared twice$/],
    ['an empty allow', { profiles: [{ ...ok, allow: [] }] }, /^infra\/profiles\.json: profile 'billing' \(profiles\[0\]\) field allow: must list at least one role/],
    ['a bad name', { profiles: [{ ...ok, name: 'Billing Team' }] }, /^infra\/profiles\.json: profile 'Billing Team' \(profiles\[0\]\) field name: must be 1-64 lower-case letters, digits, - or _$/],
    ['an allow entry that is no role ARN', { profiles: [{ ...ok, allow: ['billing-app'] }] }, /^infra\/profiles\.json: profile 'billing' allows 'billing-app': expected an IAM role ARN, arn:aws:iam::123456789012:role\/NAME/],
    ['a wildcard account', { profiles: [{ ...ok, allow: ['arn:aws:iam::*:role/app'] }] }, /profile 'billing' allows 'arn:aws:iam::\*:role\/app': a wildcard may not stand for the account/],
    ['a wildcard without a 3-character prefix', { profiles: [{ ...ok, allow: ['arn:aws:iam::123456789012:role/a*'] }] }, /profile 'billing' allows .*: a \* must follow a literal prefix of at least 3 characters/],
    ['rotateEveryDays 0', { profiles: [{ ...ok, rotateEveryDays: 0 }] }, /^infra\/profiles\.json: profile 'billing' \(profiles\[0\]\) field rotateEveryDays: must be at least 1 day$/],
    ['rotateEveryDays as text', { profiles: [{ ...ok, rotateEveryDays: '30' }] }, /field rotateEveryDays: must be a whole number of days$/],
    ['a missing secretId', { profiles: [{ name: 'billing', allow: [ROLE] }] }, /^infra\/profiles\.json: profile 'billing' \(profiles\[0\]\) field secretId: /],
    ['a wildcard secretId', { profiles: [{ ...ok, secretId: 'team/*' }] }, /^infra\/profiles\.json profiles\[0\] \('billing'\): secretId 'team\/\*' is not a secret name \(letters, digits and \/_\+=\.@- only; no wildcards\)$/],
    ['two schedules for one secret', { profiles: [{ ...ok, rotateEveryDays: 7 }, { ...ok, name: 'billing-eu', rotateEveryDays: 30 }] }, /profiles\[1\] \('billing-eu'\): secret 'team\/billing' is rotated every 7 days by profile 'billing'; one secret has one schedule$/],
    ['two names that make one resource name', { profiles: [{ ...ok, name: 'a-b', secretId: 'x' }, { ...ok, name: 'a_b', secretId: 'y' }] }, /profiles 'a-b' and 'a_b' would share the resource name SecretAB; rename one$/],
    ['no profiles', { profiles: [] }, /^infra\/profiles\.json declares no profiles/],
    ['an unknown top-level key', { profiles: [ok], profils: [] }, /^infra\/profiles\.json: unknown top-level key\(s\) profils; the file has only "profiles"$/],
  ];
  for (const [mistake, json, expected] of cases) {
    it(`refuses ${mistake}`, () => {
      const lines = linesFor(json);
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, expected);
    });
  }

  it('accepts the shipped declaration and a valid one with a shared secret, a partial ARN and rotation', async () => {
    assert.deepEqual(await problems(osls()), []);
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:team/shared';
    assert.deepEqual(linesFor({ profiles: [{ ...ok, rotateEveryDays: 30 }, { ...ok, name: 'billing-eu', rotateEveryDays: 30 }, { ...ok, name: 'other', secretId: arn }] }), []);
  });
});

describe('npm run package: each unknown or invalid --param is one line', () => {
  const cases: Array<[string[], RegExp]> = [
    [['reservdConcurrency=5'], /^--param=reservdConcurrency: no such parameter \(known: alarmConcurrencyPercent, .*reservedConcurrency, .*\)$/],
    [['logLevel=INFO', 'logLevel=DEBUG'], /^--param=logLevel: given twice; give each parameter once$/],
    [['alarmTopicArn=not-an-arn'], /^--param=alarmTopicArn=… must be empty or an SNS topic ARN \(arn:aws:sns:us-east-1:123456789012:alarms\), got 'not-an-arn'$/],
    [['alarmTopicArn=arn:aws:sqs:us-east-1:123456789012:alarms'], /alarmTopicArn=… must be empty or an SNS topic ARN/],
    [['alarmTopicArn=arn:aws:sns:us-east-1:123456789012:alarms.fifo'], /alarmTopicArn=… must be empty or an SNS topic ARN/],
    [['keptKeyArn=alias/rackspace-token-vendor-dev'], /^--param=keptKeyArn=… must be empty or the key ARN of the KMS key a removed stack of this stage kept/],
    [['reservedConcurrency=0'], /^--param=reservedConcurrency=… must be a whole number from 1 to 100, got '0'$/],
    [['identityBudgetMs=99'], /identityBudgetMs=… must be a whole number from 100 to 25000, got '99'$/],
    [['throttlingRateLimit=10001'], /throttlingRateLimit=… must be a whole number from 1 to 10000, got '10001'$/],
    [['throttlingBurstLimit=lots'], /throttlingBurstLimit=… must be a whole number from 1 to 5000, got 'lots'$/],
    [['alarmIdentityFailures=0'], /alarmIdentityFailures=… must be a whole number from 1 to 10000, got '0'$/],
    [['alarmDegraded=1.5'], /alarmDegraded=… must be a whole number from 1 to 10000, got '1.5'$/],
    [['alarmConcurrencyPercent=101'], /alarmConcurrencyPercent=… must be a whole number from 1 to 100, got '101'$/],
    [['logRetentionInDays=2'], /logRetentionInDays=… must be one of 1, 3, 5, .*, got '2'$/],
    [['logLevel=LOUD'], /logLevel=… must be one of TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, SILENT, got 'LOUD'$/],
    [['endpointType=EDGE'], /endpointType=… must be one of REGIONAL, PRIVATE, got 'EDGE'$/],
    [['vpcEndpointIds=vpce-0a1b2c3d4e5f60718'], /vpcEndpointIds=… applies only with --param=endpointType=PRIVATE/],
    [['orgId=acme'], /orgId=… must be empty or an organization id \(o-abcd123456\), got 'acme'$/],
    [['sharedTier=maybe'], /^--param=sharedTier=… must be one of on, off, got 'maybe'$/],
    [['apiGatewayLogRole=yes'], /^--param=apiGatewayLogRole=… must be one of existing, create, got 'yes'$/],
  ];
  for (const [param, expected] of cases) {
    it(`refuses ${param.join(' ')}`, async () => {
      const lines = await problems(osls(...param));
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, expected);
    });
  }

  it('accepts every parameter at a valid value', async () => {
    const valid = [
      'reservedConcurrency=5', 'identityBudgetMs=5000', 'throttlingRateLimit=10', 'throttlingBurstLimit=20', 'alarmIdentityFailures=3', 'alarmDegraded=3',
      'alarmConcurrencyPercent=90', 'logRetentionInDays=90', 'logLevel=WARN', 'endpointType=PRIVATE', 'vpcEndpointIds=vpce-0a1b2c3d4e5f60718', 'orgId=o-abcd123456',
      'sharedTier=off', 'apiGatewayLogRole=create', 'alarmTopicArn=arn:aws:sns:eu-west-1:123456789012:ops-alarms',
      'keptKeyArn=arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    ];
    assert.deepEqual(await problems(osls(...valid)), []);
  });
});

describe('npm run package: refusals through serverless itself', () => {
  const run = promisify(execFile);
  const dirs: string[] = [];
  const stageFiles: string[] = [];
  after(() => {
    for (const path of [...dirs, ...stageFiles]) rmSync(path, { recursive: true, force: true });
  });
  /** `serverless package` as `npm run package` runs it, without AWS credentials: exit code and output. */
  async function packaging(...args: string[]) {
    const dir = mkdtempSync(join(tmpdir(), 'rtv-refused-'));
    dirs.push(dir);
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_')));
    try {
      await run(process.execPath, ['node_modules/serverless/bin/serverless.js', 'package', '--package', dir, ...args], { env: { ...env, HOME: dir } });
      return { code: 0, stdout: '', stderr: '' };
    } catch (error) {
      const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
      return { code, stdout, stderr };
    }
  }
  const refused = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('npm run package refused: '));

  it('says an invalid value once, though three resources use it, with no stack trace, and exits 1', async () => {
    const { code, stdout, stderr } = await packaging('--param=reservedConcurrency=500');
    assert.equal(code, 1);
    assert.deepEqual(refused(stderr), ["npm run package refused: --param=reservedConcurrency=… must be a whole number from 1 to 100, got '500'"]);
    assert.doesNotMatch(stdout + stderr, /^\s+at /m, 'no stack trace');
    assert.equal(stderr.trim().split('\n').length, 1, 'nothing else');
  });

  it('refuses an unknown parameter name and a bad declaration of the stage, one line each', async () => {
    // A stage's own declaration (infra/profiles.<stage>.json), here with the `alow` typo.
    const stage = `refused${process.pid}`;
    const file = `infra/profiles.${stage}.json`;
    stageFiles.push(file);
    writeFileSync(file, JSON.stringify({ profiles: [{ ...ok, alow: [ROLE] }] }));
    const { code, stderr } = await packaging('--stage', stage, '--param=reservdConcurrency=5');
    assert.equal(code, 1);
    const lines = refused(stderr);
    assert.equal(lines.length, 2, stderr);
    assert.match(lines[0]!, /--param=reservdConcurrency: no such parameter/);
    assert.match(lines[1]!, new RegExp(`^npm run package refused: infra/profiles\\.${stage}\\.json: profile 'billing' \\(profiles\\[0\\]\\): unknown field\\(s\\) alow`));
  });
});
