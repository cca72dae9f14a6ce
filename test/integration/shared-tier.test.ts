import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { fakeClock, HOUR } from '../support/clock.ts';
import { call } from '../support/events.ts';
import type { DemoOptions } from '../local/demo.ts';
import { demosClosedAfterEach } from '../support/demos.ts';
import { identityRevoker } from '../../functions/adapters/identity-revoke.ts';

// Several handler instances (separate memory, as separate Lambda execution environments) against
// one dynalite table, one KMS stand-in and one Identity emulator: the real SDK clients throughout.
const startDemo = demosClosedAfterEach();

async function start(options: DemoOptions = {}) {
  const clock = fakeClock();
  const lines: string[] = [];
  const d = await startDemo({ ...options, identity: { now: clock.now }, deps: { now: clock.now, sleep: clock.sleep, random: () => 0.5, ...options.deps }, sink: (line) => lines.push(line) });
  const audits = () => lines.filter((l) => l.includes('"audit"')).map((l) => ({ ...JSON.parse(l).audit, level: JSON.parse(l).level }) as Record<string, unknown>);
  return { ...d, clock, lines, audits, vend: (handler: unknown = d.handler) => call(handler, { query: { service: 'cloudFiles', region: 'dfw' } }) };
}

describe('Shared tier: instances share one token through the table', () => {
  it('serves a new instance from the table: no Secrets Manager read, no Identity call, the same token', async () => {
    const d = await start();
    const first = await d.vend();
    d.clock.advance(HOUR);
    const second = await d.vend(d.instance());
    assert.deepEqual([second.statusCode, second.json.token, second.json.endpoint.url], [200, first.json.token, first.json.endpoint.url]);
    assert.deepEqual([d.identity.calls, d.secrets.calls.GetSecretValue], [1, 1]);
    assert.deepEqual(d.audits().map((a) => [a.shared, a.identityCalls]), [['identity', 1], ['table', 0]]);
  });

  it('authenticates once for 5 cold instances × 10 concurrent requests', async () => {
    const d = await start();
    const instances = Array.from({ length: 5 }, () => d.instance());
    const answers = await Promise.all(instances.flatMap((h) => Array.from({ length: 10 }, () => d.vend(h))));
    assert.deepEqual(new Set(answers.map((a) => a.statusCode)), new Set([200]));
    assert.equal(new Set(answers.map((a) => a.json.token)).size, 1);
    assert.equal(d.identity.calls, 1);
  });

  for (const [what, fault, reason, ms] of [
    ['a 429 whose Retry-After outlasts the budget', { status: 429, headers: { 'retry-after': '30' } }, 'rate-limited', 30_000],
    ['a 503 that names no Retry-After', { status: 503 }, 'unavailable', 5_000],
  ] as const) {
    it(`writes ${what} to the table as the fleet's backoff (${reason}, ${ms / 1000} s), so a new instance does not ask Identity`, async () => {
      const d = await start();
      d.identity.injectFaults(...Array.from({ length: 5 }, () => ({ ...fault })));
      const failed = await d.vend();
      assert.equal(failed.statusCode, 503);
      const { Item } = await d.shared!.dynamo.client.send(new GetItemCommand({ TableName: d.shared!.dynamo.table, Key: { profile: { S: 'demo' } } }));
      assert.deepEqual([Number(Item?.backoffUntil?.N) - d.clock.now(), Item?.backoffReason?.S, Item?.leaseOwner], [ms, reason, undefined]);
      const calls = d.identity.calls;
      assert.equal((await d.vend(d.instance())).statusCode, 503);
      assert.equal(d.identity.calls, calls, 'the new instance honoured the backoff');
    });
  }

  it('keeps the token encrypted in the table: the item holds neither the token nor its endpoints', async () => {
    const d = await start();
    const answer = await d.vend();
    const { Item } = await d.shared!.dynamo.client.send(new GetItemCommand({ TableName: d.shared!.dynamo.table, Key: { profile: { S: 'demo' } } }));
    const text = JSON.stringify(Item, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
    assert.ok(Item && !text.includes(answer.json.token) && !text.includes('clouddrive'));
  });

  it('never serves a tampered record: the next instance authenticates and overwrites it', async () => {
    const d = await start();
    await d.vend();
    const key = { TableName: d.shared!.dynamo.table, Key: { profile: { S: 'demo' } } };
    const { Item } = await d.shared!.dynamo.client.send(new GetItemCommand(key));
    (Item!.ciphertext!.B as Uint8Array)[3]! ^= 0xff;
    await d.shared!.dynamo.client.send(new PutItemCommand({ TableName: key.TableName, Item: Item! }));
    const next = d.instance();
    assert.equal((await d.vend(next)).statusCode, 200);
    assert.equal(d.identity.calls, 2, 'the tampered record was not served');
    await d.vend(d.instance());
    assert.equal(d.identity.calls, 2, 'the record was overwritten with a readable one');
  });

  for (const [fault, inject] of [
    ['the table is throttled', (d: Awaited<ReturnType<typeof start>>) => d.shared!.dynamo.injectFaults({ type: 'ThrottlingException' })],
    ['the table is unreachable (partition)', (d: Awaited<ReturnType<typeof start>>) => d.shared!.dynamo.partition(true)],
    ['KMS denies the key', (d: Awaited<ReturnType<typeof start>>) => d.shared!.kms.denyAll(true)],
  ] as const) {
    it(`falls back to authenticating alone when ${fault}, flags it in the audit line, and nothing fails`, async () => {
      const d = await start();
      await d.vend();
      inject(d);
      const alone = await d.vend(d.instance());
      assert.equal(alone.statusCode, 200);
      assert.equal(d.identity.calls, 2);
      const audit = d.audits().at(-1)!;
      assert.equal(audit.shared, 'fallback');
      assert.match(String(audit.sharedFallback), /^(dynamodb|kms): /);
    });
  }

  it("learns no backoff from a request that ran out of its own time while Identity was slow: the next instance asks Identity at once", async () => {
    const clock = fakeClock();
    const d = await startDemo({ clock, sink: () => {} });
    d.identity.injectFaults({ thenAnswer: true, delayMs: 10_000 });
    const late = await call(d.handler, { remainingMs: 1_500 });
    // Its 1,000 ms ran out first: the attempt was given exactly that, so both timers fire together.
    assert.deepEqual([late.statusCode, late.json.detail], [503, "No answer from Rackspace Identity within this request's time; try again shortly."]);
    const next = await call(d.instance(), { remainingMs: 60_000 });
    assert.deepEqual([next.statusCode, d.identity.calls], [200, 2]);
  });

  for (const [what, inject, first, next] of [
    // The key is refused (401); the re-read that would pick up a rotated key is throttled. The next instance is refused in turn.
    ['Secrets Manager failing mid-authentication', (d: Awaited<ReturnType<typeof start>>) => {
      d.identity.setUser('demo', { apiKey: 'a-key-nobody-custodies-000000' });
      d.identity.injectFaults({ status: 401, onReceive: () => d.secrets.injectFaults({ type: 'ThrottlingException' }) });
    }, 503, 502],
    // A redirect is a wrong Identity URL, which an operator fixes: not Identity being down.
    ['an Identity redirect', (d: Awaited<ReturnType<typeof start>>) => d.identity.injectFaults({ status: 302, headers: { location: `${d.identity.url}/v2.0/tokens` } }), 502, 200],
  ] as const) {
    it(`learns no fleet backoff from ${what}: the next instance asks Identity again`, async () => {
      const d = await start();
      inject(d);
      assert.equal((await d.vend()).statusCode, first);
      assert.deepEqual([(await d.vend(d.instance())).statusCode, d.identity.calls], [next, 2]);
    });
  }

  it("takes over a lease nobody renews after watching it unchanged for half the lease (the Identity budget plus 2 s), polling every 100 ms", async () => {
    const d = await start({ env: { IDENTITY_BUDGET_MS: '4000' } });
    // A holder that died mid-authentication, its clock an hour ahead: only our own watch can free the lease.
    const item = { profile: { S: 'demo' }, revision: { N: '1' }, leaseOwner: { S: 'a-dead-instance' }, leaseUntil: { N: String(d.clock.now() + HOUR) } };
    await d.shared!.dynamo.client.send(new PutItemCommand({ TableName: d.shared!.dynamo.table, Item: item }));
    const waits: number[] = [];
    const watcher = d.instance({ sleep: (ms) => (waits.push(ms), d.clock.sleep(ms)) });
    const answer = await call(watcher, { remainingMs: 60_000 });
    assert.deepEqual([answer.statusCode, d.identity.calls], [200, 1]);
    // Random 0.5 puts each poll at the middle of its jitter, 100 × (0.5 + 0.5) ms; 3,000 ms of them.
    assert.deepEqual(waits, Array.from({ length: 30 }, () => 100));
  });

  it('with the shared tier off (FLEET_TABLE empty), every instance authenticates on its own, as before', async () => {
    const d = await start({ env: { FLEET_TABLE: '' } });
    await d.vend();
    await d.vend(d.instance());
    assert.equal(d.identity.calls, 2);
    assert.deepEqual(d.audits().map((a) => a.shared), [null, null]);
  });
});

describe('Operator flush: a direct invoke drops the profile\'s token fleet-wide and revokes it at Rackspace', () => {
  const flush = (handler: unknown, event: unknown) => (handler as (e: unknown, c: unknown) => Promise<{ statusCode: number; body: string }>)(event, { awsRequestId: 'op-1' });

  it('revokes the token (DELETE /v2.0/tokens with it as X-Auth-Token), audits it, and every instance drops it by its next secret re-read', async () => {
    const d = await start();
    const other = d.instance();
    const first = await d.vend();
    await d.vend(other);
    const answer = await flush(d.handler, { operation: 'flush', profile: 'demo', reason: 'suspected leak' });
    const result = JSON.parse(answer.body);
    assert.deepEqual([answer.statusCode, result.tokens.map((t: { revocation: string }) => t.revocation)], [200, ['revoked']]);
    assert.deepEqual([d.identity.requests.revoke, d.identity.revoked.has(first.json.token)], [1, true]);
    const audit = d.audits().at(-1)!;
    assert.deepEqual([audit.operation, audit.profile, audit.reason, audit.status], ['flush', 'demo', 'suspected leak', 200]);
    assert.ok(!JSON.stringify(audit).includes(first.json.token), 'the audit line names the token by fingerprint only');
    // The other instance serves from memory until it re-reads the secret (SECRET_TTL_SECONDS), then drops it.
    d.clock.advance(301_000);
    const after = await d.vend(other);
    assert.equal(after.statusCode, 200);
    assert.notEqual(after.json.token, first.json.token);
    assert.equal(d.identity.calls, 2, 'one new authentication for the fleet');
  });

  it('revokes before it drops when KMS Decrypt is throttled: 503 naming KMS, nothing dropped, the audit line says why, and the next flush revokes it', async () => {
    const d = await start();
    const first = await d.vend();
    // A new instance has no data key cached: reading the record needs Decrypt, throttled twice.
    d.shared!.kms.injectFaults({ type: 'ThrottlingException', status: 400 }, { type: 'ThrottlingException', status: 400 });
    const failed = await flush(d.instance(), { operation: 'flush', profile: 'demo', reason: 'suspected leak' });
    const body = JSON.parse(failed.body);
    assert.deepEqual([failed.statusCode, body.tokens, d.identity.requests.revoke], [503, [], 0]);
    assert.match(body.detail, /^The shared record could not be read \(kms: .*ThrottlingException.*\), so nothing was revoked or dropped: invoke again\.$/);
    assert.equal(d.audits().at(-1)!.detail, body.detail, 'the audit line says what happened');
    d.shared!.kms.clearFaults();
    assert.equal((await d.vend(d.instance())).json.token, first.json.token, 'the fleet still holds the token');
    const again = await flush(d.instance(), { operation: 'flush', profile: 'demo' });
    assert.deepEqual([again.statusCode, JSON.parse(again.body).tokens.map((t: { revocation: string }) => t.revocation)], [200, ['revoked']]);
    assert.equal(d.identity.revoked.has(first.json.token), true);
  });

  it('revokes nothing and answers "No token was held" when no instance holds a token for the profile', async () => {
    const d = await start();
    const answer = await flush(d.handler, { operation: 'flush', profile: 'demo' });
    assert.deepEqual([answer.statusCode, JSON.parse(answer.body).tokens, JSON.parse(answer.body).detail], [200, [], 'No token was held for this profile.']);
    assert.equal(d.identity.requests.revoke, 0);
  });

  it('drops nothing when Identity does not confirm the revocation (a 5xx, a reset, a redirect), so invoking again still finds and revokes the token', async () => {
    const d = await start();
    const first = await d.vend();
    const faults = [{ on: 'revoke' as const, status: 503 }, { on: 'revoke' as const, reset: true }, { on: 'revoke' as const, status: 302, headers: { location: `${d.identity.url}/v2.0/tokens` } }];
    for (const [i, fault] of faults.entries()) {
      d.identity.injectFaults(fault);
      // Once from an instance that holds no copy: only the table's token is there to revoke first.
      const answer = await flush(i === 0 ? d.instance() : d.handler, { operation: 'flush', profile: 'demo', reason: 'suspected leak' });
      const body = JSON.parse(answer.body);
      assert.deepEqual([answer.statusCode, body.tokens.map((t: { revocation: string }) => t.revocation)], [503, ['failed']], JSON.stringify(fault));
      assert.match(body.detail, /nothing was dropped: invoke again/);
      // The fleet still holds it: a new instance is served the same token from the table.
      assert.ok((await d.vend(d.instance())).json.token === first.json.token, 'a new instance gets the same token from the table');
    }
    assert.deepEqual([d.identity.requests.revoke, d.identity.revoked.size], [3, 0], 'the redirect was not followed');
    assert.equal(d.identity.calls, 1, 'no instance had to authenticate again');
    const again = await flush(d.handler, { operation: 'flush', profile: 'demo', reason: 'suspected leak' });
    assert.deepEqual([again.statusCode, JSON.parse(again.body).tokens.map((t: { revocation: string }) => t.revocation)], [200, ['revoked']]);
    assert.equal(d.identity.revoked.has(first.json.token), true);
    assert.ok((await d.vend(d.instance())).json.token !== first.json.token, 'a new instance gets a new token');
    assert.deepEqual(d.audits().filter((a) => a.operation === 'flush').map((a) => [a.status, a.level, a.requestId]), [[503, 'WARN', 'op-1'], [503, 'WARN', 'op-1'], [503, 'WARN', 'op-1'], [200, 'INFO', 'op-1']]);
    assert.deepEqual(d.audits().filter((a) => a.operation === 'flush').map((a) => (a.tokens as unknown[]).length), [1, 1, 1, 1], 'each names the token by its fingerprint');
    assert.ok(!d.audits().some((a) => JSON.stringify(a).includes(first.json.token)), 'audit lines name the token by fingerprint only');
  });

  it("with the shared tier off, revokes the instance's own token before dropping it: an unconfirmed revocation keeps it, to be revoked on the next invoke", async () => {
    const d = await start({ env: { FLEET_TABLE: '' } });
    const first = await d.vend();
    d.identity.injectFaults({ on: 'revoke', status: 503 });
    const failed = await flush(d.handler, { operation: 'flush', profile: 'demo' });
    assert.deepEqual([failed.statusCode, JSON.parse(failed.body).detail], [503, 'Identity did not confirm the revocation, so nothing was dropped: invoke again.']);
    assert.equal((await d.vend()).json.token, first.json.token, 'still held');
    const again = await flush(d.handler, { operation: 'flush', profile: 'demo' });
    assert.deepEqual([again.statusCode, d.identity.revoked.has(first.json.token)], [200, true]);
  });

  it('sends the revocation through the fetch it was given, as it does the authentication', async () => {
    const seen: string[] = [];
    const d = await start({ deps: { fetch: (input, init) => (seen.push(`${init?.method} ${String(input)}`), fetch(input, init)) } });
    await d.vend();
    assert.equal((await flush(d.handler, { operation: 'flush', profile: 'demo' })).statusCode, 200);
    assert.deepEqual(seen, [`POST ${d.identity.url}/tokens`, `DELETE ${d.identity.url}/tokens`]);
  });

  it('revokes at {identityUrl}/tokens with the token as X-Auth-Token, whatever trailing slashes the URL has, and counts a 200 as revoked too', async () => {
    const d = await start();
    const first = await d.vend();
    const revoke = identityRevoker({ timeoutMs: 1000 });
    assert.equal(await revoke(`${d.identity.url}//`, first.json.token), 'revoked');
    assert.equal(d.identity.revoked.has(first.json.token), true);
    d.identity.injectFaults({ on: 'revoke', status: 200 });
    assert.equal(await revoke(d.identity.url, 'any'), 'revoked');
  });

  it('counts a token Identity already refuses (401 or 404) as gone: 200, dropped fleet-wide', async () => {
    for (const status of [401, 404]) {
      const d = await start();
      await d.vend();
      d.identity.injectFaults({ on: 'revoke', status });
      const answer = await flush(d.handler, { operation: 'flush', profile: 'demo' });
      const body = JSON.parse(answer.body);
      assert.deepEqual([answer.statusCode, body.tokens.map((t: { revocation: string }) => t.revocation), body.detail], [200, ['already-invalid'], 'Revoked at Rackspace and dropped fleet-wide.'], `HTTP ${status}`);
      // Dropped: a new instance finds no token in the table and authenticates.
      assert.equal((await d.vend(d.instance())).statusCode, 200);
      assert.equal(d.identity.calls, 2, `HTTP ${status}`);
    }
  });

  it('revokes at the Identity URL the secret names, not the default one', async () => {
    const d = await start({ env: { IDENTITY_URL: 'http://127.0.0.1:9/v2.0' } });
    const first = await d.vend();
    const answer = await flush(d.handler, { operation: 'flush', profile: 'demo' });
    assert.deepEqual([answer.statusCode, d.identity.revoked.has(first.json.token)], [200, true]);
  });

  it('revokes and drops nothing when the secret (which names the Identity URL) cannot be read, and says why', async () => {
    const d = await start();
    const first = await d.vend();
    d.secrets.injectFaults({ type: 'InternalServiceError', status: 500 }, { type: 'InternalServiceError', status: 500 }, { type: 'InternalServiceError', status: 500 });
    // A new instance has no secret in memory: it must read it, and cannot.
    const answer = await flush(d.instance(), { operation: 'flush', profile: 'demo' });
    assert.deepEqual([answer.statusCode, d.identity.requests.revoke, JSON.parse(answer.body).tokens], [503, 0, []]);
    assert.match(JSON.parse(answer.body).detail, /Secrets Manager/);
    assert.ok((await d.vend(d.instance())).json.token === first.json.token, 'the fleet still holds the token');
  });

  it('answers 400 for a malformed operator event and 404 for an undeclared profile, each audited, revoking nothing', async () => {
    const d = await start();
    const bad = await flush(d.handler, { operation: 'flush' });
    const unknown = await flush(d.handler, { operation: 'flush', profile: 'nobody' });
    const extra = await flush(d.handler, { operation: 'flush', profile: 'demo', token: 'x' });
    assert.deepEqual([bad.statusCode, unknown.statusCode, extra.statusCode, d.identity.requests.revoke], [400, 404, 400, 0]);
    assert.match(JSON.parse(bad.body).detail, /^Expected \{"operation":"flush","profile":NAME,"reason"\?:TEXT\}: profile: \S/);
    assert.match(JSON.parse(extra.body).detail, /: \(event\): unknown key\(s\) token$/);
    assert.deepEqual([JSON.parse(unknown.body).detail, JSON.parse(unknown.body).tokens], ['No such profile is declared.', []]);
    assert.deepEqual([JSON.parse(bad.body).tokens, JSON.parse(extra.body).tokens], [[], []]);
    assert.deepEqual(d.audits().map((a) => [a.status, a.level]), [[400, 'WARN'], [404, 'WARN'], [400, 'WARN']]);
  });

  it("lists every problem of a malformed operator event in its 400, and audits a flush invoked without a request id under 'unknown'", async () => {
    const d = await start();
    const invoke = d.handler as (e: unknown, c: unknown) => Promise<{ statusCode: number; body: string }>;
    const answer = await invoke({ operation: 'flush', profile: '', token: 'x', note: 'y' }, {});
    assert.deepEqual([answer.statusCode, JSON.parse(answer.body)], [400, {
      status: 400, profile: null, tokens: [],
      detail: 'Expected {"operation":"flush","profile":NAME,"reason"?:TEXT}: profile: Invalid input; (event): unknown key(s) token, note',
    }]);
    const lines = d.lines.map((l) => JSON.parse(l) as { level: string; message: string; audit: Record<string, unknown> });
    assert.deepEqual(lines.map((l) => [l.level, l.message, l.audit.requestId, l.audit.operation, l.audit.status]), [['WARN', 'flush', 'unknown', 'flush', 400]]);
  });
});
