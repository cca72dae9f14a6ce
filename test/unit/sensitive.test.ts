import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../functions/core/logger.ts';
import { markSensitive, redactReplacer } from '../../functions/core/sensitive.ts';

describe('Function: createLogger (redaction)', () => {
  it('blanks fields named like secrets and any registered value, wherever it appears', () => {
    const lines: string[] = [];
    const logger = createLogger({ sink: (line) => lines.push(line) });
    markSensitive('key of secret s', 's3cr3t-api-key-value');
    logger.info('oops', {
      apiKey: 'anything at all',
      nested: { password: 'pw', note: 'key is s3cr3t-api-key-value here', list: ['s3cr3t-api-key-value'] },
      error: new Error('failed with s3cr3t-api-key-value'),
    });
    const [line] = lines;
    assert.ok(line);
    assert.ok(!line.includes('s3cr3t-api-key-value') && !line.includes('anything at all') && !line.includes('"pw"'), line);
    const parsed = JSON.parse(line);
    assert.equal(parsed.apiKey, '[REDACTED]');
    assert.equal(parsed.nested.note, 'key is [REDACTED] here');
    assert.match(parsed.error.message, /failed with \[REDACTED\]/);
  });

  it('blanks user info in any URL quoted in a log line, registered or not', () => {
    const lines: string[] = [];
    const logger = createLogger({ sink: (line) => lines.push(line) });
    logger.warn('failed', { reason: 'Request cannot be constructed from a URL that includes credentials: http://user:p@ss-w0rd@host.example/v2.0/tokens', other: 'HTTPS://key-only@h/x and mailto:a@b' });
    const parsed = JSON.parse(lines[0] ?? '{}');
    assert.equal(parsed.reason, 'Request cannot be constructed from a URL that includes credentials: http://[REDACTED]@host.example/v2.0/tokens');
    assert.equal(parsed.other, 'HTTPS://[REDACTED]@h/x and mailto:a@b');
  });

  it("keeps each slot's current and previous value however many values other slots see, and forgets older ones", () => {
    const lines: string[] = [];
    const logger = createLogger({ sink: (line) => lines.push(line) });
    markSensitive('key of secret billing', 'billing-api-key-0123456789');
    const tokens = Array.from({ length: 300 }, (_, i) => `token-of-demo-${String(i).padStart(4, '0')}`);
    for (const token of tokens) markSensitive('token of profile demo', token);
    markSensitive('token of profile demo', tokens.at(-1) as string); // the same value again changes nothing
    logger.info('x', { a: 'billing-api-key-0123456789', b: tokens[299], c: tokens[298], d: tokens[297] });
    assert.deepEqual(JSON.parse(lines[0] ?? '{}'), { ...JSON.parse(lines[0] ?? '{}'), a: '[REDACTED]', b: '[REDACTED]', c: '[REDACTED]', d: tokens[297] });
  });

  it('blanks the value of every key that names a secret, in any case, even when nothing registered it', () => {
    const keys = ['apiKey', 'password', 'token', 'tokenId', 'secret', 'SecretString', 'x-auth-token', 'X-Auth-Token', 'authorization', 'Authorization', 'credentials'];
    const lines: string[] = [];
    createLogger({ sink: (line) => lines.push(line) }).info('headers', { fields: Object.fromEntries(keys.map((k) => [k, `value-of-${k}`])) });
    const fields = JSON.parse(lines[0] ?? '{}').fields;
    assert.deepEqual(keys.filter((k) => fields[k] !== '[REDACTED]'), []);
  });

  it('leaves ordinary values alone, including short strings and the audit fingerprint', () => {
    const lines: string[] = [];
    createLogger({ sink: (line) => lines.push(line) }).info('vend', { audit: { tokenSha256: 'abcdef012345', profile: 'billing' } });
    assert.deepEqual(JSON.parse(lines[0] ?? '{}').audit, { tokenSha256: 'abcdef012345', profile: 'billing' });
  });
});

