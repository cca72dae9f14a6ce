import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCredentials, SecretFormatError } from '../../functions/core/credentials.ts';

const KEY = 'k3y-that-must-never-be-echoed';
const refuses = (secret: unknown, pattern: RegExp) => {
  const text = typeof secret === 'string' ? secret : JSON.stringify(secret);
  assert.throws(() => parseCredentials(text), (error: unknown) => {
    assert.ok(error instanceof SecretFormatError);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes(KEY), 'the message never holds a value');
    return true;
  });
};

describe('Function: parseCredentials', () => {
  it('reads an API key secret, trimming every value', () => {
    assert.deepEqual(parseCredentials(JSON.stringify({ username: ' demo ', apiKey: ` ${KEY}\n`, tenantId: ' 110011 ' })), {
      username: 'demo',
      secret: { kind: 'apiKey', apiKey: KEY },
      tenant: { tenantId: '110011' },
      identityUrl: null,
    });
  });

  it('reads a password secret with a tenant name and an https Identity URL', () => {
    const parsed = parseCredentials(JSON.stringify({ username: 'u', password: 'pw-123456', tenantName: 'acme', identityUrl: 'https://identity.example/v2.0' }));
    assert.deepEqual([parsed.secret, parsed.tenant, parsed.identityUrl], [{ kind: 'password', password: 'pw-123456' }, { tenantName: 'acme' }, 'https://identity.example/v2.0']);
  });

  it('allows plain http only for loopback hosts', () => {
    for (const host of ['127.0.0.1:8080', '127.10.200.30', 'localhost', '[::1]:9']) {
      assert.equal(parseCredentials(JSON.stringify({ username: 'u', apiKey: KEY, identityUrl: `http://${host}/v2.0` })).identityUrl, `http://${host}/v2.0`);
    }
    refuses({ username: 'u', apiKey: KEY, identityUrl: 'http://identity.example/v2.0' }, /'identityUrl' must use https/);
    // A host that merely starts or ends like a loopback name is not one.
    for (const host of ['localhost.evil.example', 'notlocalhost', '127.0.0.1.evil.example']) {
      refuses({ username: 'u', apiKey: KEY, identityUrl: `http://${host}/v2.0` }, /'identityUrl' must use https/);
    }
    refuses({ username: 'u', apiKey: KEY, identityUrl: 'not a url' }, /'identityUrl' must be an absolute URL/);
    refuses({ username: 'u', apiKey: KEY, identityUrl: 'ftp://localhost/v2.0' }, /'identityUrl' must use https/);
    // An @ further on, in the path, is not user info.
    assert.equal(parseCredentials(JSON.stringify({ username: 'u', apiKey: KEY, identityUrl: 'https://identity.example/v2.0//a@b' })).identityUrl, 'https://identity.example/v2.0//a@b');
    assert.equal(parseCredentials(JSON.stringify({ username: 'u', apiKey: KEY })).tenant, null, 'no tenant field: no tenant');
  });

  it('refuses user info, a query or a fragment in identityUrl, naming the field and never the URL', () => {
    const pw = 'pa55word-in-the-url';
    for (const url of [`http://user:${pw}@127.0.0.1:9/v2.0`, `https://user:${pw}@identity.example/v2.0`, `https://${pw}@identity.example/v2.0`, 'https://@identity.example/v2.0']) {
      assert.throws(() => parseCredentials(JSON.stringify({ username: 'u', apiKey: KEY, identityUrl: url })), (error: unknown) =>
        error instanceof SecretFormatError && /field 'identityUrl' must not contain user info/.test(error.message) && !error.message.includes(pw));
    }
    for (const url of ['https://identity.example/v2.0?x=1', 'https://identity.example/v2.0?', 'https://identity.example/v2.0#frag', 'https://identity.example/v2.0#']) {
      refuses({ username: 'u', apiKey: KEY, identityUrl: url }, /field 'identityUrl' must not contain a query or a fragment/);
    }
    assert.equal(parseCredentials(JSON.stringify({ username: 'u', apiKey: KEY, identityUrl: 'https://identity.example/v2.0/' })).identityUrl, 'https://identity.example/v2.0/');
  });

  it('refuses an empty user and password (`//:@`), which the URL parser drops, by reading the text', () => {
    for (const url of ['https://:@identity.example/v2.0', 'https://:@127.0.0.1/v2.0']) {
      refuses({ username: 'u', apiKey: KEY, identityUrl: url }, /^field 'identityUrl' must not contain user info/);
    }
  });

  it('refuses user info written without the slashes, which the URL parser still reads as user and password', () => {
    // `https:user@host` and `https::pw@host` parse as https://user@host/ and https://:pw@host/.
    for (const url of ['https:svc-user@identity.example/v2.0', `https::${KEY}@identity.example/v2.0`, `https:\\\\svc-user@identity.example/v2.0`]) {
      refuses({ username: 'u', apiKey: KEY, identityUrl: url }, /^field 'identityUrl' must not contain user info \(user:password@\); put credentials in the secret fields$/);
    }
  });

  it('names the field, never the value, for each way a secret can be wrong', () => {
    refuses('{not json', /not JSON/);
    refuses([KEY], /must be a JSON object/);
    refuses({ apiKey: KEY }, /field 'username' must be a string/);
    refuses({ username: '   ', apiKey: KEY }, /field 'username' must be a non-empty string/);
    refuses({ username: 'u'.repeat(1025), apiKey: KEY }, /field 'username' is too long/);
    refuses({ username: 'u', apiKey: KEY, password: KEY }, /exactly one of the fields 'apiKey' and 'password'/);
    refuses({ username: 'u' }, /exactly one of the fields 'apiKey' and 'password'/);
    refuses({ username: 'u', apiKey: KEY, tenantId: '1', tenantName: 'a' }, /at most one of the fields 'tenantId' and 'tenantName'/);
    refuses({ username: 'u', apiKey: 42 }, /field 'apiKey' must be a string/);
    refuses({ username: 'u', apiKey: KEY, region: KEY }, /unknown field\(s\) 'region'/);
    refuses({ username: 'u', apiKey: KEY, region: KEY, zone: KEY }, /unknown field\(s\) 'region', 'zone'$/);
    refuses({ username: 5, apiKey: 7 }, /^field 'username' must be a string; field 'apiKey' must be a string$/);
    assert.equal(new SecretFormatError('x').name, 'SecretFormatError');
  });
});
