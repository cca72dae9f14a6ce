import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TokenVendorError, createTokenClient } from '../../client/index.ts';

// The client reads at most `maxAnswerBytes` of an answer: an answer that never ends, or a huge one,
// costs a caller a bounded amount of memory and ends with a clear error.

const KEY = { accessKeyId: 'AKLOCALSIZEAAAAAAAAA', secretAccessKey: 'local-secret-size-0123456789abcdefghijkl' };
const CHUNK = Buffer.alloc(64 * 1024, 'x');
const HUGE = 64 * 1024 * 1024;

/** How the last answer went: did the server get to write all of it before the client hung up? */
let last: { written: number; finished: boolean; closed: Promise<unknown> } | null = null;
let mode: 'stream' | 'declared' | 'small' = 'stream';

/** Writes HUGE bytes in chunks, waiting for the client to take each one (backpressure). */
async function stream(res: ServerResponse, state: NonNullable<typeof last>) {
  res.writeHead(200, { 'content-type': 'application/json' });
  while (state.written < HUGE && !res.destroyed) {
    state.written += CHUNK.length;
    // One close promise for the whole answer: a new once() per chunk would pile up listeners.
    if (!res.write(CHUNK)) await Promise.race([once(res, 'drain'), state.closed]);
  }
  if (!res.destroyed) {
    state.finished = true;
    res.end();
  }
}

const server = createServer((req, res) => {
  const state = { written: 0, finished: false, closed: once(res, 'close') };
  last = state;
  if (mode === 'stream') void stream(res, state);
  else if (mode === 'declared') res.writeHead(502, { 'content-type': 'application/json', 'content-length': String(HUGE) }).write('{');
  else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'stub-token-size', expiresAt: '2099-01-01T00:00:00.000Z', expiresIn: 60, tenant: null }));
});
let url = '';
before(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

async function tooLarge(options: { maxAnswerBytes?: number }) {
  const client = createTokenClient({ url, region: 'us-east-1', credentials: KEY, ...options });
  const error = await client.getToken('demo').then(() => assert.fail('expected a rejection'), (e: unknown) => e);
  assert.ok(error instanceof TokenVendorError, String(error));
  return error;
}

describe('client answer size', () => {
  it('stops reading an answer at the default limit (1 MiB) with "Answer too large", dropping the connection before the server has sent it all', async () => {
    mode = 'stream';
    const error = await tooLarge({});
    assert.equal(error.title, 'Answer too large');
    assert.match(error.detail, /^The answer from 127\.0\.0\.1:\d+ \(HTTP 200\) is longer than 1048576 bytes; the client stopped reading it\.$/);
    await last?.closed;
    assert.equal(last?.finished, false, `the server wrote ${last?.written} bytes and finished: the client read it all`);
  });

  it('refuses an answer whose Content-Length is over the limit without reading it', async () => {
    mode = 'declared';
    const error = await tooLarge({ maxAnswerBytes: 4096 });
    assert.equal(error.title, 'Answer too large');
    assert.equal(error.status, 502);
  });

  it('reads an answer under the limit as usual', async () => {
    mode = 'small';
    const client = createTokenClient({ url, region: 'us-east-1', credentials: KEY, maxAnswerBytes: 4096 });
    assert.equal((await client.getToken('demo')).expiresIn > 0, true);
  });
});
