import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { EXIT, main } from '../../client/cli.ts';
import type { TokenClientOptions } from '../../client/index.ts';
import { SEEDED_CALLERS } from '../local/credentials.ts';
import type { LocalKey } from '../local/sigv4.ts';
import { demoGateway } from '../support/demo-gateway.ts';
import { custody, observe } from '../support/leak-guard.ts';

// `env` and `exec` in the names swift, rclone and the openstack CLI read, against `npm start`'s own
// pieces (the demo handler behind the SigV4 gateway); `--version`; and the hints a shell set up
// for real AWS gets from a local gateway.

const YOU: LocalKey = { accessKeyId: 'AKLOCALFORMATSYOUAAA', secretAccessKey: 'cli-formats-secret-you-0123456789abcdef', arn: SEEDED_CALLERS[0] };
const gateway = demoGateway([YOU]);

async function cli(argv: string[], client: Partial<TokenClientOptions> = {}, env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const code = await main(argv, {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    env: { RACKSPACE_TOKEN_URL: gateway.url, ...env },
    client: { region: 'us-east-1', credentials: YOU, ...client },
  });
  observe('cli stderr', err);
  return { code, out, err };
}

/** Evaluates export lines in sh and reads the named variables back. */
async function evaluate(lines: string, names: string[]): Promise<Record<string, string>> {
  const { stdout } = await promisify(execFile)('sh', ['-c', `${lines}\nprintf '%s\\0' ${names.map((name) => `"$${name}"`).join(' ')}`]);
  const values = stdout.split('\0');
  return Object.fromEntries(names.map((name, i) => [name, values[i] ?? '']));
}

/** The token the demo hands out now, custodied so no test output may carry it. */
async function currentToken(): Promise<string> {
  const { out } = await cli(['token', 'demo', '-s', 'object-store']);
  const { token } = JSON.parse(out) as { token: string };
  custody(token);
  return token;
}

// The demo user's default region is DFW, so object-store with no --region is Cloud Files in DFW.
const STORAGE = 'https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_110011';
const EXPECTED = {
  swift: (token: string) => ({ OS_AUTH_TOKEN: token, OS_STORAGE_URL: STORAGE }),
  rclone: (token: string) => ({ RCLONE_SWIFT_AUTH_TOKEN: token, RCLONE_SWIFT_STORAGE_URL: STORAGE }),
  openstack: (token: string) => ({ OS_AUTH_TYPE: 'token_endpoint', OS_TOKEN: token, OS_ENDPOINT: STORAGE }),
};

describe('rackspace-token --format', () => {
  for (const [format, expected] of Object.entries(EXPECTED)) {
    it(`env --format ${format} prints exactly its client's variables, the storage URL being the object store's endpoint`, async () => {
      const token = await currentToken();
      const { code, out, err } = await cli(['env', 'demo', '--format', format]);
      assert.deepEqual([code, err], [0, '']);
      const names = out.split('\n').filter(Boolean).map((line) => /^export ([A-Z_]+)=/.exec(line)?.[1]);
      assert.deepEqual(names, Object.keys(expected(token)));
      assert.deepEqual(await evaluate(out, names as string[]), expected(token));
    });

    it(`exec --format ${format} runs the command with those variables`, async () => {
      const token = await currentToken();
      const file = join(mkdtempSync(join(tmpdir(), 'rtv-format-')), 'env');
      const names = Object.keys(expected(token));
      const code = (await cli(['exec', 'demo', '-f', format, '--', 'sh', '-c', `printf '%s\\0' ${names.map((name) => `"$${name}"`).join(' ')} > '${file}'`])).code;
      assert.equal(code, 0);
      const values = readFileSync(file, 'utf8').split('\0');
      assert.deepEqual(Object.fromEntries(names.map((name, i) => [name, values[i]])), expected(token));
    });
  }

  it('keeps today\'s variables by default and with --format rackspace, and an explicit --service wins over a format\'s default', async () => {
    const plain = await cli(['env', 'demo', '-s', 'cloudFiles', '-r', 'ord']);
    const named = await cli(['env', 'demo', '-s', 'cloudFiles', '-r', 'ord', '--format', 'rackspace']);
    assert.equal(named.out, plain.out);
    assert.deepEqual(plain.out.split('\n').filter(Boolean).map((line) => line.split('=')[0]), ['export AUTH_TOKEN', 'export TENANT_ID', 'export API_ENDPOINT', 'export AUTH_TOKEN_EXPIRES']);
    const internal = await cli(['env', 'demo', '--format', 'swift', '-r', 'ord', '-i', 'internal']);
    assert.match(internal.out, /^export OS_STORAGE_URL='https:\/\/snet-storage101\.ord1\.clouddrive\.com\/v1\/MossoCloudFS_110011'$/m);
    const compute = await cli(['env', 'demo', '--format', 'openstack', '-s', 'cloudServersOpenStack', '-r', 'iad']);
    assert.match(compute.out, /^export OS_ENDPOINT='https:\/\/iad\.servers\.api\.rackspacecloud\.com\/v2\/110011'$/m);
  });

  it('refuses an unknown format with exit 64 and one line', async () => {
    const { code, out, err } = await cli(['env', 'demo', '--format', 'aws']);
    assert.deepEqual([code, out], [EXIT.usage, '']);
    assert.match(err, /^rackspace-token: --format must be rackspace, swift, rclone, openstack, not 'aws'\. Run 'rackspace-token env --help'\.\n$/);
    const token = await cli(['token', 'demo', '--format', 'swift']);
    assert.equal(token.code, EXIT.usage);
    assert.match(token.err, /^rackspace-token: --format applies to env and exec[^\n]*\n$/);
  });
});

