import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../functions/core/logger.ts';
import { markSensitive } from '../../functions/core/sensitive.ts';

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
