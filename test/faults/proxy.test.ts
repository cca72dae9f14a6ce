import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { dynamoClient } from '../../functions/adapters/shared-clients.ts';
import { LOCAL_CREDENTIALS, startDynamoEmulator, type DynamoEmulator } from '../emulators/dynamodb.ts';
import { fakeClock } from '../support/clock.ts';
import { requestName, startFaultProxy, type FaultProxy } from './proxy.ts';

/** An upstream that counts what reaches it and answers `{n}` with a header of its own. */
async function counter() {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${Buffer.concat(chunks).toString('utf8')}`);
      res.writeHead(201, { 'content-type': 'application/json', 'x-upstream': 'yes' }).end(JSON.stringify({ n: seen.length }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    seen,
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Why a fetch failed, as undici reports it: the underlying socket error's code, or the abort's name. */
async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'answered';
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return cause?.code ?? (error as Error).name;
  }
}

describe('Fault proxy', () => {
  let up: Awaited<ReturnType<typeof counter>>;
  let proxy: FaultProxy;
  beforeEach(async () => {
    await proxy?.close();
    await up?.close();
    up = await counter();
    proxy = await startFaultProxy({ target: up.origin });
  });
  after(async () => {
    await proxy.close();
    await up.close();
  });

  it('passes a request it has no rule for unchanged: method, path, query, body, status and headers', async () => {
    const answer = await fetch(`${proxy.origin}/v2.0/tokens?x=1`, { method: 'POST', body: 'hello' });
    assert.deepEqual([answer.status, answer.headers.get('x-upstream'), await answer.json()], [201, 'yes', { n: 1 }]);
    assert.deepEqual(up.seen, ['POST /v2.0/tokens?x=1 hello']);
    assert.deepEqual(proxy.log, [{ name: 'POST /v2.0/tokens', fault: 'pass' }]);
  });

  it('lose: the service acts on the request, the caller gets no answer', async () => {
    proxy.inject({ fault: 'lose' });
    assert.notEqual(await failure(fetch(`${proxy.origin}/write`, { method: 'POST', body: 'w' })), 'answered');
    assert.deepEqual(up.seen, ['POST /write w']);
    const next = await fetch(`${proxy.origin}/write`, { method: 'POST', body: 'again' });
    assert.deepEqual(await next.json(), { n: 2 }, 'the rule is used up: the next request passes');
  });

  it('reset: the connection is reset and nothing reaches the service', async () => {
    proxy.inject({ fault: 'reset' });
    assert.equal(await failure(fetch(`${proxy.origin}/write`, { method: 'POST', body: 'w' })), 'ECONNRESET');
    assert.deepEqual(up.seen, []);
  });

  it('duplicate: the service gets the request twice, the caller the second answer', async () => {
    proxy.inject({ fault: 'duplicate' });
    const answer = await fetch(`${proxy.origin}/write`, { method: 'PUT', body: 'd' });
    assert.deepEqual(await answer.json(), { n: 2 });
    assert.deepEqual(up.seen, ['PUT /write d', 'PUT /write d']);
  });

  it('twice: the same answer arrives twice on the connection', async () => {
    proxy.inject({ fault: 'twice' });
    const { port } = new URL(proxy.origin);
    const socket = connect(Number(port), '127.0.0.1');
    socket.write(`GET /once HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    let received = '';
    await new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('utf8');
        if ((received.match(/\{"n":1\}/g) ?? []).length === 2) resolve();
      });
    });
    socket.destroy();
    assert.equal((received.match(/HTTP\/1\.1 201 /g) ?? []).length, 2, received);
    assert.deepEqual(up.seen, ['GET /once ']);
  });

  it('late: the answer is held until the caller times out (on the fake clock), after the service acted', async () => {
    await proxy.close();
    const clock = fakeClock();
    proxy = await startFaultProxy({ target: up.origin, time: clock });
    proxy.inject({ fault: 'late' });
    const started = clock.now();
    assert.equal(await failure(fetch(`${proxy.origin}/write`, { method: 'POST', body: 'l', signal: clock.timeout(300) })), 'TimeoutError');
    assert.equal(clock.now() - started, 300, 'the caller gave up at its own timeout');
    assert.deepEqual(up.seen, ['POST /write l']);
  });

  it('late with delayMs: a caller without a timeout gets the answer that much later', async () => {
    await proxy.close();
    const clock = fakeClock();
    proxy = await startFaultProxy({ target: up.origin, time: clock });
    proxy.inject({ fault: 'late', delayMs: 5_000 });
    const started = clock.now();
    const answer = await fetch(`${proxy.origin}/slow`);
    assert.deepEqual([answer.status, await answer.json(), clock.now() - started], [201, { n: 1 }, 5_000]);
  });

  it('matches by name, skips and counts: only the second and third PUT take the fault', async () => {
    proxy.inject({ match: /^PUT /, fault: 'reset', skip: 1, times: 2 });
    const outcomes = [];
    for (const method of ['PUT', 'GET', 'PUT', 'PUT', 'PUT']) outcomes.push(await failure(fetch(`${proxy.origin}/x`, { method, body: method === 'GET' ? null : 'b' })));
    assert.deepEqual(outcomes, ['answered', 'answered', 'ECONNRESET', 'ECONNRESET', 'answered']);
    assert.deepEqual(proxy.faulted, { lose: 0, late: 0, reset: 2, twice: 0, duplicate: 0 });
  });

  it('names AWS JSON requests by X-Amz-Target operation, others by method and path', () => {
    assert.equal(requestName('POST', '/', { 'x-amz-target': 'DynamoDB_20120810.UpdateItem' }), 'UpdateItem');
    assert.equal(requestName('POST', '/', { 'x-amz-target': 'TrentService.Decrypt' }), 'Decrypt');
    assert.equal(requestName('DELETE', '/v2.0/tokens?x=1', {}), 'DELETE /v2.0/tokens');
  });

  it('via: keeps the path of a URL and swaps its origin', () => {
    assert.equal(proxy.via('http://127.0.0.1:9/v2.0'), `${proxy.origin}/v2.0`);
    assert.equal(proxy.via('http://127.0.0.1:9'), proxy.origin);
  });
});

