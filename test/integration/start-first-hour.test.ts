import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { EXIT } from '../../client/cli.ts';
import { observe } from '../support/leak-guard.ts';
import { startLocal, type Stops } from '../support/local-start.ts';

// What a newcomer meets in the first hour of `npm start`: a refusal is one line that names what to
// change, never a Node stack trace.

const SCRIPT = 'test/local/start.mjs';
const stops: Stops = [];
after(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

const scratch = () => mkdtempSync(join(tmpdir(), 'rtv-first-hour-'));
const freshCredentialsFile = () => join(scratch(), 'credentials.json');
/** The caller's AWS settings cleared, so the machine running the suite does not decide the outcome. */
const clean = { AWS_PROFILE: '', AWS_REGION: '', AWS_DEFAULT_REGION: '' };

/** Runs `npm start`'s script with `env` until it exits, with everything it printed. */
async function refused(env: Record<string, string>, node = process.execPath): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(node, [SCRIPT], { env: { ...process.env, PORT: '0', ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  stops.push(async () => void child.kill('SIGTERM'));
  const [code] = (await once(child, 'exit')) as [number | null];
  observe('npm start output', stdout + stderr);
  return { code, stdout, stderr };
}

/** Starts it for good; resolves with the banner once the last banner line is out. */
const started = async (env: Record<string, string>) => (await startLocal(stops, { ...clean, ...env }, { script: SCRIPT })).printed;

function assertOneLine(result: { stdout: string; stderr: string }, pattern: RegExp) {
  assert.equal(result.stdout, '', 'nothing on stdout');
  assert.match(result.stderr, /^npm start: [^\n]+\n$/, `one line:\n${result.stderr}`);
  assert.match(result.stderr, pattern);
}

/** A Node older than 22 on this machine (its own /usr/bin/node is 20 here), or null. */
async function oldNode(): Promise<string | null> {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node', '/bin/node']) {
    const version = await promisify(execFile)(candidate, ['--version']).then(({ stdout }) => stdout.trim(), () => null);
    if (version !== null && Number(version.slice(1).split('.')[0]) < 22) return candidate;
  }
  return null;
}
const old = await oldNode();

describe('npm start, the first hour', () => {
  it('refuses a second start on a busy port with one line naming PORT, and no stack trace', async () => {
    const banner = await started({ LOCAL_CREDENTIALS_FILE: freshCredentialsFile() });
    const port = /RACKSPACE_TOKEN_URL='http:\/\/127\.0\.0\.1:(\d+)'/.exec(banner)?.[1];
    assert.ok(port, banner);
    const second = await refused({ PORT: port, LOCAL_CREDENTIALS_FILE: freshCredentialsFile() });
    assert.equal(second.code, 78);
    assertOneLine(second, new RegExp(`Port ${port} is in use .*set PORT to a free port`));
  });

  it('refuses each bad setting with one line naming it, exit 78', async () => {
    const dir = scratch();
    const junk = join(dir, 'junk.json');
    writeFileSync(junk, 'not json at all');
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ PORT: 'http' }, /PORT must be a port number, 0-65535 .*not 'http'/],
      [{ PORT: '70000' }, /PORT must be a port number/],
      [{ USE_REAL_SERVICES: 'yes' }, /USE_REAL_SERVICES must be 1 .* not 'yes'/],
      [{ USE_REAL_SERVICES: '1', LOCAL_CALLER_ARN: '' }, /USE_REAL_SERVICES=1 needs LOCAL_CALLER_ARN/],
      [{ USE_REAL_SERVICES: '1', LOCAL_CALLER_ARN: 'me' }, /LOCAL_CALLER_ARN must be an assumed-role ARN/],
      [{ LOCAL_CREDENTIALS_FILE: dir }, /cannot be read \(EISDIR\): point LOCAL_CREDENTIALS_FILE/],
      [{ LOCAL_CREDENTIALS_FILE: join(dir, 'missing', 'credentials.json') }, /cannot be created \(ENOENT\): point LOCAL_CREDENTIALS_FILE/],
      [{ LOCAL_CREDENTIALS_FILE: junk }, /is not a local credentials file \(not JSON\); delete it/],
      [{ USE_REAL_SERVICES: '1', LOCAL_CALLER_ARN: 'arn:aws:sts::000000000000:assumed-role/r/me', LOCAL_CREDENTIALS_FILE: freshCredentialsFile(), IDENTITY_URL: 'not a url' }, /Invalid configuration: IDENTITY_URL/],
    ];
    for (const [env, pattern] of cases) {
      const result = await refused(env);
      assert.equal(result.code, 78, `${JSON.stringify(env)}: ${result.stderr}`);
      assertOneLine(result, pattern);
    }
  });

  it('says in the banner what to unset when the shell has AWS_PROFILE or another region', async () => {
    const banner = await started({ LOCAL_CREDENTIALS_FILE: freshCredentialsFile(), AWS_PROFILE: 'sso-dev', AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-east-1' });
    assert.match(banner, /Note: AWS_PROFILE=sso-dev is set here: .*unset AWS_PROFILE/);
    assert.match(banner, /Note: AWS_REGION=eu-west-1 is set here, but this gateway verifies us-east-1/);
    assert.doesNotMatch(banner, /AWS_DEFAULT_REGION=/, 'a matching region needs no note');
    const quiet = await started({ LOCAL_CREDENTIALS_FILE: freshCredentialsFile() });
    assert.doesNotMatch(quiet, /Note:/);
  });

  it('on a Node older than 22, npm start and rackspace-token say which Node they need, exit 79', { skip: old === null && 'no Node older than 22 on this machine' }, async () => {
    const start = await refused({}, old as string);
    assert.equal(start.code, 79);
    assertOneLine(start, /Node 22\.18 or later is needed .*this is v\d+/);
    const cli = await promisify(execFile)(old as string, ['client/bin.mjs', '--version']).then(() => assert.fail('expected exit 79'), (error: { code: number; stdout: string; stderr: string }) => error);
    assert.equal(cli.code, EXIT.nodeTooOld);
    assert.equal(cli.stdout, '');
    assert.match(cli.stderr, /^rackspace-token needs Node 22(\.18)? or later; this is v\d+[^\n]*\n$/);
  });
});
