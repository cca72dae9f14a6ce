import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../functions/config.ts';

const refuses = (env: Record<string, string>, pattern: RegExp) =>
  assert.throws(() => loadConfig(env), (error: unknown) => error instanceof Error && pattern.test(error.message));

describe('Function: loadConfig', () => {
  it('refuses an IDENTITY_URL with user info, a query or a fragment, without quoting it', () => {
    const pw = 'env-url-password-42';
    assert.throws(() => loadConfig({ IDENTITY_URL: `https://svc:${pw}@identity.example/v2.0` }), (error: unknown) =>
      error instanceof Error && /IDENTITY_URL must not contain user info/.test(error.message) && !error.message.includes(pw));
    refuses({ IDENTITY_URL: 'https://identity.example/v2.0?region=x' }, /IDENTITY_URL must not contain a query or a fragment/);
    refuses({ IDENTITY_URL: 'https://identity.example/v2.0#x' }, /IDENTITY_URL must not contain a query or a fragment/);
    assert.equal(loadConfig({ IDENTITY_URL: 'https://identity.example/v2.0' }).identityUrl, 'https://identity.example/v2.0');
  });
});
