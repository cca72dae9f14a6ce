#!/usr/bin/env node
// Launcher for `rackspace-token`: plain JavaScript, so an older Node gets a clear message instead of
// a syntax error. It runs the built CLI (client/dist, made by `prepare`), or in a checkout without a
// build the TypeScript itself, which Node 22.18+ runs outside node_modules.
import { existsSync } from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
const built = new URL('./dist/cli.mjs', import.meta.url);
const hasBuild = existsSync(built);
if (major < 22 || (!hasBuild && major === 22 && minor < 18)) {
  process.stderr.write(`rackspace-token needs Node ${hasBuild ? '22' : '22.18'} or later; this is ${process.version}.\n`);
  // EXIT.nodeTooOld in cli.ts, which this Node may not be able to load.
  process.exit(79);
}
// Jobs start this often: Node's on-disk compile cache (in the OS temp dir) spares re-compiling the
// client and its dependencies on every run.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
const { main } = await import(hasBuild ? built.href : './cli.ts');
process.exitCode = await main(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
});
