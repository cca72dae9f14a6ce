import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { AdminIo } from '../../client/admin.ts';
import type { KeyInput } from '../../client/admin-input.ts';
import { main } from '../../client/cli.ts';
import { startCloudFormationEmulator } from '../emulators/cloudformation.ts';
import { LOCAL_CREDENTIALS } from '../emulators/dynamodb.ts';
import { DEMO_USER } from '../emulators/identity.ts';
import { startLambdaEmulator } from '../emulators/lambda.ts';
import { DEMO_PROFILES, DEMO_SECRET_ID, startDemo } from '../local/demo.ts';
import { LOCAL_STACK, startOperatorStandIns } from '../local/operators.ts';
import { call } from '../support/events.ts';
import { custody, observe } from '../support/leak-guard.ts';

// `rackspace-token admin …` against what `npm start` serves: the demo's handler behind a local
// Lambda Invoke, a local DescribeStacks with the stack's outputs, the Secrets Manager emulator with
// the real rotation function registered. A second profile's secret has no rotation.

const PLAIN_SECRET = 'rackspace-token-vendor/plain';
const EMPTY_SECRET = 'rackspace-token-vendor/empty';
const DECLARATION = { profiles: [...DEMO_PROFILES.profiles, { name: 'plain', secretId: PLAIN_SECRET }, { name: 'empty', secretId: EMPTY_SECRET }, { name: 'missing', secretId: 'rackspace-token-vendor/missing' }] };
// Looks like a Rackspace API key (32 hex digits); custodied, so any output showing it fails the run.
const NEW_KEY = createHash('sha256').update('admin-test-new-key').digest('hex').slice(0, 32);
custody(NEW_KEY);

let demo: Awaited<ReturnType<typeof startDemo>>;
let ops: Awaited<ReturnType<typeof startOperatorStandIns>>;
before(async () => {
  demo = await startDemo({ sink: () => {}, shared: true });
  demo.secrets.putSecret(PLAIN_SECRET, JSON.stringify({ username: 'plain-user', apiKey: 'plain-user-api-key-0000', identityUrl: demo.identity.url }));
  // What the stack creates before anyone puts a key: a secret with no value (CreateSecret needs one, so the emulator's own way).
  demo.secrets.putSecret(EMPTY_SECRET, 'x');
  ops = await startOperatorStandIns(demo, { declaration: DECLARATION, rotating: [DEMO_SECRET_ID], apiUrl: 'https://abc123defg.execute-api.us-east-1.amazonaws.com/local' });
});
after(async () => {
  await ops.close();
  await demo.close();
});
beforeEach(() => demo.secrets.resetCalls());

/** One `rackspace-token admin …` run in process, as an operator's shell after `npm start` would run it. */
async function admin(argv: string[], options: { stdin?: string; tty?: string; env?: NodeJS.ProcessEnv } = {}) {
  let out = '';
  let err = '';
  const prompts: string[] = [];
  const input: KeyInput = {
    isTTY: options.tty !== undefined,
    read: async () => options.stdin ?? '',
    prompt: async (question) => {
      prompts.push(question);
      return options.tty ?? '';
    },
  };
  const io: AdminIo = {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    env: { AWS_REGION: 'us-east-1', ...ops.env, ...options.env },
    client: { credentials: LOCAL_CREDENTIALS },
    input,
  };
  const code = await main(['admin', ...argv], io);
  observe('admin stdout', out);
  observe('admin stderr', err);
  return { code, out, err, prompts };
}

const current = (secretId: string) => JSON.parse(demo.secrets.valueAt(secretId, 'AWSCURRENT') ?? 'null') as Record<string, string> | null;

