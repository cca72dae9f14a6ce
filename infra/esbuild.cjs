'use strict';
// The deployed bundle's esbuild settings, in one place: serverless-esbuild loads this file
// (serverless.yml `custom.esbuild.config`), and test/build-options.ts reuses it for `npm run build`,
// the bundle test and the benchmarks, so what we measure is what we ship.
const path = require('node:path');

const shared = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  minify: true,
  // Without `module` first, the SDK's CJS build is picked and fails at send() ("Dynamic require of node:https").
  mainFields: ['module', 'main'],
  legalComments: 'none',
  alias: {
    // In Lambda the function's credentials are always in the environment; the default chain's
    // INI, SSO, STS web-identity and IMDS providers (and the clients they carry) are dead weight.
    '@aws-sdk/credential-provider-node': path.join(__dirname, '..', 'functions', 'adapters', 'lambda-credentials.ts'),
  },
};

// serverless-esbuild calls the exported function; `shared` is for test/build-options.ts.
module.exports = () => ({
  ...shared,
  outputFileExtension: '.mjs',
  exclude: [], // bundle the AWS SDK too: one pinned client, no dependence on the runtime's copy
});
module.exports.shared = shared;
