import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LocalKey } from '../local/sigv4.ts';
import { countingGateway, head, rawRequest } from '../support/raw-http.ts';
import { signedHeaders } from '../support/signed.ts';

// Requests no HTTP client library would send, written to the socket as they are: whatever arrives,
// the local gateway answers in API Gateway's wording and keeps serving.

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const YOU: LocalKey = { accessKeyId: 'AKLOCALRAWAAAAAAAAAA', secretAccessKey: 'local-secret-raw-0123456789abcdefghijklm', arn: 'arn:aws:sts::000000000000:assumed-role/local-caller/you' };
let gateway: Awaited<ReturnType<typeof countingGateway>>;
before(async () => {
  gateway = await countingGateway(YOU, NOW);
});
after(() => gateway.close());

const PATH = '/v1/profiles/demo/token?service=cloudFiles';

/** A correctly signed request, sent raw: proves the server is still up and still verifies. */
async function stillServes(): Promise<void> {
  const headers = await signedHeaders(`${gateway.url}${PATH}`, YOU, { signingDate: new Date(NOW) });
  const before = gateway.calls();
  const answer = await rawRequest(gateway.port, head(`GET ${PATH} HTTP/1.1`, { ...headers, connection: 'close' }));
  assert.equal(answer.status, 200, answer.text);
  assert.equal(gateway.calls(), before + 1);
}

/** Signed headers with the Authorization's SignedHeaders list replaced. */
async function signedNaming(signed: string): Promise<Record<string, string>> {
  const headers = await signedHeaders(`${gateway.url}${PATH}`, YOU, { signingDate: new Date(NOW) });
  return { ...headers, authorization: (headers.authorization ?? '').replace(/SignedHeaders=[^,]+/, `SignedHeaders=${signed}`), connection: 'close' };
}

describe('local gateway, given input no client library sends', () => {
  it('answers an absolute-form request target with an invalid port with 400 and keeps serving', async () => {
    const headers = await signedHeaders(`${gateway.url}${PATH}`, YOU, { signingDate: new Date(NOW) });
    const answer = await rawRequest(gateway.port, head(`GET http://127.0.0.1:99999${PATH} HTTP/1.1`, { ...headers, connection: 'close' }));
    assert.equal(answer.status, 400, answer.text);
    assert.deepEqual(answer.json, { message: 'Bad Request' });
    await stillServes();
  });

  it('serves an absolute-form request target for this gateway as its path and query', async () => {
    const headers = await signedHeaders(`${gateway.url}${PATH}`, YOU, { signingDate: new Date(NOW) });
    const answer = await rawRequest(gateway.port, head(`GET ${gateway.url}${PATH} HTTP/1.1`, { ...headers, connection: 'close' }));
    assert.equal(answer.status, 200, answer.text);
  });

  it('treats SignedHeaders naming Object.prototype members as headers that were not sent: a signature mismatch, and keeps serving', async () => {
    for (const name of ['constructor', '__proto__', 'tostring', 'hasownproperty', 'valueof']) {
      const answer = await rawRequest(gateway.port, head(`GET ${PATH} HTTP/1.1`, await signedNaming(`constructor;host;${name};x-amz-date`)));
      assert.equal(answer.status, 403, `${name}: ${answer.text}`);
      assert.match((answer.json as { message: string }).message, /^The request signature we calculated does not match/, name);
    }
    await stillServes();
  });

  it('answers CONNECT like any method it does not serve, 403 Missing Authentication Token, and keeps serving', async () => {
    const answer = await rawRequest(gateway.port, head(`CONNECT 127.0.0.1:${gateway.port} HTTP/1.1`, { host: `127.0.0.1:${gateway.port}`, connection: 'close' }));
    assert.equal(answer.status, 403, answer.text);
    assert.deepEqual(answer.json, { message: 'Missing Authentication Token' });
    await stillServes();
  });
});
