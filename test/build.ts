// `npm run build`: the deployed bundle in dist/, for benchmarks and the size figure.
// `-- --metafile` prints which packages dominate it.
import { build } from 'esbuild';
import { writeFileSync } from 'node:fs';
import { bundleOptions } from './build-options.ts';

const outfile = 'dist/handler.mjs';
const result = await build(bundleOptions(outfile));
const bytes = result.metafile.outputs[outfile]?.bytes ?? 0;
writeFileSync('dist/meta.json', JSON.stringify(result.metafile));
console.log(`${outfile}: ${bytes} bytes (${(bytes / 1024).toFixed(1)} KiB)`);
if (process.argv.includes('--metafile')) {
  const byPackage = new Map<string, number>();
  for (const [path, input] of Object.entries(result.metafile.outputs[outfile]?.inputs ?? {})) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? '(our code)';
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + input.bytesInOutput);
  }
  for (const [pkg, size] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${(size / 1024).toFixed(1).padStart(8)} KiB  ${pkg}`);
}