describe('rackspace-token --version', () => {
  it('prints the package version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) assert.deepEqual(await cli([flag]), { code: 0, out: `${version}\n`, err: '' });
    const { stdout } = await promisify(execFile)(process.execPath, ['client/bin.mjs', '--version']);
    assert.equal(stdout, `${version}\n`);
  });
});

describe('rackspace-token against a local gateway, from a shell set up for real AWS', () => {
  const bin = (env: NodeJS.ProcessEnv) =>
    promisify(execFile)(process.execPath, ['client/bin.mjs', 'token', 'demo'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, RACKSPACE_TOKEN_URL: gateway.url, AWS_ACCESS_KEY_ID: YOU.accessKeyId, AWS_SECRET_ACCESS_KEY: YOU.secretAccessKey, AWS_EC2_METADATA_DISABLED: 'true', ...env },
    }).then(() => assert.fail('expected a failure'), (error: { code: number; stdout: string; stderr: string }) => (observe('cli stderr', error.stderr), error));

  it('with AWS_PROFILE set, says to unset it when the SDK\'s chain then finds no credentials', async () => {
    const nowhere = join(mkdtempSync(join(tmpdir(), 'rtv-aws-')), 'none');
    const failure = await bin({ AWS_PROFILE: 'sso-dev', AWS_CONFIG_FILE: nowhere, AWS_SHARED_CREDENTIALS_FILE: nowhere, AWS_REGION: 'us-east-1' });
    assert.equal(failure.code, EXIT.config);
    assert.match(failure.stderr, /\nrackspace-token: AWS_PROFILE=sso-dev is set, so the AWS SDK signs with that profile instead of the keys npm start printed: unset AWS_PROFILE in this shell\.\n$/);
  });

  it('with AWS_PROFILE set, says to unset it when the gateway does not know the profile\'s key', async () => {
    const failure = await cli(['token', 'demo'], { credentials: { accessKeyId: 'ASIAREALKEYFROMSSO00', secretAccessKey: 'real-secret-0123456789abcdefghijklmnopq' } }, { AWS_PROFILE: 'sso-dev' });
    assert.equal(failure.code, EXIT.forbidden);
    assert.match(failure.err, /security token included in the request is invalid\.\nrackspace-token: AWS_PROFILE=sso-dev is set/);
  });

  it('with AWS_REGION for another region, says to export the gateway\'s region or unset it', async () => {
    const failure = await bin({ AWS_REGION: 'eu-west-1' });
    assert.equal(failure.code, EXIT.forbidden);
    assert.match(failure.stderr, /Credential should be scoped to a valid region, not 'eu-west-1'\. \nrackspace-token: This shell signs for another region than the local gateway's \(AWS_REGION=eu-west-1\): export AWS_REGION as npm start printed it, or unset AWS_REGION\.\n$/);
  });

  it('gives no such hint for a URL that is not local', async () => {
    const failure = await cli(['token', 'demo', '--url', 'http://127.0.0.2:9'], {}, { AWS_PROFILE: 'sso-dev' });
    assert.doesNotMatch(failure.err, /AWS_PROFILE/);
  });
});
