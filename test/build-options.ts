import { createRequire } from 'node:module';
import type { BuildOptions } from 'esbuild';

const { shared } = createRequire(import.meta.url)('../infra/esbuild.cjs') as { shared: BuildOptions };

/** The deployed bundle's esbuild settings (infra/esbuild.cjs, which serverless.yml uses too). */
export function bundleOptions(outfile: string): BuildOptions & { metafile: true } {
  return { ...shared, entryPoints: ['functions/token/handler.ts'], outfile, metafile: true };
}