describe('Fault proxy in front of dynalite, with the deployed DynamoDB client', () => {
  let dynamo: DynamoEmulator;
  let proxy: FaultProxy;
  before(async () => {
    dynamo = await startDynamoEmulator();
    proxy = await startFaultProxy({ target: dynamo.endpoint });
  });
  after(async () => {
    await proxy.close();
    await dynamo.close();
  });

  it('a lost PutItem answer: the SDK call fails, the item is in the table', async () => {
    const client = dynamoClient({ endpoint: proxy.origin, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
    proxy.inject({ match: 'PutItem', fault: 'lose' });
    const item = { profile: { S: 'lost-answer' }, revision: { N: '7' } };
    await assert.rejects(client.send(new PutItemCommand({ TableName: dynamo.table, Item: item })));
    const { Item } = await client.send(new GetItemCommand({ TableName: dynamo.table, Key: { profile: { S: 'lost-answer' } }, ConsistentRead: true }));
    assert.deepEqual(Item, item);
    assert.deepEqual(proxy.log.map((l) => `${l.name}:${l.fault}`), ['PutItem:lose', 'GetItem:pass']);
    client.destroy();
  });

  it('a doubled GetItem answer is not taken for the next request on that connection', async () => {
    const client = dynamoClient({ endpoint: proxy.origin, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
    const put = (profile: string, n: string) => client.send(new PutItemCommand({ TableName: dynamo.table, Item: { profile: { S: profile }, n: { N: n } } }));
    const get = async (profile: string) => (await client.send(new GetItemCommand({ TableName: dynamo.table, Key: { profile: { S: profile } }, ConsistentRead: true }))).Item?.n?.N;
    await put('first', '1');
    await put('second', '2');
    proxy.inject({ match: 'GetItem', fault: 'twice' });
    assert.deepEqual([await get('first'), await get('second'), await get('second')], ['1', '2', '2']);
    assert.ok(proxy.log.some((l) => l.name === 'GetItem' && l.fault === 'twice'));
    client.destroy();
  });
});