describe('admin put-key', () => {
  it('stores the secret JSON read from stdin in the profile\'s declared secret, and prints where, never the key', async () => {
    const secret = { username: 'plain-user', apiKey: NEW_KEY, tenantId: '123456', identityUrl: demo.identity.url };
    const run = await admin(['put-key', 'plain', '--stage', 'local'], { stdin: `${JSON.stringify(secret)}\n` });
    assert.equal(run.code, 0, run.err);
    assert.deepEqual(current(PLAIN_SECRET), secret);
    assert.match(run.out, /Stored a new value for profile 'plain' in secret arn:aws:secretsmanager:us-east-1:000000000000:secret:rackspace-token-vendor\/plain-\w{6} \(version /);
    assert.equal(demo.secrets.calls.PutSecretValue, 1);
  });

  it('completes a bare key with the fields the secret holds, and a flag overrides one', async () => {
    demo.secrets.putSecret(PLAIN_SECRET, JSON.stringify({ username: 'plain-user', password: 'old-password-123', tenantName: 'acme', identityUrl: demo.identity.url }));
    const run = await admin(['put-key', 'plain', '--stage', 'local', '--tenant-id', '987654'], { stdin: NEW_KEY });
    assert.equal(run.code, 0, run.err);
    assert.deepEqual(current(PLAIN_SECRET), { username: 'plain-user', identityUrl: demo.identity.url, tenantId: '987654', apiKey: NEW_KEY });
  });

  it('keeps only who and where from the secret when completing a bare key, not a placeholder\'s other fields', async () => {
    demo.secrets.putSecret(PLAIN_SECRET, JSON.stringify({ username: 'plain-user', apiKey: 'plain-user-api-key-0000', placeholder: 'not set yet' }));
    const run = await admin(['put-key', 'plain', '--stage', 'local'], { stdin: NEW_KEY });
    assert.equal(run.code, 0, run.err);
    assert.deepEqual(current(PLAIN_SECRET), { username: 'plain-user', apiKey: NEW_KEY });
  });

  it('asks at a no-echo prompt when a person is at the terminal', async () => {
    const run = await admin(['put-key', 'plain', '--stage', 'local'], { tty: NEW_KEY });
    assert.equal(run.code, 0, run.err);
    assert.deepEqual(run.prompts, ["API key (or the secret's JSON) for profile 'plain', not echoed: "]);
    assert.equal(current(PLAIN_SECRET)?.apiKey, NEW_KEY);
  });

  it('refuses a key on the command line, as an argument, in the PROFILE place or as an option, writing nothing and never echoing it', async () => {
    for (const argv of [
      ['put-key', 'plain', NEW_KEY, '--stage', 'local'],
      ['put-key', NEW_KEY, '--stage', 'local'],
      ['put-key', 'plain', `--api-key=${NEW_KEY}`, '--stage', 'local'],
      ['put-key', 'plain', '--password', NEW_KEY, '--stage', 'local'],
      ['put-key', 'plain', JSON.stringify({ username: 'u', apiKey: NEW_KEY }), '--stage', 'local'],
      ['put-key', JSON.stringify({ username: 'u', apiKey: NEW_KEY }), '--stage', 'local'],
      ['put-key', `plain:${NEW_KEY}`, '--stage', 'local'],
    ]) {
      const run = await admin(argv, { stdin: '' });
      assert.equal(run.code, 64, argv.join(' '));
      assert.equal(run.err, 'rackspace-token: put-key never takes the key as an argument (arguments show in `ps` and stay in shell history): pipe it on stdin or type it at the prompt. Nothing was written.\n');
      assert.equal(run.err.includes(NEW_KEY) || run.out.includes(NEW_KEY), false);
    }
    assert.equal(demo.secrets.calls.PutSecretValue, undefined, 'nothing was written');
  });

  it('refuses a secret the function could not use, naming the field and not the value, and writes nothing', async () => {
    const cases: Array<[string, RegExp]> = [
      [JSON.stringify({ username: 'u', apiKey: NEW_KEY, password: NEW_KEY }), /exactly one of the fields 'apiKey' and 'password' must be set/],
      [JSON.stringify({ username: 'u', apiKey: NEW_KEY, apikey: NEW_KEY }), /unknown field\(s\) 'apikey'/],
      [JSON.stringify({ username: 'u', apiKey: NEW_KEY, identityUrl: 'http://identity.example.com/v2.0' }), /field 'identityUrl' must use https/],
      [`{"username": "u", "apiKey": "${NEW_KEY}"`, /starts with \{ but is not JSON/],
      ['', /Nothing on stdin/],
    ];
    for (const [stdin, why] of cases) {
      const run = await admin(['put-key', 'plain', '--stage', 'local'], { stdin });
      assert.equal(run.code, 65, run.err);
      assert.match(run.err, why);
      assert.match(run.err, /nothing was written/);
    }
    assert.equal(demo.secrets.calls.PutSecretValue, undefined);
  });

  it('asks for --username when a bare key goes into a secret that holds none yet', async () => {
    const run = await admin(['put-key', 'empty', '--stage', 'local'], { stdin: NEW_KEY });
    assert.deepEqual([run.code, run.err], [65, `rackspace-token: A bare key needs --username: secret ${EMPTY_SECRET} holds no username yet (nothing was written).\n`]);
    const named = await admin(['put-key', 'empty', '--stage', 'local', '--username', 'someone'], { stdin: NEW_KEY });
    assert.equal(named.code, 0, named.err);
    assert.deepEqual(current(EMPTY_SECRET), { username: 'someone', apiKey: NEW_KEY });
  });

  it('says the stack must create the secret when it does not exist, exit 66', async () => {
    const run = await admin(['put-key', 'missing', '--stage', 'local', '--username', 'someone'], { stdin: NEW_KEY });
    assert.deepEqual([run.code, run.err], [66, 'rackspace-token: Secret rackspace-token-vendor/missing does not exist: deploy this version of the stack, which creates it (nothing was written).\n']);
  });

  it('exits 77 with AWS\'s refusal when the operator may not write the secret', async () => {
    demo.secrets.injectFaults({ type: 'AccessDeniedException', message: 'User: arn:aws:sts::000000000000:assumed-role/ops/me is not authorized to perform: secretsmanager:PutSecretValue', operation: 'PutSecretValue' });
    const run = await admin(['put-key', 'plain', '--stage', 'local'], { stdin: NEW_KEY });
    assert.deepEqual([run.code, run.err], [77, 'rackspace-token: AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role/ops/me is not authorized to perform: secretsmanager:PutSecretValue\n']);
  });

  it('names the declared profiles when the profile is not one of them', async () => {
    const run = await admin(['put-key', 'billing', '--stage', 'local'], { stdin: NEW_KEY });
    assert.deepEqual([run.code, run.err], [66, `rackspace-token: No profile 'billing' in stack ${LOCAL_STACK}; it declares demo, plain, empty, missing.\n`]);
  });
});

describe('admin flush', () => {
  it('revokes the token the fleet holds and prints the outcome and its fingerprint, exit 0', async () => {
    const vended = await call(demo.handler);
    assert.equal(vended.statusCode, 200);
    const run = await admin(['flush', 'demo', '--stage', 'local', '--reason', 'token pasted in a ticket']);
    const sha = createHash('sha256').update(vended.json.token as string).digest('hex').slice(0, 12);
    assert.deepEqual([run.code, run.out], [0, `flush demo: 200 Revoked at Rackspace and dropped fleet-wide.\n  token sha256:${sha} revoked\n`]);
    assert.equal(demo.identity.revoked.has(vended.json.token as string), true);
    assert.deepEqual(JSON.parse(ops.lambda.invocations.at(-1)?.payload ?? ''), { operation: 'flush', profile: 'demo', reason: 'token pasted in a ticket' });
  });

  it('exits 75 when Identity does not confirm the revocation (nothing dropped: run it again), and says so on stderr', async () => {
    await call(demo.handler);
    demo.identity.injectFaults({ on: 'revoke', status: 503 });
    const run = await admin(['flush', 'demo', '--stage', 'local', '--reason', 'suspected leak']);
    assert.equal(run.code, 75);
    assert.match(run.err, /^rackspace-token: flush demo: 503 Identity did not confirm the revocation, so nothing was dropped: invoke again.\nrackspace-token: token sha256:\w{12} failed\n$/);
    assert.equal((await admin(['flush', 'demo', '--stage', 'local', '--reason', 'suspected leak'])).code, 0, 'the second flush revokes it');
  });

  it('exits 66 for a profile the function does not declare', async () => {
    const run = await admin(['flush', 'nope', '--stage', 'local', '--reason', 'typo']);
    assert.deepEqual([run.code, run.err], [66, 'rackspace-token: flush nope: 404 No such profile is declared.\n']);
  });

  it('needs a reason for the audit line, of at most 200 characters', async () => {
    assert.equal((await admin(['flush', 'demo', '--stage', 'local'])).code, 64);
    assert.equal((await admin(['flush', 'demo', '--stage', 'local', '--reason', 'x'.repeat(201)])).code, 64);
    assert.equal(ops.lambda.invocations.filter((i) => i.payload.includes('x'.repeat(201))).length, 0);
  });
});

describe('admin rotate', () => {
  it('starts a rotation that the real rotation function completes against Identity', async () => {
    await demo.secrets.rotationsSettled();
    const before = current(DEMO_SECRET_ID);
    const run = await admin(['rotate', 'demo', '--stage', 'local']);
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, /^Rotation of profile 'demo' started: secret arn:aws:secretsmanager:us-east-1:000000000000:secret:rackspace-token-vendor\/demo-\w{6}, new version [0-9a-f-]{36}\./);
    await demo.secrets.rotationsSettled();
    assert.deepEqual(demo.secrets.rotations.at(-1)?.steps.map((s) => [s.step, s.ok]), [['createSecret', true], ['setSecret', true], ['testSecret', true], ['finishSecret', true]]);
    const after = current(DEMO_SECRET_ID);
    assert.notEqual(after?.apiKey, before?.apiKey, 'a new key is current');
    const identity = async (apiKey: string) => {
      const body = { auth: { 'RAX-KSKEY:apiKeyCredentials': { username: DEMO_USER.username, apiKey } } };
      const answer = await fetch(`${demo.identity.url}/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
      await answer.arrayBuffer();
      return answer.status;
    };
    assert.deepEqual([await identity(after?.apiKey ?? ''), await identity(before?.apiKey ?? '')], [200, 401], 'Identity takes the new key and refuses the old one');
  });

  it('says so, exit 78, when the profile has no rotation', async () => {
    const run = await admin(['rotate', 'plain', '--stage', 'local']);
    assert.deepEqual([run.code, run.err], [78, `rackspace-token: Profile 'plain' has no rotation (secret ${PLAIN_SECRET} has no rotation schedule): add "rotateEveryDays" to it in infra/profiles.json and deploy.\n`]);
    assert.equal(demo.secrets.calls.RotateSecret, undefined);
  });
});

describe('admin grant', () => {
  it('prints the execute-api:Invoke statement on the profile\'s route and the allow entry', async () => {
    const role = 'arn:aws:iam::111122223333:role/reporting/nightly-export';
    const run = await admin(['grant', 'demo', '--stage', 'local', '--role', role]);
    assert.equal(run.code, 0, run.err);
    const statement = JSON.parse(/^\{[\s\S]*?^\}/m.exec(run.out)?.[0] ?? 'null') as Record<string, string>;
    assert.deepEqual(statement, { Sid: 'RackspaceTokendemo', Effect: 'Allow', Action: 'execute-api:Invoke', Resource: 'arn:aws:execute-api:us-east-1:000000000000:local/local/GET/v1/profiles/demo/token' });
    assert.match(run.out, new RegExp(`^"allow": \\["${role}"\\]$`, 'm'));
  });

  it('refuses a role that is not one IAM role ARN', async () => {
    for (const role of ['arn:aws:iam::111122223333:role/ci-*', 'arn:aws:iam::111122223333:user/alice', 'reporting']) {
      const run = await admin(['grant', 'demo', '--stage', 'local', '--role', role]);
      assert.equal(run.code, 64, role);
      assert.match(run.err, /--role must be an IAM role ARN/);
    }
  });
});

describe('admin: finding the stack, and the conventions', () => {
  it('says which stack it looked for when there is none, exit 66', async () => {
    const run = await admin(['flush', 'demo', '--stage', 'prod', '--reason', 'x']);
    assert.deepEqual([run.code, run.err], [66, 'rackspace-token: No stack rackspace-token-vendor-prod in us-east-1: pass the --stage and --region it was deployed with (or --stack NAME).\n']);
  });

  it('needs a region, exit 78', async () => {
    const run = await admin(['rotate', 'demo', '--stage', 'local'], { env: { AWS_REGION: '' } });
    assert.deepEqual([run.code, run.err], [78, 'rackspace-token: No region: pass --region or set AWS_REGION.\n']);
  });

  it('asks for a deploy of this version when the stack has none of the outputs it reads', async () => {
    const cfn = await startCloudFormationEmulator([{ name: 'rackspace-token-vendor-old', outputs: { RestApiId: 'abc' } }]);
    try {
      const env = { AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.endpoint };
      const flush = await admin(['flush', 'demo', '--stage', 'old', '--reason', 'x'], { env });
      assert.deepEqual([flush.code, flush.err], [78, 'rackspace-token: Stack rackspace-token-vendor-old has no TokenFunctionName output: deploy this version of rackspace-token-vendor first.\n']);
      const rotate = await admin(['rotate', 'demo', '--stage', 'old'], { env });
      assert.deepEqual([rotate.code, rotate.err], [78, 'rackspace-token: Stack rackspace-token-vendor-old has no ProfileSecrets output: deploy this version of rackspace-token-vendor first.\n']);
    } finally {
      await cfn.close();
    }
  });

  it('exits 70 with the error\'s name and message when the function itself fails', async () => {
    const lambda = await startLambdaEmulator({ broken: async () => { throw new TypeError('Cannot read properties of undefined'); } });
    const cfn = await startCloudFormationEmulator([{ name: 'rackspace-token-vendor-broken', outputs: { TokenFunctionName: 'broken', ProfileSecrets: '{}' } }]);
    try {
      const run = await admin(['flush', 'demo', '--stage', 'broken', '--reason', 'x'], { env: { AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.endpoint, AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint } });
      assert.deepEqual([run.code, run.err], [70, 'rackspace-token: The function failed (Unhandled): TypeError: Cannot read properties of undefined\n']);
    } finally {
      await Promise.all([lambda.close(), cfn.close()]);
    }
  });

  it('exits by the flush\'s status: 400 → 65, 502 → 69, any other → 70', async () => {
    const answers: Record<string, number> = { bad: 400, unopenable: 502, teapot: 418 };
    const functions = Object.fromEntries(Object.entries(answers).map(([name, status]) => [name, async () => ({ statusCode: status, headers: {}, body: JSON.stringify({ status, profile: 'demo', tokens: [], detail: `answered ${status}` }) })]));
    const lambda = await startLambdaEmulator(functions);
    const cfn = await startCloudFormationEmulator(Object.keys(answers).map((name) => ({ name: `rackspace-token-vendor-${name}`, outputs: { TokenFunctionName: name, ProfileSecrets: '{}' } })));
    try {
      const codes: Record<string, [number, string]> = {};
      for (const name of Object.keys(answers)) {
        const run = await admin(['flush', 'demo', '--stage', name, '--reason', 'x'], { env: { AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.endpoint, AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint } });
        codes[name] = [run.code, run.err];
      }
      assert.deepEqual(codes, {
        bad: [65, 'rackspace-token: flush demo: 400 answered 400\n'],
        unopenable: [69, 'rackspace-token: flush demo: 502 answered 502\n'],
        teapot: [70, 'rackspace-token: flush demo: 418 answered 418\n'],
      });
    } finally {
      await Promise.all([lambda.close(), cfn.close()]);
    }
  });

  it('exits 75 when Lambda ended the function at its timeout: the flush may be run again', async () => {
    const lambda = await startLambdaEmulator({ slow: async () => { throw Object.assign(new Error('2026-12-07T04:00:00.000Z abc Task timed out after 10.01 seconds'), { name: 'Sandbox.Timedout' }); } });
    const cfn = await startCloudFormationEmulator([{ name: 'rackspace-token-vendor-slow', outputs: { TokenFunctionName: 'slow', ProfileSecrets: '{}' } }]);
    try {
      const run = await admin(['flush', 'demo', '--stage', 'slow', '--reason', 'x'], { env: { AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.endpoint, AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint } });
      assert.deepEqual([run.code, run.err], [75, 'rackspace-token: The function failed (Unhandled): Sandbox.Timedout: 2026-12-07T04:00:00.000Z abc Task timed out after 10.01 seconds\n']);
    } finally {
      await Promise.all([lambda.close(), cfn.close()]);
    }
  });

  it('exits 75 with one line when AWS does not answer', async () => {
    const run = await admin(['rotate', 'demo', '--stage', 'local'], { env: { AWS_ENDPOINT_URL_CLOUDFORMATION: 'http://127.0.0.1:9' } });
    assert.equal(run.code, 75);
    assert.equal(run.err.split('\n').length, 2, run.err);
  });

  it('answers --help for admin and for each command, and refuses an unknown command or option with one line', async () => {
    const help = await admin(['--help']);
    assert.deepEqual([help.code, help.out.split('\n')[0]], [0, 'Usage: rackspace-token admin <command> PROFILE [options]']);
    for (const command of ['put-key', 'flush', 'rotate', 'grant']) {
      const run = await admin([command, '--help']);
      assert.equal(run.code, 0);
      assert.match(run.out, new RegExp(`^Usage: rackspace-token admin ${command} PROFILE`));
    }
    assert.deepEqual(await admin(['erase', 'demo']).then((r) => [r.code, r.err]), [64, "rackspace-token: unknown admin command 'erase'. Run 'rackspace-token admin --help'.\n"]);
    assert.deepEqual(await admin(['rotate', 'demo', '--role', 'x']).then((r) => [r.code, r.err]), [64, "rackspace-token: rotate takes no --role. Run 'rackspace-token admin rotate --help'.\n"]);
    assert.deepEqual(await admin(['rotate', 'demo', '--force']).then((r) => [r.code, r.err.split('\n').length]), [64, 2]);
    assert.deepEqual(await admin(['flush', 'Demo', '--reason', 'x']).then((r) => [r.code, r.err]), [64, 'rackspace-token: PROFILE is a profile name: 1-64 lower-case letters, digits, - or _.\n']);
  });
});
