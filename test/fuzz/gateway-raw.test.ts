import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { longDate, type LocalKey } from '../local/sigv4.ts';
import { countingGateway, rawRequest } from '../support/raw-http.ts';
import { signedHeaders } from '../support/signed.ts';

// Raw request lines and headers, written to a socket as generated: the local gateway must answer
// every one (never a 5xx, never silence) and still serve a signed request afterwards.
// GATEWAY_FUZZ_RUNS=20000 for a long run; CI keeps the default.
const RUNS = Number(process.env.GATEWAY_FUZZ_RUNS ?? 300);

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const YOU: LocalKey = { accessKeyId: 'AKLOCALFUZZAAAAAAAAA', secretAccessKey: 'local-secret-fuzz-0123456789abcdefghijkl', arn: 'arn:aws:sts::000000000000:assumed-role/local-caller/you' };
const PATH = '/v1/profiles/demo/token?service=cloudFiles';
let gateway: Awaited<ReturnType<typeof countingGateway>>;
before(async () => {
  gateway = await countingGateway(YOU, NOW);
});
after(() => gateway.close());

const odd = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', ' ', '%', '%zz', '%00', '..', '//', '\u0000', '\r', '\n', '\t', ':', ';', ',', '=', '/', '?', '#', '@', '[::1]', '99999', '-1', '0x10', 'constructor', '__proto__', 'toString', 'hasOwnProperty'),
);
// `{port}` in generated text stands for the gateway's port, known only once it listens.
const portText = fc.oneof(fc.constant('{port}'), fc.integer({ min: -1, max: 200_000 }).map(String), odd);
const path = fc.oneof(
  fc.constantFrom(PATH, '/v1/profiles/demo/token', '/v1/profiles/%zz/token', '/v1/profiles/demo/token?%=%', '/v1/profiles//token', '/', '//evil/v1/profiles/demo/token', '/v1/profiles/demo/token/../token', '/v1/profiles/constructor/token'),
  fc.tuple(odd, odd).map(([a, b]) => `/v1/profiles/${a}/token?${b}`),
  odd.map((text) => `/${text}`),
);
const target = fc.oneof(
  path,
  fc.tuple(fc.constantFrom('http', 'HTTP', 'https', 'ftp'), fc.constantFrom('127.0.0.1', 'localhost', 'evil.example', ''), portText, path).map(([scheme, host, p, rest]) => `${scheme}://${host}:${p}${rest}`),
  fc.constantFrom('*', '', 'http://', 'http://[', 'http://127.0.0.1:99999', 'http://127.0.0.1:65536/'),
  odd,
);
const method = fc.oneof({ weight: 4, arbitrary: fc.constant('GET') }, fc.constantFrom('POST', 'HEAD', 'OPTIONS', 'get', 'CONNECT', 'TRACE'), odd);
const headerName = fc.oneof(
  fc.constantFrom('host', 'authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256', 'x-local-caller-arn', 'content-length', 'transfer-encoding', 'constructor', '__proto__', 'tostring', 'valueof', 'hasownproperty'),
  odd,
);
const signedList = fc.array(headerName, { maxLength: 6 }).map((names) => names.join(';'));
const credential = fc.tuple(
  fc.oneof(fc.constant(YOU.accessKeyId), odd),
  fc.oneof(fc.constant(longDate(NOW).slice(0, 8)), odd),
  fc.oneof(fc.constant('us-east-1'), odd),
  fc.oneof(fc.constant('execute-api'), odd),
  fc.oneof(fc.constant('aws4_request'), odd),
).map((parts) => parts.join('/'));
const authorization = fc.oneof(
  fc.tuple(fc.constantFrom('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA256 ', 'Bearer', ''), credential, signedList, fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }), odd)).map(
    ([algorithm, cred, signed, signature]) => `${algorithm} Credential=${cred}, SignedHeaders=${signed}, Signature=${signature}`,
  ),
  odd,
);
const headers = fc.record(
  {
    host: fc.oneof({ weight: 4, arbitrary: fc.constant('127.0.0.1:{port}') }, odd),
    authorization,
    'x-amz-date': fc.oneof(fc.constant(longDate(NOW)), odd),
    extra: fc.array(fc.tuple(headerName, odd), { maxLength: 4 }),
  },
  { requiredKeys: [] },
);
const request = fc.record({ method, target, version: fc.oneof({ weight: 6, arbitrary: fc.constant('HTTP/1.1') }, fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 x', ''), odd), headers });

type Raw = typeof request extends fc.Arbitrary<infer T> ? T : never;

function bytes(r: Raw): Buffer {
  const lines = [`${r.method} ${r.target} ${r.version}`];
  if (r.headers.host !== undefined) lines.push(`Host: ${r.headers.host}`);
  if (r.headers.authorization !== undefined) lines.push(`Authorization: ${r.headers.authorization}`);
  if (r.headers['x-amz-date'] !== undefined) lines.push(`X-Amz-Date: ${r.headers['x-amz-date']}`);
  for (const [name, value] of r.headers.extra ?? []) lines.push(`${name}: ${value}`);
  lines.push('Connection: close');
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`.replaceAll('{port}', String(gateway.port)), 'latin1');
}

describe(`Fuzz: ${RUNS} raw requests to the local gateway over a socket`, () => {
  it('answers each one without a 5xx, in API Gateway\'s wording when the gateway itself refuses, and keeps serving signed requests', async () => {
    const statuses = new Map<number | null, number>();
    const signed = await signedHeaders(`${gateway.url}${PATH}`, YOU, { signingDate: new Date(NOW) });
    const valid = Buffer.from(`GET ${PATH} HTTP/1.1\r\n${Object.entries(signed).map(([n, v]) => `${n}: ${v}\r\n`).join('')}Connection: close\r\n\r\n`, 'latin1');
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const before = gateway.calls();
        const answer = await rawRequest(gateway.port, bytes(r));
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        assert.ok(answer.status !== null, `no answer to ${JSON.stringify(bytes(r).toString('latin1'))}`);
        assert.ok(answer.status < 500, answer.text);
        assert.equal(gateway.calls(), before, 'a generated request cannot carry a valid signature, so the function must not run');
        // The gateway's own refusals carry a request id and API Gateway's {"message"} body; node's
        // HTTP parser refuses what is not HTTP at all with a bare 400.
        // HEAD answers carry no body.
        if (/x-amzn-requestid/i.test(answer.text) && answer.status !== 200 && r.method !== 'HEAD') assert.equal(typeof (answer.json as { message?: unknown })?.message, 'string', answer.text);
        const still = await rawRequest(gateway.port, valid);
        assert.equal(still.status, 200, still.text);
      }),
      { numRuns: RUNS },
    );
    assert.ok((statuses.get(403) ?? 0) > 0 && (statuses.get(400) ?? 0) > 0, `both refusals exercised: ${JSON.stringify([...statuses])}`);
  });
});
