import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { createTokenClient } from '../../client/index.ts';
import { serveLocally } from '../local/http-adapter.ts';
import type { LocalKey } from '../local/sigv4.ts';
import { head, rawRequest } from '../support/raw-http.ts';
import { signedHeaders } from '../support/signed.ts';

// SigV4 canonicalises a query value's space as %20 and a literal '+' as %2B, as API Gateway does
// with the query it receives: a request must carry exactly the bytes that were signed. The local
// gateway checks that, and the client and curl (a signer that is not the AWS SDK's) pass it.

const YOU: LocalKey = { accessKeyId: 'AKLOCALQUERYAAAAAAAA', secretAccessKey: 'local-secret-query-0123456789abcdefghijk', arn: 'arn:aws:sts::000000000000:assumed-role/local-caller/you' };
const ANSWER = { token: 'stub-token-not-custodied', expiresAt: '2099-01-01T00:00:00.000Z', expiresIn: 3600, tenant: null };
const events: Array<{ queryStringParameters: Record<string, string> | null }> = [];
const handler = async (event: (typeof events)[number]) => {
  events.push(event);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(ANSWER) };
};

let gateway: Awaited<ReturnType<typeof serveLocally>>;
before(async () => {
  gateway = await serveLocally(handler as never, { port: 0, keys: new Map([[YOU.accessKeyId, YOU]]), region: 'us-east-1' });
});
after(() => gateway.close());

const curlAvailable = await promisify(execFile)('curl', ['--version']).then(() => true, () => false);
const PATH = '/v1/profiles/demo/token';

describe('query signing: the bytes sent are the bytes signed', () => {
  it('refuses a request signed with a space as %20 but sent with +', async () => {
    const signed = await signedHeaders(`${gateway.url}${PATH}?service=Cloud%20DNS`, YOU);
    const before = events.length;
    const answer = await rawRequest(Number(new URL(gateway.url).port), head(`GET ${PATH}?service=Cloud+DNS HTTP/1.1`, { ...signed, connection: 'close' }));
    assert.equal(answer.status, 403, answer.text);
    assert.match(answer.text, /x-amzn-errortype: InvalidSignatureException/i);
    assert.match((answer.json as { message: string }).message, /\nservice=Cloud%2BDNS\n/, 'a literal + canonicalises as %2B');
    assert.equal(events.length, before, 'the function must not run');
  });

  it('accepts the same request sent with %20, and hands the function the decoded value', async () => {
    const url = `${gateway.url}${PATH}?service=Cloud%20DNS`;
    const answer = await rawRequest(Number(new URL(gateway.url).port), head(`GET ${PATH}?service=Cloud%20DNS HTTP/1.1`, { ...(await signedHeaders(url, YOU)), connection: 'close' }));
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(events.at(-1)?.queryStringParameters, { service: 'Cloud DNS' });
  });

  it('reads a + that was signed as a plus as a plus, for the signature and for the function alike', async () => {
    const signed = await signedHeaders(`${gateway.url}${PATH}?service=a%2Bb`, YOU);
    const answer = await rawRequest(Number(new URL(gateway.url).port), head(`GET ${PATH}?service=a+b HTTP/1.1`, { ...signed, connection: 'close' }));
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(events.at(-1)?.queryStringParameters, { service: 'a+b' });
  });

  it('accepts curl --aws-sigv4 (an independent signer) for a value with a space', { skip: !curlAvailable && 'curl is not installed' }, async () => {
    // Keys in sorted order and values already encoded: curl before 8.x signs the query as written.
    const url = `${gateway.url}${PATH}?region=dfw&service=Cloud%20DNS`;
    const { stdout } = await promisify(execFile)('curl', ['-s', '--aws-sigv4', 'aws:amz:us-east-1:execute-api', '--user', `${YOU.accessKeyId}:${YOU.secretAccessKey}`, url]);
    assert.deepEqual(JSON.parse(stdout), ANSWER);
    assert.deepEqual(events.at(-1)?.queryStringParameters, { region: 'dfw', service: 'Cloud DNS' });
  });

  it('the client sends what it signs, for a space and any other character in a query value', async () => {
    const client = createTokenClient({ url: gateway.url, region: 'us-east-1', credentials: YOU });
    await client.getToken('demo', { service: 'Cloud DNS' });
    assert.equal(events.at(-1)?.queryStringParameters?.service, 'Cloud DNS');
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }), fc.constantFrom(' ', '+', '*', '~', "'", '!', '(', '%', '&', '=', '/', '?', '#'), async (text, special) => {
        client.clear();
        const service = `${text}${special}${text}`;
        await client.getToken('demo', { service });
        assert.equal(events.at(-1)?.queryStringParameters?.service, service);
      }),
      { numRuns: 60 },
    );
  });
});
