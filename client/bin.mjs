#!/usr/bin/env node
// Launcher for `rackspace-token`: plain JavaScript, so an older Node gets a clear message instead of
// a syntax error from the TypeScript it would otherwise be handed.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`rackspace-token needs Node 22.18 or later (it runs TypeScript directly); this is ${process.version}.\n`);
  process.exit(78);
}
// Jobs start this often: Node's on-disk compile cache (in the OS temp dir) spares re-compiling the
// client and its dependencies on every run.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
});
