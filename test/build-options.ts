import { createRequire } from 'node:module';
import type { BuildOptions, Metafile } from 'esbuild';

const { shared } = createRequire(import.meta.url)('../infra/esbuild.cjs') as { shared: BuildOptions };

/** The deployed bundle's esbuild settings (infra/esbuild.cjs, which serverless.yml uses too). */
export function bundleOptions(outfile: string): BuildOptions & { metafile: true } {
  return { ...shared, entryPoints: ['functions/token/handler.ts'], outfile, metafile: true };
}

/** Bytes in `outfile` per npm package (our own files as "(our code)"), largest first. */
export function byPackage(meta: Metafile, outfile: string): Array<[string, number]> {
  const sizes = new Map<string, number>();
  for (const [path, input] of Object.entries(meta.outputs[outfile]?.inputs ?? {})) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? '(our code)';
    sizes.set(pkg, (sizes.get(pkg) ?? 0) + input.bytesInOutput);
  }
  return [...sizes].sort((a, b) => b[1] - a[1]);
}
