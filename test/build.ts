// `npm run build`: the deployed bundle in dist/, for benchmarks and the size figure.
// `-- --metafile` prints which packages dominate it.
import { build } from 'esbuild';
import { writeFileSync } from 'node:fs';
import { bundleOptions, byPackage } from './build-options.ts';

const outfile = 'dist/handler.mjs';
const result = await build(bundleOptions(outfile));
const bytes = result.metafile.outputs[outfile]?.bytes ?? 0;
writeFileSync('dist/meta.json', JSON.stringify(result.metafile));
console.log(`${outfile}: ${bytes} bytes (${(bytes / 1024).toFixed(1)} KiB)`);
if (process.argv.includes('--metafile')) {
  for (const [pkg, size] of byPackage(result.metafile, outfile).slice(0, 15)) console.log(`${(size / 1024).toFixed(1).padStart(8)} KiB  ${pkg}`);
}
