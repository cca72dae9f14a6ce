// `npm start`'s launcher: plain JavaScript, so a Node too old for TypeScript (the machine's own, when
// npm fell back to it) gets one line saying what to run instead of ERR_UNKNOWN_FILE_EXTENSION.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`npm start: Node 22.18 or later is needed (it runs TypeScript); this is ${process.version}. Run 'npm ci', then 'npm start', which uses node_modules/.bin/node.\n`);
  // 79, as client/bin.mjs: the Node is too old (78 means a bad setting).
  process.exit(79);
}
await import('./start.ts');
