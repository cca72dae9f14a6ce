import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactReplacer } from '../../functions/core/sensitive.ts';
import type { Token } from '../../functions/core/token.ts';
import { SESSION_STAGE, sessionText } from '../../functions/rotate/session.ts';
import { runStep } from '../../functions/rotate/steps.ts';
import { deps, memoryVersions, NOW } from '../support/rotation-fakes.ts';

// The logger blanks every key and token the rotation function has registered (functions/core/sensitive.ts).
// The registry keeps one slot per custodied thing, and a slot remembers only its last two values: so
// one environment rotating three secrets must register each secret's values under that secret's
// name, or the first secret's would be forgotten while still in use. Each test has its own values:
// what an earlier test registered proves nothing here.

const SECRETS = ['billing', 'backup', 'cdn'];
const arn = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:rackspace/${name}`;
const valuesOf = (test: string, name: string) => ({
  oldKey: `${test}-${name}-old-key-0123456789`,
  newKey: `${test}-${name}-new-key-0123456789`,
  token: `${test}-${name}-token-0123456789`,
});
const tokenWith = (id: string): Token => ({ id, expiresAt: NOW + 3_600_000, tenant: null, defaultRegion: null, catalog: [], userId: '10040001' });
const secretText = (apiKey: string) => JSON.stringify({ username: 'bot', apiKey });

/** The values a log line would still show, named: none when all are blanked. */
function shown(values: Record<string, string>): string[] {
  return Object.entries(values).flatMap(([what, value]) => (redactReplacer('note', `sent ${value} by mistake`) === 'sent [REDACTED] by mistake' ? [] : [what]));
}

describe('Rotation steps: every secret keeps its keys and tokens blanked in logs when one environment rotates several', () => {
  it('createSecret: the old key, the Identity token and the new key', async () => {
    for (const name of SECRETS) {
      const { oldKey, newKey, token } = valuesOf('reset', name);
      const { store } = memoryVersions({ v1: { secretString: secretText(oldKey), stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] } });
      const d = deps(store, { authenticate: async () => tokenWith(token), keys: { reset: async () => newKey, current: async () => newKey } });
      assert.equal((await runStep('createSecret', arn(name), 'v2', d)).outcome, 'reset');
    }
    for (const name of SECRETS) assert.deepEqual(shown(valuesOf('reset', name)), [], name);
  });

  it("createSecret whose reset answered another key than the one read back: both keys and the Identity token", async () => {
    for (const name of SECRETS) {
      const { oldKey, newKey, token } = valuesOf('reread', name);
      const { store } = memoryVersions({ v1: { secretString: secretText(oldKey), stages: ['AWSCURRENT'] }, v2: { secretString: null, stages: ['AWSPENDING'] } });
      const d = deps(store, { authenticate: async () => tokenWith(token), keys: { reset: async () => `reread-${name}-answered-0123456789`, current: async () => newKey } });
      assert.equal((await runStep('createSecret', arn(name), 'v2', d)).outcome, 'reset');
    }
    for (const name of SECRETS) {
      const { newKey, token } = valuesOf('reread', name);
      assert.deepEqual(shown({ answered: `reread-${name}-answered-0123456789`, newKey, token }), [], name);
    }
  });

  it("createSecret that reads the key back: the old key, the saved session's token and the recovered key", async () => {
    for (const name of SECRETS) {
      const { oldKey, newKey, token } = valuesOf('recover', name);
      const saved = sessionText({ rotation: 'v2', identityUrl: 'https://identity.api.rackspacecloud.com/v2.0', userId: '10040001', tokenId: token, expiresAt: NOW + 3_600_000 });
      const { store } = memoryVersions({
        v1: { secretString: secretText(oldKey), stages: ['AWSCURRENT'] },
        v2: { secretString: null, stages: ['AWSPENDING'] },
        v3: { secretString: saved, stages: [SESSION_STAGE] },
      });
      const refused = new Error('401');
      const d = deps(store, {
        authenticate: async () => Promise.reject(refused),
        isUnauthorized: (error) => error === refused,
        keys: { reset: async () => Promise.reject(new Error('no second reset')), current: async () => newKey },
      });
      assert.equal((await runStep('createSecret', arn(name), 'v2', d)).outcome, 'recovered');
    }
    for (const name of SECRETS) assert.deepEqual(shown(valuesOf('recover', name)), [], name);
  });

  it('testSecret: the new key and the Identity token', async () => {
    for (const name of SECRETS) {
      const { newKey, token } = valuesOf('test', name);
      const { store } = memoryVersions({ v1: { secretString: secretText(`test-${name}-current-0123456789`), stages: ['AWSCURRENT'] }, v2: { secretString: secretText(newKey), stages: ['AWSPENDING'] } });
      assert.equal((await runStep('testSecret', arn(name), 'v2', deps(store, { authenticate: async () => tokenWith(token) }))).outcome, 'tested');
    }
    for (const name of SECRETS) {
      const { newKey, token } = valuesOf('test', name);
      assert.deepEqual(shown({ newKey, token }), [], name);
    }
  });

  it('finishSecret: the new key and the Identity token', async () => {
    for (const name of SECRETS) {
      const { newKey, token } = valuesOf('finish', name);
      const { store } = memoryVersions({ v1: { secretString: secretText(`finish-${name}-current-0123456789`), stages: ['AWSCURRENT'] }, v2: { secretString: secretText(newKey), stages: ['AWSPENDING'] } });
      assert.equal((await runStep('finishSecret', arn(name), 'v2', deps(store, { authenticate: async () => tokenWith(token) }))).outcome, 'finished');
    }
    for (const name of SECRETS) {
      const { newKey, token } = valuesOf('finish', name);
      assert.deepEqual(shown({ newKey, token }), [], name);
    }
  });
});