describe('Function: redactReplacer', () => {
  const redact = (value: unknown) => JSON.parse(JSON.stringify(value, redactReplacer));

  it('blanks keys whose name ends in a secret word, and leaves keys that only start with or contain one', () => {
    const secretKeys = ['sessionToken', 'refresh_token', 'X-Subject-Token', 'Proxy-Authorization', 'clientSecret', 'SecretAccessKey', 'myApiKey', 'oldPassword', 'awsCredentials', 'AuthTokenId', 'rawSecretString'];
    const plainKeys = ['tokenSha256', 'tokenExpiresAt', 'secretId', 'passwordPolicy', 'credentialsVersion', 'authorizationScheme', 'apiKeyFingerprint', 'accessKeyId'];
    const out = redact(Object.fromEntries([...secretKeys, ...plainKeys].map((k) => [k, `value of ${k}`])));
    assert.deepEqual(out, Object.fromEntries([...secretKeys.map((k) => [k, '[REDACTED]']), ...plainKeys.map((k) => [k, `value of ${k}`])]));
  });

  it('judges a key name the same the second time, and after more distinct names than it remembers', () => {
    const names = Array.from({ length: 600 }, (_, i) => `field${i}`);
    const line = { ...Object.fromEntries(names.map((k) => [k, 'plain'])), lateToken: 'x', lateTokenSha256: 'y' };
    const expected = { ...Object.fromEntries(names.map((k) => [k, 'plain'])), lateToken: '[REDACTED]', lateTokenSha256: 'y' };
    assert.deepEqual(redact(line), expected);
    assert.deepEqual(redact(line), expected);
  });

  it('blanks numbers and booleans under a secret key, keeps null, and looks inside objects and lists under one', () => {
    const out = redact({ token: 12345678, secret: true, password: null, credentials: { username: 'svc-billing', apiKey: 'k' }, tokens: ['a', 'b'], apiKey: ['listed'] });
    assert.deepEqual(out, { token: '[REDACTED]', secret: '[REDACTED]', password: null, credentials: { username: 'svc-billing', apiKey: '[REDACTED]' }, tokens: ['a', 'b'], apiKey: ['listed'] });
  });

  it('registers values of 8 characters or more, never shorter ones, which would blank innocent text', () => {
    markSensitive('test slot seven', '7chars!');
    markSensitive('test slot eight', '8chars!!');
    assert.deepEqual(redact({ a: 'with 7chars! inside', b: 'with 8chars!! inside' }), { a: 'with 7chars! inside', b: 'with [REDACTED] inside' });
  });

  it('blanks every occurrence of a registered value and keeps the text between them', () => {
    markSensitive('test slot repeat', 'repeated-secret-1');
    assert.equal(redact('repeated-secret-1/x/repeated-secret-1'), '[REDACTED]/x/[REDACTED]');
  });

  it('blanks only the user info of a URL, whatever its scheme (digits too): the scheme, host and text around it stay, and an e-mail address is no URL', () => {
    const text = 'GET https://svc:pa55word@identity.example/v2.0/tokens?x=y failed; write to ops@example.com; s3+tls://k@b; s3://AKIDEXAMPLE@bucket/x';
    assert.equal(redact(text), 'GET https://[REDACTED]@identity.example/v2.0/tokens?x=y failed; write to ops@example.com; s3+tls://[REDACTED]@b; s3://[REDACTED]@bucket/x');
  });

  it('does not take a path, query or fragment containing @ for user info', () => {
    const text = 'https://host.example/users/@me https://host.example?by=a@b https://host.example#a@b';
    assert.equal(redact(text), text);
  });

  it('holds nothing for a slot that has had one value: text that merely says null is left alone', () => {
    markSensitive('test slot single', 'single-value-9876');
    assert.deepEqual(redact({ note: 'value was null, undefined or nullish' }), { note: 'value was null, undefined or nullish' });
  });
});
