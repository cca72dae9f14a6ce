// `npm run build:client` (run by `prepare`, so after every `npm install`/`npm ci`, before `npm pack`
// and `npm publish`, and when npm installs the package from git): the client and the CLI as plain
// JavaScript in client/dist/, which is all the package ships (package.json `files`). Node runs our
// TypeScript directly only outside node_modules, so an installed copy needs the JavaScript.
import { build, type BuildOptions } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * esbuild settings for client/dist/: ESM for Node 22+, everything bundled, so the installed package
 * has no dependencies at all (it installs offline, from a tarball, in a second). The operators'
 * commands and the SDK's credential chain are chunks of their own, loaded only when used.
 */
export function clientBuildOptions(outdir: string): BuildOptions {
  return {
    entryPoints: { index: 'client/index.ts', cli: 'client/cli.ts' },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    mainFields: ['module', 'main'],
    logLevel: 'warning',
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Chunk names change with their content: an old build's chunks would otherwise ship too.
  rmSync('client/dist', { recursive: true, force: true });
  await build(clientBuildOptions('client/dist'));
  // The client's types for TypeScript callers (package.json exports `types`): what the sources declare.
  const tsc = fileURLToPath(new URL('bin/tsc', import.meta.resolve('typescript/package.json')));
  execFileSync(process.execPath, [tsc, 'client/index.ts', '--ignoreConfig', '--declaration', '--emitDeclarationOnly', '--outDir', 'client/dist/types', '--module', 'nodenext', '--target', 'es2024', '--strict', '--skipLibCheck', '--allowImportingTsExtensions', '--rewriteRelativeImportExtensions', '--types', 'node'], { stdio: 'inherit' });
}
