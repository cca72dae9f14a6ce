import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { EXIT, main } from '../../client/cli.ts';
import type { TokenClientOptions } from '../../client/index.ts';
import { DEMO_USER } from '../emulators/identity.ts';
import { SEEDED_CALLERS } from '../local/credentials.ts';
import { startDemo } from '../local/demo.ts';
import { serveLocally } from '../local/http-adapter.ts';
import type { LocalKey } from '../local/sigv4.ts';
import { demoGateway } from '../support/demo-gateway.ts';
import { observe } from '../support/leak-guard.ts';

// `rackspace-token` against `npm start`'s own pieces: the demo handler behind the SigV4 gateway.

const YOU: LocalKey = { accessKeyId: 'AKLOCALCLITESTYOUAAA', secretAccessKey: 'cli-test-secret-you-0123456789abcdefghi', arn: SEEDED_CALLERS[0] };
const OTHER: LocalKey = { accessKeyId: 'AKLOCALCLITESTOTHERA', secretAccessKey: 'cli-test-secret-other-0123456789abcdefg', arn: SEEDED_CALLERS[1] };

const gateway = demoGateway([YOU, OTHER]);

/** One CLI run in process; stdout and stderr are observed by the leak guard like any output. */
async function cli(argv: string[], client: Partial<TokenClientOptions> = {}, env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const waits: number[] = [];
  const code = await main(argv, {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    env: { RACKSPACE_TOKEN_URL: gateway.url, ...env },
    client: { region: 'us-east-1', credentials: YOU, sleep: async (ms) => void waits.push(ms), ...client },
  });
  observe('cli stderr', err);
  return { code, out, err, waits };
}

/** A demo that has not authenticated yet, so Identity's answer decides the next request. */
async function withFreshDemo(test: (fresh: Awaited<ReturnType<typeof startDemo>>, url: string) => Promise<void>) {
  const fresh = await startDemo({ env: { IDENTITY_ATTEMPTS: '1' }, sink: () => {} });
  const served = await serveLocally(fresh.handler, { port: 0, keys: new Map([[YOU.accessKeyId, YOU]]), region: 'us-east-1' });
  try {
    await test(fresh, served.url);
  } finally {
    await served.close();
    await fresh.close();
  }
}

/** A URL nothing listens on. */
async function closedPort(): Promise<string> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

const files = ['--service', 'cloudFiles', '--region', 'dfw', '--interface', 'internal'];
const ENDPOINT = 'https://snet-storage101.dfw1.clouddrive.com/v1/MossoCloudFS_110011';

