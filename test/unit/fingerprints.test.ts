import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Credentials } from '../../functions/core/credentials.ts';
import { identityFingerprint, keyFingerprint } from '../../functions/core/fingerprints.ts';

const URL = 'https://identity.api.rackspacecloud.com/v2.0';
const base: Credentials = { username: 'billing-bot', secret: { kind: 'apiKey', apiKey: 'key-0123456789abcdef' }, tenant: { tenantId: '123456' }, identityUrl: null };

describe('Function: identityFingerprint', () => {
  it('names the identity (username, tenant, Identity URL) and ignores the key', () => {
    const fp = identityFingerprint(base, URL);
    assert.equal(identityFingerprint({ ...base, secret: { kind: 'password', password: 'another-secret-value' } }, URL), fp);
    assert.equal(identityFingerprint({ ...base, identityUrl: `${URL}/` }, 'https://elsewhere.example/v2.0'), fp, 'the default URL applies only when the secret names none');
    for (const other of [{ ...base, username: 'other-bot' }, { ...base, tenant: { tenantName: '123456' } }, { ...base, tenant: null }, { ...base, identityUrl: 'https://lon.identity.api.rackspacecloud.com/v2.0' }]) {
      assert.notEqual(identityFingerprint(other, URL), fp);
    }
    assert.ok(!fp.includes('billing'));
  });
});

describe('Function: keyFingerprint', () => {
  it('is stable for one key and identity, differs for another key or identity, and does not contain the key', async () => {
    const fp = await keyFingerprint(base, 'id-1');
    assert.equal(await keyFingerprint(base, 'id-1'), fp);
    assert.notEqual(await keyFingerprint(base, 'id-2'), fp);
    assert.notEqual(await keyFingerprint({ ...base, secret: { kind: 'apiKey', apiKey: 'key-fedcba9876543210' } }, 'id-1'), fp);
    assert.equal(fp.length, 22);
    assert.ok(!fp.includes('0123456789'));
  });
});
