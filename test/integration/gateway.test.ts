import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { serveLocally } from '../local/http-adapter.ts';
import type { LocalKey } from '../local/sigv4.ts';
import { signedHeaders } from '../support/signed.ts';

// The local gateway in front of `npm start`: what API Gateway's REST API with AWS_IAM answers
// before the function runs, and the event it hands the function when it does.

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const YOU: LocalKey = { accessKeyId: 'AKLOCALAAAAAAAAAAAAA', secretAccessKey: 'local-secret-you-0123456789abcdefghijkl', arn: 'arn:aws:sts::000000000000:assumed-role/local-caller/you' };
const OTHER: LocalKey = { accessKeyId: 'AKLOCALBBBBBBBBBBBBB', secretAccessKey: 'local-secret-other-0123456789abcdefghij', arn: 'arn:aws:sts::111111111111:assumed-role/someone-else/job' };
const keys = new Map([YOU, OTHER].map((key) => [key.accessKeyId, key]));

const events: any[] = [];
const handler = async (event: unknown) => {
  events.push(event);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' };
};

let gateway: Awaited<ReturnType<typeof serveLocally>>;
let fixed: Awaited<ReturnType<typeof serveLocally>>;
before(async () => {
  gateway = await serveLocally(handler as never, { port: 0, keys, region: 'us-east-1', now: () => NOW });
  fixed = await serveLocally(handler as never, { port: 0, keys, region: 'us-east-1', now: () => NOW, fixedCaller: 'arn:aws:sts::222222222222:assumed-role/named-at-start/me' });
});
after(() => Promise.all([gateway.close(), fixed.close()]));

/** node:http rather than fetch: the test must be able to send any Host header. */
function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{ status: number; headers: Record<string, unknown>; json: any }>((resolve, reject) => {
    request(url, { method, headers }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(body) }));
    }).on('error', reject).end();
  });
}

const route = () => `${gateway.url}/v1/profiles/demo/token?service=cloudFiles&region=dfw&region=ord`;
const signedAt = (ms: number) => ({ signingDate: new Date(ms) });

async function refusedWithoutCallingTheFunction(answer: Promise<Awaited<ReturnType<typeof get>>>) {
  const before = events.length;
  const result = await answer;
  assert.equal(result.status, 403);
  assert.equal(events.length, before, 'the function must not run');
  return result;
}

