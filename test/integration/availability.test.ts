import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import type { HttpHandler } from '@smithy/core/protocols';
import type { NodeHttpHandlerOptions } from '@smithy/types';
import { pendingReader, secretsManagerClient, secretsManagerReader } from '../../functions/adapters/secrets.ts';
import { UpstreamUnavailableError } from '../../functions/core/errors.ts';
import { holdRequest } from '../emulators/delay.ts';
import { DEMO_USER } from '../emulators/identity.ts';
import { DEMO_SECRET_ID, type DemoOptions } from '../local/demo.ts';
import { fakeClock, HOUR } from '../support/clock.ts';
import { demosClosedAfterEach } from '../support/demos.ts';
import { auditsIn, call } from '../support/events.ts';

const startDemo = demosClosedAfterEach();
const OTHER_USER = { username: 'other', apiKey: 'other-api-key-0123456789abcdef', tenantId: '220022', tenantName: '220022' };

/** A demo on a fake clock that records its log lines; `vend` answers with the audit lines it wrote. */
async function start(options: DemoOptions = {}) {
  const clock = fakeClock();
  const lines: string[] = [];
  const demo = await startDemo({ clock, deps: { random: () => 0.5 }, sink: (line) => lines.push(line), ...options });
  const vend = async (request: Parameters<typeof call>[1] = {}) => {
    const from = lines.length;
    const answer = await call(demo.handler, request);
    return { answer, audit: auditsIn(lines.slice(from)) };
  };
  return { ...demo, clock, lines, vend };
}

/** An HTTP server that counts what reaches it and answers with `answer` (default: never). */
async function listener(answer?: (res: import('node:http').ServerResponse, req: import('node:http').IncomingMessage) => void | Promise<void>) {
  const seen: string[] = [];
  const connections = { count: 0 };
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (answer) void answer(res, req);
  });
  server.on('connection', () => void connections.count++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve())));
  return { url, seen, connections, close };
}

