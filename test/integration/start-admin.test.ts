import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { observe } from '../support/leak-guard.ts';
import { freshCredentialsFile, startLocal, type Stops } from '../support/local-start.ts';

// The operators' lines `npm start` prints, pasted into a shell as printed (npx replaced by the
// launcher in this checkout): they reach the demo through the local stand-ins.

const stops: Stops = [];
after(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

const start = async () => (await startLocal(stops, { LOCAL_CREDENTIALS_FILE: freshCredentialsFile() })).printed;

/** Runs the printed export lines and one command with sh, in an environment with no AWS settings of its own. */
async function shell(exports: string[], command: string) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
  const script = [...exports, command.replace(/^npx rackspace-token /, `${JSON.stringify(process.execPath)} client/bin.mjs `)].join('\n');
  const result = await promisify(execFile)('sh', ['-c', script], { env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
  observe('printed admin call', `${result.stdout}${result.stderr}`);
  return result;
}

describe('npm start, for operators', () => {
  it('prints the endpoints and admin calls that flush and rotate the demo profile', async () => {
    const printed = await start();
    const exports = [...printed.matchAll(/^ {2}(export [A-Z_]+=.*)$/gm)].map((m) => m[1] as string);
    assert.deepEqual(exports.map((line) => line.split('=')[0]), ['export AWS_ACCESS_KEY_ID', 'export AWS_SECRET_ACCESS_KEY', 'export AWS_REGION', 'export RACKSPACE_TOKEN_URL', 'export AWS_ENDPOINT_URL_CLOUDFORMATION', 'export AWS_ENDPOINT_URL_LAMBDA', 'export AWS_ENDPOINT_URL_SECRETS_MANAGER']);
    const calls = [...printed.matchAll(/^ {2}(npx rackspace-token admin .*)$/gm)].map((m) => m[1] as string);
    assert.equal(calls.length, 2, printed);
    const flushed = await shell(exports, calls[0] as string);
    assert.deepEqual([flushed.code, flushed.stdout, flushed.stderr], [0, 'flush demo: 200 No token was held for this profile.\n', '']);
    const rotated = await shell(exports, calls[1] as string);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /^Rotation of profile 'demo' started/);
    const granted = await shell(exports, 'npx rackspace-token admin grant demo --stage local --role arn:aws:iam::111122223333:role/reporting');
    assert.match(granted.stdout, /"Resource": "arn:aws:execute-api:us-east-1:000000000000:local\/local\/GET\/v1\/profiles\/demo\/token"/);
  });
});
