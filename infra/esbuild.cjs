'use strict';
// The deployed bundle's esbuild settings, in one place: serverless-esbuild loads this file
// (serverless.yml `custom.esbuild.config`), and test/build-options.ts reuses it for `npm run build`,
// the bundle test and the benchmarks, so what we measure is what we ship.
const { readFile } = require('node:fs/promises');
const path = require('node:path');

// Each AWS SDK client imports its whole package.json for one field, its version (the user agent):
// ~2 KiB per client of scripts, dependencies and keywords otherwise.
const sdkPackageVersionOnly = {
  name: 'sdk-package-version-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]@aws-sdk[\\/][^\\/]+[\\/]package\.json$/ }, async (args) => {
      const { name, version } = JSON.parse(await readFile(args.path, 'utf8'));
      return { contents: JSON.stringify({ name, version }), loader: 'json' };
    });
  },
};

const shared = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  minify: true,
  // Without `module` first, the SDK's CJS build is picked and fails at send() ("Dynamic require of node:https").
  mainFields: ['module', 'main'],
  legalComments: 'none',
  plugins: [sdkPackageVersionOnly],
  alias: {
    // In Lambda the function's credentials are always in the environment; the default chain's
    // INI, SSO, STS web-identity and IMDS providers (and the clients they carry) are dead weight.
    '@aws-sdk/credential-provider-node': path.join(__dirname, '..', 'functions', 'adapters', 'lambda-credentials.ts'),
    // The DynamoDB client's endpoint cache needs six methods of an LRU cache, not mnemonist (~7 KiB).
    'mnemonist/lru-cache': path.join(__dirname, '..', 'functions', 'adapters', 'lru-cache.ts'),
  },
};

/**
 * The stage's declaration in place of infra/profiles.json (infra/declaration.cjs): a stage with its
 * own infra/profiles.<stage>.json ships that file, the one its template was generated from.
 */
const stageDeclaration = (stage) => ({
  name: 'stage-declaration',
  setup(build) {
    const { declarationFile } = require('./declaration.cjs');
    const file = path.join(__dirname, '..', declarationFile(stage));
    build.onResolve({ filter: /infra\/profiles\.json$/ }, () => ({ path: file }));
  },
});

// serverless-esbuild calls the exported function with the serverless instance (its stage resolved);
// `shared` is for test/build-options.ts.
module.exports = (serverless) => ({
  ...shared,
  outputFileExtension: '.mjs',
  exclude: [], // bundle the AWS SDK too: one pinned client, no dependence on the runtime's copy
  plugins: [stageDeclaration(serverless.service.provider.stage)],
});
module.exports.shared = shared;
