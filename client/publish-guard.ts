// `prepublishOnly`: the package is for an internal registry (or a tarball, or git), never the public
// one. `private: true` would refuse every registry; this refuses only registry.npmjs.org, with one
// line saying what to do instead.
import { fileURLToPath } from 'node:url';

const PUBLIC = /^https?:\/\/registry\.npmjs\.org\/?$/;

/** The line refusing a publish to `registry`, or null when it may go ahead. */
export function publishRefusal(registry: string | undefined): string | null {
  if (registry && !PUBLIC.test(registry.trim())) return null;
  return `rackspace-token-vendor is published to your organisation's registry only: run npm publish --registry https://YOUR-REGISTRY/ (or set publishConfig.registry), not to ${registry || 'the default registry'}.`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const refusal = publishRefusal(process.env.npm_config_registry);
  if (refusal) {
    process.stderr.write(`${refusal}\n`);
    process.exitCode = 1;
  }
}