describe('rackspace-token', () => {
  it('token prints the JSON answer on stdout and nothing on stderr', async () => {
    const { code, out, err } = await cli(['token', 'demo', ...files]);
    assert.deepEqual([code, err], [0, '']);
    const answer = JSON.parse(out);
    assert.match(answer.token, /^AA/);
    assert.equal(answer.endpoint.url, ENDPOINT);
  });

  it('passes --service-version to the service as the catalog version', async () => {
    const found = await cli(['token', 'demo', '-s', 'compute', '-r', 'ord', '--service-version', '2']);
    assert.equal(found.code, 0, found.err);
    assert.equal(JSON.parse(found.out).endpoint.url, 'https://ord.servers.api.rackspacecloud.com/v2/110011');
    const missing = await cli(['token', 'demo', '-s', 'compute', '-r', 'ord', '--service-version', '9']);
    assert.equal(missing.code, EXIT.notFound);
    assert.match(missing.err, /no endpoint with version '9'/);
  });

  it('env prints shell export lines that sh evaluates to the token, tenant, endpoint and expiry', async () => {
    const { code, out, err } = await cli(['env', 'demo', ...files]);
    assert.deepEqual([code, err], [0, '']);
    assert.deepEqual(out.split('\n').filter(Boolean).map((line) => line.split('=')[0]), ['export AUTH_TOKEN', 'export TENANT_ID', 'export API_ENDPOINT', 'export AUTH_TOKEN_EXPIRES']);
    const { stdout } = await promisify(execFile)('sh', ['-c', `${out}\nprintf '%s|%s|%s' "$TENANT_ID" "$API_ENDPOINT" "$AUTH_TOKEN_EXPIRES"`]);
    const [tenant, endpoint, expires] = stdout.split('|');
    assert.deepEqual([tenant, endpoint], ['110011', ENDPOINT]);
    assert.ok(Date.parse(expires ?? '') > Date.now(), expires);
  });

  it('env without --service exports no API_ENDPOINT', async () => {
    const { out } = await cli(['env', 'demo']);
    assert.doesNotMatch(out, /API_ENDPOINT/);
    assert.match(out, /^export AUTH_TOKEN='AA/);
  });

  it('exec runs the command with the variables set, via the bin launcher and the standard credential chain, and exits with its status', async () => {
    const run = promisify(execFile)(process.execPath, ['client/bin.mjs', 'exec', 'demo', '-s', 'cloudFiles', '-r', 'dfw', '--', 'sh', '-c', 'echo "$API_ENDPOINT"; exit 3'], {
      env: { ...process.env, RACKSPACE_TOKEN_URL: gateway.url, AWS_ACCESS_KEY_ID: YOU.accessKeyId, AWS_SECRET_ACCESS_KEY: YOU.secretAccessKey, AWS_REGION: 'us-east-1', AWS_PROFILE: '', AWS_EC2_METADATA_DISABLED: 'true' },
    });
    const failure = await run.then(() => assert.fail('exit status 3 expected'), (error: { code: number; stdout: string; stderr: string }) => error);
    observe('cli stderr', failure.stderr);
    assert.deepEqual([failure.code, failure.stdout, failure.stderr], [3, 'https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_110011\n', '']);
  });

  it('exits with a distinct code per class of failure, the problem on stderr', async () => {
    const cases: Array<[string, string[], Partial<TokenClientOptions>, number, RegExp]> = [
      ['bad request', ['token', 'demo', '--min-ttl', '5'], {}, EXIT.badRequest, /^rackspace-token: Bad request \(HTTP 400\): Query parameter 'minTtl'/],
      ['not found', ['token', 'demo', '-s', 'cloudFiles', '-r', 'syd'], {}, EXIT.notFound, /Endpoint not found \(HTTP 404\).*\n {2}available: \["DFW","ORD","IAD"\]/],
      ['forbidden by the service', ['token', 'demo'], { credentials: OTHER }, EXIT.forbidden, /Forbidden \(HTTP 403\): The caller may not obtain a token for this profile\./],
      ['refused by API Gateway', ['token', 'demo'], { credentials: { ...YOU, secretAccessKey: 'wrong-0123456789abcdefghijklmnopqrstuvw' } }, EXIT.forbidden, /API Gateway refused the request \(HTTP 403\): The request signature we calculated/],
      ['unreachable', ['token', 'demo', '--url', await closedPort()], {}, EXIT.unavailable, /Token vendor unreachable: No answer from 127\.0\.0\.1:\d+: fetch failed \(ECONNREFUSED\)/],
    ];
    for (const [name, argv, client, expected, stderr] of cases) {
      const { code, out, err } = await cli(argv, client);
      assert.equal(code, expected, `${name}: ${err}`);
      assert.equal(out, '', name);
      assert.match(err, stderr, name);
    }
  });

  it('honours Retry-After once on 503, then exits 75 saying when to retry', async () => {
    await withFreshDemo(async (fresh, url) => {
      fresh.identity.injectFaults({ status: 429, headers: { 'retry-after': '7' } }, { status: 429, headers: { 'retry-after': '7' } });
      const { code, err, waits } = await cli(['token', 'demo', '--url', url]);
      assert.deepEqual([code, waits], [EXIT.unavailable, [7000]]);
      assert.match(err, /Upstream unavailable \(HTTP 503\): .*\(retry after 7 s\)$/m);
    });
  });

  it('exits 69 when Identity refuses the custodied credentials', async () => {
    await withFreshDemo(async (fresh, url) => {
      fresh.identity.setUser(DEMO_USER.username, { apiKey: 'rotated-elsewhere-0123456789' });
      const { code, err } = await cli(['token', 'demo', '--url', url]);
      assert.equal(code, EXIT.upstreamRefused, err);
      assert.match(err, /HTTP 502/);
    });
  });

  it('refuses a wrong command line with 64 and names the problem', async () => {
    for (const [argv, message] of [
      [['token'], /PROFILE is missing/],
      [['token', 'demo', '--colour'], /Unknown option '--colour'/],
      [['token', 'demo', '--interface', 'private'], /--interface must be public or internal/],
      [['exec', 'demo'], /exec needs a command after --/],
      [['fetch', 'demo'], /unknown command 'fetch'/],
    ] as const) {
      const { code, err } = await cli([...argv]);
      assert.equal(code, EXIT.usage, argv.join(' '));
      assert.match(err, message);
    }
  });

  it('exits 78 without a URL', async () => {
    const { code, err } = await cli(['token', 'demo'], {}, { RACKSPACE_TOKEN_URL: '' });
    assert.equal(code, EXIT.config);
    assert.match(err, /No URL: pass --url or set RACKSPACE_TOKEN_URL/);
  });

  it('prints help for every command', async () => {
    for (const command of ['token', 'env', 'exec']) {
      const { code, out } = await cli([command, '--help']);
      assert.equal(code, 0);
      assert.match(out, new RegExp(`^Usage: rackspace-token ${command} PROFILE`));
      assert.match(out, /--min-ttl N/);
    }
    const { code, out } = await cli(['--help']);
    assert.equal(code, 0);
    assert.match(out, /Exit codes: 64 usage/);
  });
});
