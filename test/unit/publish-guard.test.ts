import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { publishRefusal } from '../../client/publish-guard.ts';

describe('publishing (prepublishOnly)', () => {
  it('refuses the public registry, and an unset one (npm\'s default is the public one)', () => {
    for (const registry of ['https://registry.npmjs.org/', 'https://registry.npmjs.org', 'http://registry.npmjs.org/', undefined, '']) {
      assert.match(publishRefusal(registry) ?? '', /^rackspace-token-vendor is published to your organisation's registry only: run npm publish --registry/, String(registry));
    }
  });

  it('lets an internal registry through', () => {
    for (const registry of ['https://npm.internal.example.com/', 'https://example.jfrog.io/artifactory/api/npm/npm-local/', 'http://localhost:4873/']) assert.equal(publishRefusal(registry), null);
  });

  it('exits non-zero with the one line when npm runs it for the public registry', async () => {
    const run = (registry: string) => promisify(execFile)(process.execPath, ['client/publish-guard.ts'], { env: { ...process.env, npm_config_registry: registry } }).then(({ stderr }) => ({ code: 0, stderr }), (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }));
    const refused = await run('https://registry.npmjs.org/');
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr.split('\n').length, 2);
    assert.deepEqual(await run('https://npm.internal.example.com/'), { code: 0, stderr: '' });
  });
});
