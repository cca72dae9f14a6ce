import type { BuildOptions } from 'esbuild';

/** The deployed bundle's esbuild settings; serverless.yml gives serverless-esbuild the same. */
export function bundleOptions(outfile: string): BuildOptions & { metafile: true } {
  return {
    entryPoints: ['functions/token/handler.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    // Without `module` first, the SDK's CJS build is picked and fails at send() ("Dynamic require of node:https").
    mainFields: ['module', 'main'],
    outfile,
    metafile: true,
    legalComments: 'none',
  };
}
