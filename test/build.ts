// Bundles the handler the way it is deployed (the same settings serverless.yml gives
// serverless-esbuild), for benchmarks and the bundle-size figure. `--metafile` prints what dominates.
import { build, type BuildOptions } from 'esbuild';
import { writeFileSync } from 'node:fs';

const ESBUILD_OPTIONS: BuildOptions & { metafile: true } = {
  entryPoints: ['functions/token/handler.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  minify: true,
  // Without `module` first, the SDK's CJS build is picked and fails at send() ("Dynamic require of node:https").
  mainFields: ['module', 'main'],
  outfile: 'dist/handler.mjs',
  metafile: true,
  legalComments: 'none',
};

const result = await build(ESBUILD_OPTIONS);
const bytes = result.metafile.outputs['dist/handler.mjs']?.bytes ?? 0;
writeFileSync('dist/meta.json', JSON.stringify(result.metafile));
console.log(`dist/handler.mjs: ${bytes} bytes (${(bytes / 1024).toFixed(1)} KiB)`);
if (process.argv.includes('--metafile')) {
  const byPackage = new Map<string, number>();
  for (const [path, input] of Object.entries(result.metafile.outputs['dist/handler.mjs']?.inputs ?? {})) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? '(our code)';
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + input.bytesInOutput);
  }
  for (const [pkg, size] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${(size / 1024).toFixed(1).padStart(8)} KiB  ${pkg}`);
}
