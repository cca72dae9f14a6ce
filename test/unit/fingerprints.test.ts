import assert from 'node:assert/strict';
import { createHash, scryptSync } from 'node:crypto';
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

// Both fingerprints are stored in the shared table: another format would make every record written
// by the previous version unreadable (identity) or forget every refusal (key). The formats, spelled out:
describe('Fingerprint formats (persisted, so pinned)', () => {
  const sha = (text: string) => createHash('sha256').update(text).digest('base64url').slice(0, 22);

  it('identity: SHA-256 of "identity/v1", username, tenant (id: or name:) and the URL without trailing slashes, one per line', () => {
    assert.equal(identityFingerprint(base, URL), sha(`identity/v1\nbilling-bot\nid:123456\n${URL}`));
    assert.equal(identityFingerprint({ ...base, tenant: { tenantName: 'acme' } }, `${URL}//`), sha(`identity/v1\nbilling-bot\nname:acme\n${URL}`));
    assert.equal(identityFingerprint({ ...base, tenant: null }, URL), sha(`identity/v1\nbilling-bot\n\n${URL}`));
  });

  it('key: scrypt of the API key or password, salted with "refused-key/v1" and the identity, 16 bytes', async () => {
    const password: Credentials = { ...base, secret: { kind: 'password', password: 'pass-0123456789' } };
    assert.equal(await keyFingerprint(base, 'id-1'), scryptSync('key-0123456789abcdef', 'refused-key/v1\nid-1', 16, { N: 2 ** 14, r: 8, p: 1 }).toString('base64url'));
    assert.equal(await keyFingerprint(password, 'id-1'), scryptSync('pass-0123456789', 'refused-key/v1\nid-1', 16, { N: 2 ** 14, r: 8, p: 1 }).toString('base64url'));
  });
});