describe('local gateway', () => {
  it('hands a correctly signed request to the function as a REST API proxy event with the key\'s caller in requestContext.identity', async () => {
    const answer = await get(route(), await signedHeaders(route(), YOU, signedAt(NOW - 60_000)));
    assert.deepEqual([answer.status, answer.json], [200, { ok: true }]);
    const event = events.at(-1);
    assert.equal(event.resource, '/v1/profiles/{profile}/token');
    assert.equal(event.httpMethod, 'GET');
    assert.deepEqual(event.pathParameters, { profile: 'demo' });
    assert.equal(event.requestContext.identity.userArn, YOU.arn);
    assert.equal(event.requestContext.identity.accessKey, YOU.accessKeyId);
    // REST keeps the last value of a repeated key, and all of them in the multi-value map.
    assert.deepEqual(event.queryStringParameters, { service: 'cloudFiles', region: 'ord' });
    assert.deepEqual(event.multiValueQueryStringParameters, { service: ['cloudFiles'], region: ['dfw', 'ord'] });
  });

  it('tells callers apart by the key they signed with', async () => {
    await get(route(), await signedHeaders(route(), OTHER, signedAt(NOW)));
    assert.equal(events.at(-1).requestContext.identity.userArn, OTHER.arn);
  });

  it('answers an unsigned request with API Gateway\'s 403 Missing Authentication Token', async () => {
    const answer = await refusedWithoutCallingTheFunction(get(route()));
    assert.deepEqual(answer.json, { message: 'Missing Authentication Token' });
    assert.equal(answer.headers['x-amzn-errortype'], 'MissingAuthenticationTokenException');
  });

  it('answers an unknown resource or method with 403 Missing Authentication Token, signed or not', async () => {
    for (const [url, method] of [[`${gateway.url}/v1/profiles/demo`, 'GET'], [`${gateway.url}/`, 'GET'], [route(), 'POST']] as const) {
      const answer = await refusedWithoutCallingTheFunction(get(url, await signedHeaders(url, YOU, signedAt(NOW)), method));
      assert.deepEqual(answer.json, { message: 'Missing Authentication Token' }, `${method} ${url}`);
    }
  });

  it('refuses a signature made with the wrong secret, showing the canonical request it expected', async () => {
    const headers = await signedHeaders(route(), { ...YOU, secretAccessKey: 'not-the-secret-0123456789abcdefghijklm' }, signedAt(NOW));
    const answer = await refusedWithoutCallingTheFunction(get(route(), headers));
    assert.equal(answer.headers['x-amzn-errortype'], 'InvalidSignatureException');
    const [first, canonical] = (answer.json.message as string).split('\n\nThe Canonical String for this request should have been\n');
    assert.equal(first, 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.');
    assert.match(canonical ?? '', /^'GET\n\/v1\/profiles\/demo\/token\nregion=dfw&region=ord&service=cloudFiles\nhost:127\.0\.0\.1:\d+\nx-amz-date:20261123T120000Z\n\nhost;x-amz-date\n/);
  });

  it('refuses a request changed after signing', async () => {
    const headers = await signedHeaders(route(), YOU, signedAt(NOW));
    const answer = await refusedWithoutCallingTheFunction(get(route().replace('region=ord', 'region=syd'), headers));
    assert.equal(answer.headers['x-amzn-errortype'], 'InvalidSignatureException');
  });

  it('refuses a request signed more than 5 minutes ago, or ahead, with API Gateway\'s wording', async () => {
    const old = await refusedWithoutCallingTheFunction(get(route(), await signedHeaders(route(), YOU, signedAt(NOW - 6 * 60_000))));
    assert.deepEqual(old.json, { message: 'Signature expired: 20261123T115400Z is now earlier than 20261123T115500Z (20261123T120000Z - 5 min.)' });
    const ahead = await refusedWithoutCallingTheFunction(get(route(), await signedHeaders(route(), YOU, signedAt(NOW + 6 * 60_000))));
    assert.deepEqual(ahead.json, { message: 'Signature not yet current: 20261123T120600Z is still later than 20261123T120500Z (20261123T120000Z + 5 min.)' });
  });

  it('refuses an unknown access key, a foreign region and a foreign service', async () => {
    const unknown = await refusedWithoutCallingTheFunction(get(route(), await signedHeaders(route(), { accessKeyId: 'AKLOCALZZZZZZZZZZZZZ', secretAccessKey: YOU.secretAccessKey }, signedAt(NOW))));
    assert.deepEqual([unknown.json, unknown.headers['x-amzn-errortype']], [{ message: 'The security token included in the request is invalid.' }, 'UnrecognizedClientException']);
    const region = await refusedWithoutCallingTheFunction(get(route(), await signedHeaders(route(), YOU, { ...signedAt(NOW), region: 'eu-west-1' })));
    assert.deepEqual(region.json, { message: "Credential should be scoped to a valid region, not 'eu-west-1'. " });
    const service = await refusedWithoutCallingTheFunction(get(route(), await signedHeaders(route(), YOU, { ...signedAt(NOW), service: 's3' })));
    assert.deepEqual(service.json, { message: "Credential should be scoped to correct service: 'execute-api'. " });
  });

  it('names every missing part of an Authorization header that is not SigV4', async () => {
    const answer = await refusedWithoutCallingTheFunction(get(route(), { authorization: 'Bearer abc' }));
    assert.equal(answer.headers['x-amzn-errortype'], 'IncompleteSignatureException');
    assert.equal(
      answer.json.message,
      "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=Bearer abc",
    );
  });

  it('refuses a Host that is not loopback (DNS rebinding), before anything else', async () => {
    const headers = await signedHeaders(route(), YOU, signedAt(NOW));
    const answer = await refusedWithoutCallingTheFunction(get(route(), { ...headers, host: `evil.example:${new URL(gateway.url).port}` }));
    assert.match(answer.json.message, /^Host 'evil\.example:\d+' is not served here/);
    const ok = await get(route().replace('127.0.0.1', 'localhost'), await signedHeaders(route().replace('127.0.0.1', 'localhost'), YOU, signedAt(NOW)));
    assert.equal(ok.status, 200, 'localhost is loopback');
  });

  it('listens on 127.0.0.1 only', () => {
    assert.equal((gateway.server.address() as { address: string }).address, '127.0.0.1');
  });

  it('refuses the retired x-local-caller-arn header instead of letting it pick the caller', async () => {
    const headers = await signedHeaders(route(), YOU, { ...signedAt(NOW), headers: { 'x-local-caller-arn': OTHER.arn } });
    const answer = await refusedWithoutCallingTheFunction(get(route(), headers));
    assert.match(answer.json.message, /^x-local-caller-arn is not accepted/);
  });

  it('with a caller fixed at start, presents every verified request as that caller', async () => {
    const url = route().replace(gateway.url, fixed.url);
    await get(url, await signedHeaders(url, OTHER, signedAt(NOW)));
    assert.equal(events.at(-1).requestContext.identity.userArn, 'arn:aws:sts::222222222222:assumed-role/named-at-start/me');
    const unsigned = await refusedWithoutCallingTheFunction(get(url));
    assert.deepEqual(unsigned.json, { message: 'Missing Authentication Token' });
  });
});
