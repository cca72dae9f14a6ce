// `npm run build:client` (run by `prepare`, so after every `npm install`/`npm ci` and before `npm pack`):
// the client and the CLI as plain JavaScript in client/dist/. Node runs our TypeScript directly only
// outside node_modules, so an installed copy of this package needs the JavaScript.
import { build, type BuildOptions } from 'esbuild';
import { fileURLToPath } from 'node:url';

/** esbuild settings for client/dist/: ESM for Node 22+, the AWS SDK's credential chain left to the caller's install. */
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
    // Loaded only for AWS_PROFILE and the like; a dependency of this package, so an install has it.
    external: ['@aws-sdk/credential-provider-node'],
    logLevel: 'warning',
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await build(clientBuildOptions('client/dist'));
}
