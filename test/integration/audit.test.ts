import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { createLogger } from '../../functions/core/logger.ts';
import { DEMO_USER } from '../emulators/identity.ts';
import { fakeClock, HOUR, MINUTE } from '../support/clock.ts';
import { custody, observe } from '../support/leak-guard.ts';
import { call } from '../support/events.ts';
import { DEMO_CALLER, DEMO_SECRET_ID, type DemoOptions } from '../local/demo.ts';
import { demosClosedAfterEach } from '../support/demos.ts';

const startDemo = demosClosedAfterEach();

async function start(deps: DemoOptions['deps'] = {}, identity: DemoOptions['identity'] = {}, env: DemoOptions['env'] = {}) {
  const lines: string[] = [];
  const demo = await startDemo({ env: { IDENTITY_ATTEMPTS: '1', ...env }, deps, identity, sink: (line) => lines.push(line) });
  /** One request, and the log lines it wrote. */
  const vend = async (options: Parameters<typeof call>[1] = {}) => {
    const from = lines.length;
    const answer = await call(demo.handler, options);
    return { answer, lines: lines.slice(from).map((l) => JSON.parse(l) as Record<string, any>) };
  };
  return { demo, vend };
}

describe('Audit: one structured line per decision', () => {
  it('records an allowed vend: time, request, caller, profile, endpoint asked for, status, cache, Identity latency, token fingerprint', async () => {
    const { vend } = await start();
    const { answer, lines } = await vend({ query: { service: 'cloudFiles', region: 'ord', interface: 'internal' } });
    assert.equal(lines.length, 1);
    const [line] = lines;
    assert.equal(line?.level, 'INFO');
    assert.ok(Math.abs(Date.parse(line?.timestamp) - Date.now()) < 60_000, 'a current timestamp');
    const { requestId, identityMs, ...rest } = line?.audit;
    assert.match(requestId, /^req-\d+$/);
    assert.ok(Number.isInteger(identityMs) && identityMs >= 0);
    assert.deepEqual(rest, {
      caller: DEMO_CALLER, profile: 'demo', service: 'cloudFiles', region: 'ord', resolvedRegion: 'ORD', interface: 'internal',
      cacheHit: false, identityCalls: 1, degraded: false, reason: null, upstream: null, status: 200, secondsLeft: answer.json.expiresIn, shared: 'identity', sharedFallback: null, refusedRoles: null,
      tokenSha256: createHash('sha256').update(answer.json.token).digest('hex').slice(0, 12),
    });
    const again = await vend();
    assert.deepEqual([again.lines.length, again.lines[0]?.audit.cacheHit, again.lines[0]?.audit.identityCalls, again.lines[0]?.audit.identityMs], [1, true, 0, null]);
  });

  it('records an Identity call that took no time on the clock as 0 ms, not as "no call"', async () => {
    const clock = fakeClock();
    const { vend } = await start({ now: clock.now, sleep: clock.sleep }, { now: clock.now });
    const { lines } = await vend();
    assert.deepEqual([lines[0]?.audit.identityCalls, lines[0]?.audit.identityMs], [1, 0]);
  });

  it("records the time a request waited on another request's Identity call, with no call of its own", async () => {
    const lines: string[] = [];
    const demo = await startDemo({ clock: fakeClock(), sink: (line) => lines.push(line) });
    demo.identity.injectFaults({ thenAnswer: true, delayMs: 250 });
    const [first, second] = await Promise.all([call(demo.handler), call(demo.handler)]);
    assert.equal(second.json.token, first.json.token);
    const audits = lines.map((line) => JSON.parse(line).audit).map((audit) => [audit.identityCalls, audit.identityMs]);
    assert.deepEqual(audits.sort(), [[0, 250], [1, 250]]);
    assert.equal(demo.identity.calls, 1);
  });

  it('records a denial with the caller and the reason, and no token', async () => {
    const { vend } = await start();
    for (const [options, reason] of [
      [{ caller: 'arn:aws:sts::000000000000:assumed-role/someone-else/x' }, /not in the profile allowlist/],
      [{ profile: 'nope' }, /no such profile/],
      [{ caller: null }, /no IAM caller/],
    ] as const) {
      const { lines } = await vend(options);
      assert.equal(lines.length, 1);
      assert.deepEqual([lines[0]?.audit.status, lines[0]?.audit.tokenSha256, lines[0]?.audit.cacheHit], [403, null, null]);
      assert.match(lines[0]?.audit.reason, reason);
    }
  });

  it("audits an event it cannot read (400) under Lambda's request id, or 'unknown' when the invoke has none", async () => {
    const lines: string[] = [];
    const demo = await startDemo({ sink: (line) => lines.push(line) });
    const invoke = demo.handler as (event: unknown, context: unknown) => Promise<{ statusCode: number }>;
    const answers = [await invoke('not an event', { awsRequestId: 'lambda-request-7' }), await invoke({ pathParameters: null }, {})];
    assert.deepEqual(answers.map((a) => a.statusCode), [400, 400]);
    assert.deepEqual(lines.map((l) => JSON.parse(l).audit).map((a) => [a.requestId, a.status]), [['lambda-request-7', 400], ['unknown', 400]]);
  });

  it('names the failing dependency, which the Identity-failure alarm counts', async () => {
    const identityDown = await start();
    identityDown.demo.identity.injectFaults({ status: 503 });
    assert.deepEqual(((await identityDown.vend()).lines.map((l) => [l.level, l.audit.status, l.audit.upstream])), [['WARN', 503, 'identity']]);
    const secretsDown = await start();
    secretsDown.demo.secrets.injectFaults({ type: 'ThrottlingException' });
    assert.deepEqual(((await secretsDown.vend()).lines.map((l) => [l.audit.status, l.audit.upstream])), [[503, 'secrets-manager']]);
  });

  it('writes every audit line whatever POWERTOOLS_LOG_LEVEL says, while other lines still follow the level', async () => {
    // Each level with the loudest ordinary line it drops.
    for (const [level, below] of [['WARN', 'info'], ['ERROR', 'warn'], ['SILENT', 'error']] as const) {
      const lines: string[] = [];
      const saved = process.env.POWERTOOLS_LOG_LEVEL;
      process.env.POWERTOOLS_LOG_LEVEL = level;
      let logger;
      try {
        logger = createLogger({ sink: (line) => { observe('log line', line); lines.push(line); } });
      } finally {
        if (saved === undefined) delete process.env.POWERTOOLS_LOG_LEVEL;
        else process.env.POWERTOOLS_LOG_LEVEL = saved;
      }
      logger[below]('noise');
      assert.deepEqual(lines, [], `${level}: ordinary lines below the level are dropped`);
      const { demo } = await start({ logger });
      // A refusal (403: not remembered, not backed off), so the next request succeeds at once.
      demo.identity.injectFaults({ status: 403, body: '{"userDisabled":{"code":403,"message":"User is disabled"}}' });
      await call(demo.handler);
      await call(demo.handler);
      await call(demo.handler, { caller: 'arn:aws:sts::000000000000:assumed-role/someone-else/x' });
      const audit = lines.map((l) => JSON.parse(l) as Record<string, any>).map((l) => [l.level, l.message, l.audit?.status, l.audit?.upstream]);
      assert.deepEqual(audit, [['WARN', 'vend', 502, 'identity'], ['INFO', 'vend', 200, null], ['INFO', 'vend', 403, null]], `${level}: every decision is audited`);
    }
  });

  it('refuses an identityUrl with a password in it as unusable credentials (502), and the password reaches no log line', async () => {
    const password = 'url-password-0123456789';
    custody(password);
    const { demo, vend } = await start();
    demo.secrets.putSecret(DEMO_SECRET_ID, JSON.stringify({ username: DEMO_USER.username, apiKey: DEMO_USER.apiKey, identityUrl: demo.identity.url.replace('//', `//user:${password}@`) }));
    const { answer, lines } = await vend();
    assert.deepEqual([answer.statusCode, answer.json.type], [502, 'urn:rackspace-token-vendor:problem:credentials-unusable']);
    assert.equal(demo.identity.calls, 0, 'nothing was sent');
    assert.deepEqual(lines.map((l) => [l.audit.status, l.audit.upstream]), [[502, 'secrets-manager']]);
    assert.match(lines[0]?.audit.reason, /field 'identityUrl' must not contain user info/);
    assert.ok(!JSON.stringify(lines).includes(password) && !answer.body.includes(password));
  });

  it("still blanks a profile's key after 300 tokens were issued since it was read", async () => {
    const apiKey = DEMO_USER.apiKey as string;
    const clock = fakeClock();
    let failing = false;
    const fetchOrFail: typeof fetch = (input, init) => (failing ? Promise.reject(new Error(`socket hang up while sending ${apiKey}`)) : fetch(input, init));
    const lines: string[] = [];
    // The secret is read once (trusted for a day); each token lives 2 minutes, so every request a
    // minute later, asking for 60 s, needs a new one.
    const demo = await startDemo({
      env: { IDENTITY_ATTEMPTS: '1', SECRET_TTL_SECONDS: '86400' },
      identity: { now: clock.now, lifetimeMs: 2 * MINUTE },
      deps: { now: clock.now, fetch: fetchOrFail },
      sink: (line) => lines.push(line),
    });
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      seen.add((await call(demo.handler, { query: { minTtl: '60' } })).json.token);
      clock.advance(MINUTE + 1_000);
    }
    assert.deepEqual([seen.size, demo.secrets.calls.GetSecretValue], [300, 1], 'a new token each time, one secret read');
    failing = true;
    clock.advance(2 * MINUTE); // no token left to serve degraded
    lines.length = 0;
    const answer = await call(demo.handler, { query: { minTtl: '60' } });
    assert.equal(answer.statusCode, 503);
    assert.match(JSON.parse(lines[0] ?? '{}').audit.reason, /socket hang up while sending \[REDACTED\]/);
  });

  it('writes a degraded answer at WARN, naming why and the dependency that failed', async () => {
    const clock = fakeClock();
    const { demo, vend } = await start({ now: clock.now, sleep: clock.sleep }, { now: clock.now });
    await vend();
    clock.advance(24 * HOUR - 10 * MINUTE); // 10 min left: short of minTtl 3600
    demo.identity.injectFaults({ status: 503 });
    const { answer, lines } = await vend({ query: { minTtl: '3600' } });
    assert.deepEqual([answer.statusCode, answer.json.degraded], [200, true]);
    assert.deepEqual(lines.map((l) => [l.level, l.audit.status, l.audit.degraded, l.audit.upstream]), [['WARN', 200, true, 'identity']]);
    assert.match(lines[0]?.audit.reason, /Identity is unavailable/);
  });

  it('writes an unexpected failure at WARN with a fixed reason, and the error itself on an ERROR line', async () => {
    // Two attempts, and the wait between them breaks in a way nobody classified.
    const { demo, vend } = await start({ sleep: async () => { throw new TypeError('a bug nobody classified'); } }, {}, { IDENTITY_ATTEMPTS: '2' });
    demo.identity.injectFaults({ status: 500 });
    const { answer, lines } = await vend();
    assert.equal(answer.statusCode, 500);
    const audit = lines.find((l) => l.audit);
    const error = lines.find((l) => l.level === 'ERROR');
    assert.deepEqual([lines.length, audit?.level, audit?.audit.status, audit?.audit.reason], [2, 'WARN', 500, 'unexpected error']);
    assert.equal(error?.message, 'unexpected error');
    assert.match(JSON.stringify(error), /a bug nobody classified/);
  });

  it('registers every token it vends for redaction: a log line quoting one is blanked', async () => {
    const { vend } = await start();
    const { answer } = await vend();
    const lines: string[] = [];
    createLogger({ sink: (line) => lines.push(line) }).info('debugging', { note: `the token was ${answer.json.token}` });
    assert.equal(JSON.parse(lines[0] ?? '{}').note, 'the token was [REDACTED]');
  });

  it('blanks a custodied key that reaches a log line by mistake (an error message quoting it)', async () => {
    const apiKey = DEMO_USER.apiKey as string;
    const { vend } = await start({ fetch: async () => { throw new Error(`socket hang up while sending ${apiKey}`); } });
    const { answer, lines } = await vend();
    assert.equal(answer.statusCode, 503);
    assert.match(lines[0]?.audit.reason, /\[REDACTED\]/, 'the reason quoted the key, and the logger blanked it');
    assert.ok(!JSON.stringify(lines).includes(apiKey) && !answer.body.includes(apiKey));
  });
});
