// npm falls back to the machine's Node silently when the `node` devDependency's install script
// was skipped; the suite needs Node 22+ (type stripping, middy 7), so say so loudly instead.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  console.error(`Node ${process.versions.node} is too old: run 'npm ci' so node_modules/.bin/node (Node 24) is used.`);
  process.exit(1);
}
