import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DECLARED, startDeclaredEmulators } from '../support/declared.ts';
import { observe, observeAnswer } from '../support/leak-guard.ts';
import { freshCredentialsFile, startLocal, type Stops } from '../support/local-start.ts';
import { signedHeaders } from '../support/signed.ts';

const stops: Stops = [];
after(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});


const start = (env: Record<string, string>, ready: RegExp) => startLocal(stops, env, { ready });

async function get(url: string, headers: Record<string, string> = {}) {
  const answer = await fetch(url, { headers });
  const body = await answer.text();
  observeAnswer('npm start answer', { statusCode: answer.status, headers: Object.fromEntries(answer.headers), body });
  return { status: answer.status, headers: answer.headers, json: JSON.parse(body) as Record<string, any> };
}

/** Runs one printed shell line with sh, as a person pasting it would. */
async function run(line: string) {
  const { stdout } = await promisify(execFile)('sh', ['-c', line]);
  observe('printed call', stdout);
  return JSON.parse(stdout) as Record<string, any>;
}

const curlAvailable = await promisify(execFile)('curl', ['--version']).then(() => true, () => false);
const exported = (printed: string, name: string) => new RegExp(`export ${name}='([^']*)'`).exec(printed)?.[1] ?? '';

// The README's first command: `npm start` prints calls; the calls it prints must do what it says.
describe('npm start', () => {
  it('creates a private credentials file and prints export lines that sign a working request', async () => {
    const file = freshCredentialsFile();
    const { printed } = await start({ LOCAL_CREDENTIALS_FILE: file }, /Unsigned.*\n.*\n/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    const key = { accessKeyId: exported(printed, 'AWS_ACCESS_KEY_ID'), secretAccessKey: exported(printed, 'AWS_SECRET_ACCESS_KEY') };
    assert.deepEqual(key, { accessKeyId: saved.keys[0].accessKeyId, secretAccessKey: saved.keys[0].secretAccessKey });
    assert.equal(exported(printed, 'AWS_REGION'), 'us-east-1');
    const url = `${exported(printed, 'RACKSPACE_TOKEN_URL')}/v1/profiles/demo/token?service=cloudFiles&region=dfw&interface=internal`;
    const answer = await get(url, await signedHeaders(url, key));
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    assert.equal(answer.headers.get('cache-control'), 'no-store');
    assert.equal(answer.json.endpoint.url, 'https://snet-storage101.dfw1.clouddrive.com/v1/MossoCloudFS_110011');
    const unsigned = await get(url);
    assert.deepEqual([unsigned.status, unsigned.json], [403, { message: 'Missing Authentication Token' }]);
  });

  it('prints a stock-curl call that returns a token, one for a caller the profile refuses, and an unsigned one that the gateway refuses', { skip: !curlAvailable && 'curl is not installed' }, async () => {
    const { printed } = await start({ LOCAL_CREDENTIALS_FILE: freshCredentialsFile() }, /Unsigned.*\n.*\n/);
    const calls = [...printed.matchAll(/^ {2}(curl -s .*)$/gm)].map((match) => match[1] as string);
    assert.equal(calls.length, 3, printed);
    const [works, refused, unsigned] = calls as [string, string, string];
    assert.match(works, /--aws-sigv4 'aws:amz:us-east-1:execute-api'/);
    const answer = await run(works);
    assert.match(answer.token, /^AA/);
    assert.equal(answer.endpoint.url, 'https://snet-storage101.dfw1.clouddrive.com/v1/MossoCloudFS_110011');
    assert.equal((await run(refused)).type, 'urn:rackspace-token-vendor:problem:forbidden');
    assert.deepEqual(await run(unsigned), { message: 'Missing Authentication Token' });
  });

  it('keeps the credentials file it finds: the keys printed on the second start are the first start\'s', async () => {
    const file = freshCredentialsFile();
    const first = await start({ LOCAL_CREDENTIALS_FILE: file }, /RACKSPACE_TOKEN_URL/);
    const second = await start({ LOCAL_CREDENTIALS_FILE: file }, /RACKSPACE_TOKEN_URL/);
    assert.match(first.printed, /just created/);
    assert.doesNotMatch(second.printed, /just created/);
    assert.equal(exported(second.printed, 'AWS_SECRET_ACCESS_KEY'), exported(first.printed, 'AWS_SECRET_ACCESS_KEY'));
  });

  it('with USE_REAL_SERVICES=1 serves the deployed handler module, configured only by the environment, as the caller named at start', async () => {
    // "Real" services stood in for by the emulators, reached only through the documented variables.
    const { identity, secrets, env, close } = await startDeclaredEmulators();
    stops.push(close);
    const { printed } = await start({ USE_REAL_SERVICES: '1', LOCAL_CALLER_ARN: DECLARED.caller, LOCAL_CREDENTIALS_FILE: freshCredentialsFile(), ...env }, /Unsigned.*\n.*\n/);
    const url = /curl -s --aws-sigv4 .* '([^']+)'$/m.exec(printed)?.[1]?.replace('PROFILE', DECLARED.profile).replace('region=DFW', 'region=ord');
    assert.ok(url, printed);
    const key = { accessKeyId: exported(printed, 'AWS_ACCESS_KEY_ID'), secretAccessKey: exported(printed, 'AWS_SECRET_ACCESS_KEY') };
    const answer = await get(url, await signedHeaders(url, key));
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    assert.equal(answer.json.endpoint.url, 'https://storage101.ord1.clouddrive.com/v1/MossoCloudFS_110011');
    assert.deepEqual([identity.calls, secrets.calls.GetSecretValue], [1, 1]);
    const impersonating = await get(url, await signedHeaders(url, key, { headers: { 'x-local-caller-arn': 'arn:aws:sts::000000000000:assumed-role/other/x' } }));
    assert.equal(impersonating.status, 403);
    assert.equal(identity.calls, 1);
  });

  it('with USE_REAL_SERVICES=1 and no caller named, refuses to start', async () => {
    const { printed, exit } = await start({ USE_REAL_SERVICES: '1', LOCAL_CALLER_ARN: '', LOCAL_CREDENTIALS_FILE: freshCredentialsFile() }, /LOCAL_CALLER_ARN/);
    assert.match(printed, /USE_REAL_SERVICES=1 needs LOCAL_CALLER_ARN/);
    assert.equal((await exit)[0], 78);
  });
});
