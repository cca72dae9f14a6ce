import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { build } from 'esbuild';
import { byPackage } from '../build-options.ts';

// What `rackspace-token-vendor/client` costs a service that bundles it (esbuild, minified ESM for Node).

describe('client bundle', () => {
  it('bundles without any @aws-sdk package (the signer only), and the bundle works on its own', async () => {
    const outfile = 'client.mjs';
    const result = await build({
      entryPoints: ['client/index.ts'],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      minify: true,
      mainFields: ['module', 'main'],
      write: false,
      metafile: true,
      outfile,
    });
    const packages = byPackage(result.metafile, outfile).map(([name]) => name);
    assert.deepEqual(packages.filter((name) => name.startsWith('@aws-sdk/')), [], packages.join(', '));
    assert.ok(packages.includes('@smithy/signature-v4'), packages.join(', '));
    const file = join(mkdtempSync(join(tmpdir(), 'rtv-client-')), outfile);
    writeFileSync(file, result.outputFiles[0]?.contents ?? new Uint8Array());
    const bundled = (await import(pathToFileURL(file).href)) as typeof import('../../client/index.ts');
    assert.equal(bundled.regionFromHost('a1.execute-api.ap-south-1.amazonaws.com'), 'ap-south-1');
    assert.equal(typeof bundled.createTokenClient({ url: 'https://a1.execute-api.ap-south-1.amazonaws.com/prod' }).getToken, 'function');
  });
});
