import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { clientBuildOptions } from '../../client/build.ts';

// Node refuses to run TypeScript under node_modules, so an installed copy of this package must run
// from client/dist. Lay one out as npm would (package.json, the launcher, the build) and use it.
const project = mkdtempSync(join(tmpdir(), 'rtv-install-'));
after(() => rmSync(project, { recursive: true, force: true }));
const installed = join(project, 'node_modules', 'rackspace-token-vendor');

async function install() {
  mkdirSync(join(installed, 'client'), { recursive: true });
  const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, unknown>; bin: Record<string, string> };
  writeFileSync(join(installed, 'package.json'), JSON.stringify({ name: 'rackspace-token-vendor', type: 'module', exports: manifest.exports, bin: manifest.bin }));
  cpSync('client/bin.mjs', join(installed, 'client', 'bin.mjs'));
  await build(clientBuildOptions(join(installed, 'client', 'dist')));
}

describe('rackspace-token-vendor installed under node_modules', () => {
  it('runs the CLI and exports the client from the JavaScript build, with no TypeScript and no other package', async () => {
    await install();
    const { stdout } = await promisify(execFile)(process.execPath, [join(installed, 'client', 'bin.mjs'), 'env', '--help']);
    assert.match(stdout, /rackspace-token env PROFILE/);
    writeFileSync(join(project, 'use.mjs'), "const c = await import('rackspace-token-vendor/client'); console.log(typeof c.createTokenClient, c.regionFromHost('a1.execute-api.eu-west-1.amazonaws.com'));");
    const used = await promisify(execFile)(process.execPath, [join(project, 'use.mjs')], { cwd: project });
    assert.equal(used.stdout.trim(), 'function eu-west-1');
  });
});