describe('Availability: time limits, backoff and what the cached token belongs to', () => {
  describe('a Secrets Manager read that never ends', () => {
    it('gives up at the client request timeout: 503 problem+json with Retry-After and its audit line', async () => {
      const silent = await listener();
      try {
        // Real timers here: this checks the deployed client's own request timeout, with no deadline near
        // (a generous connect timeout: on a loaded machine the accept alone can take 100 ms).
        const lines: string[] = [];
        const demo = await startDemo({ secretsEndpoint: silent.url, secretsTimeouts: { connectMs: 5_000, requestMs: 100 }, sink: (line) => lines.push(line) });
        const answer = await call(demo.handler);
        assert.deepEqual([answer.statusCode, answer.headers['content-type'], answer.headers['retry-after'], answer.json.status], [503, 'application/problem+json', '1', 503]);
        // The client's own timeout ended it (throwOnRequestTimeout), not the request's deadline.
        assert.deepEqual(auditsIn(lines).map((a) => a.reason), ['Secrets Manager is unavailable; try again shortly. (Secrets Manager TimeoutError (timeout))']);
        // Accepted (the request itself may not have been read yet when the client gave up), never answered.
        assert.deepEqual([silent.connections.count, demo.identity.calls], [1, 0]);
      } finally {
        await silent.close();
      }
    });

    it("gives up at the request's deadline, well before the Lambda's own timeout", async () => {
      const clock = fakeClock();
      const silent = await listener(async (_, req) => void (await holdRequest(req, Infinity, clock)));
      try {
        const d = await start({ clock, secretsEndpoint: silent.url });
        const started = clock.now();
        const { answer, audit } = await d.vend({ remainingMs: 4_000 });
        assert.deepEqual([answer.statusCode, answer.headers['retry-after']], [503, '1']);
        assert.equal(clock.now() - started, 3_500, 'remaining time less the 500 ms kept for the answer');
        assert.equal(audit.length, 1);
        assert.deepEqual([audit[0]?.status, audit[0]?.upstream], [503, 'secrets-manager']);
        assert.match(audit[0]?.reason, /within this request's time/);
      } finally {
        await silent.close();
      }
    });

    it('has the limits docs/design.md "Secrets Manager failures" gives each call: 1 s connect, 2 s request (then it throws), two attempts', async () => {
      const d = await start();
      const client = secretsManagerClient({ endpoint: d.secrets.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' } });
      try {
        // The handler settles its options on its first request.
        await secretsManagerReader(client)(DEMO_SECRET_ID);
        // The handler's own account of its options: a timeout itself would cost real seconds to watch.
        const { connectionTimeout, requestTimeout, throwOnRequestTimeout } = (client.config.requestHandler as HttpHandler<NodeHttpHandlerOptions>).httpHandlerConfigs();
        assert.deepEqual({ connectionTimeout, requestTimeout, throwOnRequestTimeout, maxAttempts: await client.config.maxAttempts() }, { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true, maxAttempts: 2 });
      } finally {
        client.destroy();
      }
    });

    it("is an outage when the request's signal aborts the read, logged as a timeout", async () => {
      const d = await start();
      const client = secretsManagerClient({ endpoint: d.secrets.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' } });
      try {
        const error: unknown = await secretsManagerReader(client)(DEMO_SECRET_ID, AbortSignal.abort()).then(() => null, (e: unknown) => e);
        assert.ok(error instanceof UpstreamUnavailableError, String(error));
        assert.deepEqual([error.upstream, (error.cause as Error).message], ['secrets-manager', 'Secrets Manager AbortError (timeout)']);
      } finally {
        client.destroy();
      }
    });

    it('logs the name and kind of a client-side failure (no region), not just "Secrets Manager Error", and answers 500 with an ERROR audit line: a deployment fault, not an outage', async () => {
      const d = await start({ deps: { random: () => 0.5, secretsClient: secretsManagerClient({ credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' } }) } });
      const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION };
      delete process.env.AWS_REGION;
      delete process.env.AWS_DEFAULT_REGION;
      let result;
      try {
        result = await d.vend();
      } finally {
        for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value;
      }
      const { answer, audit } = result;
      assert.equal(answer.statusCode, 500);
      assert.match(audit[0]?.reason, /Secrets Manager Error \(client-side\): Region is missing/);
      assert.deepEqual(d.lines.map((l) => JSON.parse(l) as { level: string; message: string }).map((l) => [l.level, l.message]), [['ERROR', 'vend']]);
    });
  });

  describe('a Secrets Manager call that never left the function (client-side)', () => {
    /** A vend whose Secrets Manager client gets its AWS credentials from `provider`, which fails. */
    const vendWith = async (provider: () => Promise<never>) => {
      const d = await start({ deps: { random: () => 0.5, secretsClient: secretsManagerClient({ region: 'us-east-1', credentials: provider }) } });
      const result = await d.vend();
      return { ...result, levels: d.lines.map((l) => (JSON.parse(l) as { level: string }).level) };
    };

    it("quotes only the first line of the SDK's message, cut at 120 characters", async () => {
      const long = `Could not load credentials: ${'the container endpoint refused the request '.repeat(3)}`;
      for (const [first, quoted] of [['Could not load credentials from any providers', 'Could not load credentials from any providers'], [long, long.slice(0, 120)]]) {
        const { answer, audit, levels } = await vendWith(async () => {
          throw new Error(`${first}\n    at provider (/var/task/index.mjs:1:1)`);
        });
        assert.deepEqual([answer.statusCode, levels], [500, ['ERROR']]);
        assert.equal(audit[0]?.reason, `The service is misconfigured; its operators must fix it. The service log has the reason. (Secrets Manager Error (client-side): ${quoted})`);
      }
    });

    it('names a failure thrown as a bare value, not an Error, UnknownError: still a 500 misconfiguration, not an unexpected error', async () => {
      const { answer, audit, levels } = await vendWith(async () => {
        // What a hand-written credentials provider may do; the SDK passes it on as it is.
        throw 'no credentials';
      });
      assert.deepEqual([answer.statusCode, answer.json.type, levels], [500, 'urn:rackspace-token-vendor:problem:service-misconfigured', ['ERROR']]);
      assert.equal(audit[0]?.reason, 'The service is misconfigured; its operators must fix it. The service log has the reason. (Secrets Manager UnknownError (client-side))');
    });
  });

  describe("a rotation's AWSPENDING version", () => {
    it('is null when no version carries the label, and a failed read is an error, not "none"', async () => {
      const d = await start();
      const client = secretsManagerClient({ endpoint: d.secrets.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' }, maxAttempts: 1 });
      try {
        const read = pendingReader(client);
        assert.equal(await read(DEMO_SECRET_ID), null);
        d.secrets.injectFaults({ type: 'ThrottlingException' });
        const error: unknown = await read(DEMO_SECRET_ID).then(() => null, (e: unknown) => e);
        assert.ok(error instanceof UpstreamUnavailableError, String(error));
        assert.equal((error.cause as Error).message, 'Secrets Manager ThrottlingException (service, HTTP 400)');
      } finally {
        client.destroy();
      }
    });
  });

  describe('Secrets Manager failing on a warm vend', () => {
    it('serves the cached token when the periodic secret read fails for a moment', async () => {
      const d = await start();
      const first = await d.vend();
      d.clock.advance(301_000); // the secret read is due again
      d.secrets.injectFaults({ type: 'ThrottlingException' });
      const { answer, audit } = await d.vend();
      assert.deepEqual([answer.statusCode, answer.json.token, audit[0]?.cacheHit, d.secrets.calls.GetSecretValue], [200, first.answer.json.token, true, 2]);
    });
  });

  describe('Identity failing', () => {
    it('after one retry cycle answers from the cache, flagged, and calls Identity once per backoff period', async () => {
      const d = await start();
      await d.vend();
      d.clock.advance(24 * HOUR - 200_000); // 200 s left: short of the default minTtl
      d.identity.resetCalls();
      d.identity.injectFaults(...Array.from({ length: 40 }, () => ({ status: 500 })));
      const first = await d.vend();
      assert.deepEqual([first.answer.statusCode, first.answer.json.degraded, first.answer.headers['x-token-degraded']], [200, true, 'true']);
      // The audit line says what happened: four calls and 700 ms of waits, no cache hit.
      assert.deepEqual([first.audit[0]?.cacheHit, first.audit[0]?.identityCalls, first.audit[0]?.identityMs, first.audit[0]?.upstream], [false, 4, 700, 'identity']);
      const calls: number[] = [];
      for (let second = 1; second < 60; second++) {
        d.clock.advance(1_000);
        const { answer } = await d.vend();
        assert.equal(answer.statusCode, 200);
        calls.push(d.identity.calls);
      }
      // The cycle ended 0.7 s in; probes after waits of 5, 10 and 20 s: the 5th, 15th and 35th second.
      assert.deepEqual([...new Set(calls)], [4, 5, 6, 7]);
      assert.deepEqual([calls.indexOf(5) + 1, calls.indexOf(6) + 1, calls.indexOf(7) + 1], [5, 15, 35]);
    });
  });

  describe('Identity refusing the key', () => {
    it('does not send a refused key again until the secret changes, and reads the secret only every SECRET_TTL_SECONDS', async () => {
      const d = await start({ env: { SECRET_TTL_SECONDS: '60' } });
      d.identity.setUser('demo', { apiKey: 'a-key-nobody-custodies-000000' });
      for (let i = 0; i < 10; i++) {
        const { answer } = await d.vend();
        assert.equal(answer.statusCode, 502);
        d.clock.advance(1_000);
      }
      assert.deepEqual([d.identity.calls, d.secrets.calls.GetSecretValue], [1, 3], 'one refusal, one re-read, one look for AWSPENDING, then nothing');
      const newKey = 'the-key-fixed-by-an-operator-0123456';
      d.identity.setUser('demo', { apiKey: newKey });
      d.secrets.putSecret(DEMO_SECRET_ID, JSON.stringify({ username: 'demo', apiKey: newKey, identityUrl: d.identity.url }));
      d.clock.advance(60_000);
      const { answer } = await d.vend();
      assert.equal(answer.statusCode, 200);
      assert.deepEqual([d.identity.calls, d.secrets.calls.GetSecretValue], [2, 4]);
    });
  });

  describe('what a cached token belongs to', () => {
    it('drops the token when the secret, re-read after SECRET_TTL_SECONDS, names another user', async () => {
      const d = await start({ identity: { users: [{ ...DEMO_USER }, OTHER_USER] } });
      const before = await d.vend();
      assert.equal(before.answer.json.tenant.id, '110011');
      d.secrets.putSecret(DEMO_SECRET_ID, JSON.stringify({ username: OTHER_USER.username, apiKey: OTHER_USER.apiKey, identityUrl: d.identity.url }));
      d.clock.advance(301_000);
      const after = await d.vend();
      assert.deepEqual([after.answer.statusCode, after.answer.json.tenant.id, d.identity.calls], [200, '220022', 2]);
      assert.notEqual(after.answer.json.token, before.answer.json.token);
    });

    it('never serves a token with less than 60 s left: it asks Identity instead', async () => {
      const d = await start({ identity: { lifetimeMs: 90_000 } });
      const first = await d.vend({ query: { minTtl: '60' } });
      assert.equal(first.answer.json.expiresIn, 90);
      d.clock.advance(31_000); // 59 s left, inside the 60 s quiet period after the confirmation
      const next = await d.vend({ query: { minTtl: '60' } });
      assert.notEqual(next.answer.json.token, first.answer.json.token);
      assert.ok(next.answer.json.expiresIn >= 60, `expiresIn ${next.answer.json.expiresIn}`);
      assert.equal(d.identity.calls, 2);
    });
  });

  describe('Identity at the wrong address', () => {
    it('never follows a redirect: 502 (an operator must fix the Identity URL), the other host receives nothing, the log names its host only', async () => {
      const elsewhere = await listener((res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
      try {
        const d = await start();
        const target = `${elsewhere.url}/v2.0/tokens?user=someone`;
        d.identity.injectFaults({ status: 307, headers: { location: target } }, { status: 308, headers: { location: target } });
        const { answer, audit } = await d.vend();
        assert.deepEqual([answer.statusCode, answer.json.type, answer.headers['retry-after']], [502, 'urn:rackspace-token-vendor:problem:credentials-unusable', undefined]);
        assert.deepEqual([elsewhere.seen, d.identity.calls], [[], 1]);
        assert.match(audit[0]?.reason, new RegExp(`answered 307 to host ${new URL(elsewhere.url).host}\\)`));
        assert.ok(!JSON.stringify(audit).includes('user=someone'), 'no path or query of the Location');
      } finally {
        await elsewhere.close();
      }
    });

    it('treats Identity 404 and 405 as a configuration error (502), asked once, not "try again shortly"', async () => {
      for (const status of [404, 405]) {
        const d = await start();
        d.identity.injectFaults({ status, body: '{"itemNotFound":{"code":404,"message":"Resource not found"}}' });
        const { answer, audit } = await d.vend();
        assert.deepEqual([answer.statusCode, answer.json.type, answer.headers['retry-after'], d.identity.calls], [502, 'urn:rackspace-token-vendor:problem:credentials-unusable', undefined, 1]);
        assert.equal(audit[0]?.upstream, 'identity');
      }
    });
  });

  describe('one deadline per request', () => {
    it("falls back on middy's early timeout when a wait escapes the deadline: still a 503 problem with its audit line", async () => {
      const silent = await listener();
      try {
        // Timers that never fire: our own deadline is blind here, only middy's (real, 100 ms before the end) is left.
        const d = await start({ secretsEndpoint: silent.url, deps: { random: () => 0.5, timeout: () => new AbortController().signal } });
        const { answer, audit } = await d.vend({ remainingMs: 800 });
        assert.deepEqual([answer.statusCode, answer.headers['content-type'], answer.headers['retry-after']], [503, 'application/problem+json', '1']);
        assert.deepEqual([audit.length, audit[0]?.status], [1, 503]);
        assert.match(answer.json.detail, /within this request's time/);
      } finally {
        await silent.close();
      }
    });

    it('does not call Identity when the request has no time left for it', async () => {
      // Tokens of 20 min: a request for 1 h must authenticate again, with the secret still cached.
      const d = await start({ shared: false, identity: { lifetimeMs: 20 * 60_000 } });
      await d.vend();
      d.clock.advance(61_000); // past the quiet period after an authentication; the secret is still cached
      d.identity.resetCalls();
      // 500 ms is the margin kept for the answer, so the deadline is now: exactly nothing left.
      const { answer, audit } = await d.vend({ remainingMs: 500, query: { minTtl: '3600' } });
      // The token held still has 19 min: answered, flagged, with no call made.
      assert.deepEqual([answer.statusCode, answer.json.degraded, d.identity.calls, audit[0]?.identityCalls, audit[0]?.upstream], [200, true, 0, 0, 'identity']);
      assert.match(audit[0]?.reason, /within this request's time/);
    });

    it("an Identity attempt given all that was left of the request's time and timing out is the request running out: 503 naming it, and no backoff for the next request", async () => {
      // Node's timers run on the event loop's cached time, which lags Date.now(): an attempt's timer,
      // set later for the same instant as the request's deadline, can fire a millisecond before it.
      // Played here: every timer after the first (the deadline's) fires 1 ms early.
      const clock = fakeClock();
      let timers = 0;
      const early = (ms: number) => clock.timeout(++timers > 1 ? Math.max(0, ms - 1) : ms);
      const d = await start({ shared: false, clock, deps: { random: () => 0.5, timeout: early } });
      // Identity holds its first answer past any deadline; the request has 100 ms left for it.
      d.identity.injectFaults({ status: 503, delayMs: 60_000 });
      const { answer, audit } = await d.vend({ remainingMs: 600 });
      assert.deepEqual([answer.statusCode, answer.json.detail], [503, "No answer from Rackspace Identity within this request's time; try again shortly."]);
      assert.match(audit[0]?.reason, /within this request's time/);
      // Identity did not fail: the next request asks it, and is served.
      timers = 0;
      const next = await d.vend();
      assert.deepEqual([next.answer.statusCode, d.identity.calls], [200, 2]);
    });

    it('a slow 401 and the rotated key: answered in time with 200 when it fits, 503 + audit line when it does not', async () => {
      for (const [remainingMs, status] of [[1_500, 200], [900, 503]] as const) {
        const d = await start();
        const rotated = 'rotated-during-the-request-0123456789';
        const rotate = () => {
          d.identity.setUser('demo', { apiKey: rotated });
          d.secrets.putSecret(DEMO_SECRET_ID, JSON.stringify({ username: 'demo', apiKey: rotated, identityUrl: d.identity.url }));
        };
        // Each Identity answer takes 250 ms (inside its 3 s timeout); the deadline is what runs out.
        d.identity.injectFaults({ status: 401, delayMs: 250, onReceive: rotate }, { thenAnswer: true, delayMs: 250 });
        const started = d.clock.now();
        const { answer, audit } = await d.vend({ remainingMs });
        assert.equal(answer.statusCode, status, answer.body);
        assert.ok(d.clock.now() - started <= remainingMs - 500, `${d.clock.now() - started} ms of ${remainingMs}`);
        assert.deepEqual([d.identity.calls, d.secrets.calls.GetSecretValue, audit.length, audit[0]?.status, audit[0]?.identityCalls], [2, 2, 1, status, 2]);
        if (status === 503) assert.equal(answer.headers['retry-after'], '1');
      }
    });
  });
});
