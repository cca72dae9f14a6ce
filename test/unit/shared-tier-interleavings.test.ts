import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Revocation } from '../../functions/adapters/identity-revoke.ts';
import { memoryStore } from '../../functions/adapters/memory-store.ts';
import type { Credentials } from '../../functions/core/credentials.ts';
import { createDeadline } from '../../functions/core/deadline.ts';
import { DeadlineExceededError, UpstreamUnavailableError } from '../../functions/core/errors.ts';
import { Fleet } from '../../functions/core/fleet.ts';
import { createLogger } from '../../functions/core/logger.ts';
import type { Profile } from '../../functions/core/profiles.ts';
import { SecretCache } from '../../functions/core/secret-cache.ts';
import { StoreUnavailableError, type TokenStore } from '../../functions/core/token-store.ts';
import type { Token } from '../../functions/core/token.ts';
import { createVendor } from '../../functions/core/vend.ts';
import { operatorFlush, type FlushResult } from '../../functions/token/operator.ts';
import { fakeClock, HOUR } from '../support/clock.ts';

// Several simulated instances (each its own Fleet and vendor, as separate execution environments)
// share one in-memory table; fast-check's scheduler decides the order in which every await of the
// table, Identity, Secrets Manager and the revocation resolves, and which table calls fail.
// FLEET_EXPLORE_RUNS=2000 (npm run explore:fleet) explores longer than npm test does.
const RUNS = Number(process.env.FLEET_EXPLORE_RUNS ?? 40);

const profile: Profile = { name: 'billing', secretId: 'billing-secret', allow: [] };
const credentials: Credentials = { username: 'billing-user', secret: { kind: 'apiKey', apiKey: 'interleavings-key-0123456789' }, tenant: null, identityUrl: null };
const DEADLINE_MS = 8_000;

/**
 * What happens to one table write: answered, landed with its answer lost (a client timeout), failed
 * without landing (a reset), or — a publish only — KMS failing to seal the token (nothing written;
 * any other write is answered).
 */
type WriteFault = 'ok' | 'lost' | 'fail' | 'seal';

interface Faults {
  writes: WriteFault[];
  /** Per read: true when KMS Decrypt is throttled (the read fails). */
  reads: boolean[];
  /** Per revocation: true when Identity does not confirm it. */
  revocations: boolean[];
  /** Per authentication: true when Identity answers 503. */
  outages?: boolean[];
}

function world(s: fc.Scheduler, faults: Faults) {
  const clock = fakeClock();
  const memory = memoryStore();
  const seen = { lost: 0, failed: 0, identityCalls: 0, droppedUnrevoked: [] as string[] };
  const revoked = new Set<string>();
  // Faults apply once armed: a test may first let a burst fill the table undisturbed.
  let armed = true;
  const take = <T>(list: T[], fallback: T, counter: { i: number }) => (armed ? (list[counter.i++] ?? fallback) : fallback);
  const counters = { writes: { i: 0 }, reads: { i: 0 }, revocations: { i: 0 }, outages: { i: 0 } };
  const settled = (label: string) => s.schedule(Promise.resolve(), label);
  const tokenOf = () => memory.records.get(profile.name)?.token ?? null;

  // Every write the store has (acquire, publish, fail, and whatever drops a token), wrapped alike.
  const store = { read: memory.read } as TokenStore;
  for (const [name, write] of Object.entries(memory)) {
    if (typeof write !== 'function' || name === 'read') continue;
    Object.assign(store, {
      [name]: async (...args: unknown[]) => {
        const fault = take(faults.writes, 'ok', counters.writes);
        await settled(name);
        if (fault === 'seal' && name === 'publish') {
          seen.failed++;
          throw new StoreUnavailableError('kms', 'KMS GenerateDataKey TimeoutError');
        }
        if (fault === 'fail') {
          seen.failed++;
          throw new StoreUnavailableError('dynamodb', `DynamoDB ${name} ThrottlingException (HTTP 400)`);
        }
        const before = tokenOf();
        const answer: unknown = await (write as (...a: unknown[]) => Promise<unknown>)(...args);
        if (before && !tokenOf() && !revoked.has(before.id)) seen.droppedUnrevoked.push(`table: ${before.id}`);
        if (fault === 'lost') {
          seen.lost++;
          throw new StoreUnavailableError('dynamodb', `DynamoDB ${name} TimeoutError`);
        }
        return answer;
      },
    });
  }
  store.read = async (name) => {
    const throttled = take(faults.reads, false, counters.reads);
    await settled('read');
    if (throttled) throw new StoreUnavailableError('kms', 'KMS Decrypt ThrottlingException (HTTP 400)');
    return memory.read(name);
  };

  // Identity re-issues the token it issued last until it is revoked, as Rackspace does.
  let issued: Token | null = null;
  let count = 0;
  const identity = async (): Promise<Token> => {
    const down = take(faults.outages ?? [], false, counters.outages);
    await settled('identity');
    seen.identityCalls++;
    if (down) throw new UpstreamUnavailableError('Rackspace Identity is unavailable (HTTP 503)', 1, { upstream: 'identity' });
    if (!issued || revoked.has(issued.id)) issued = { id: `token-${++count}`, expiresAt: clock.now() + 24 * HOUR, tenant: null, defaultRegion: null, catalog: [] };
    return issued;
  };
  const revoke = async (_url: string, id: string): Promise<Revocation> => {
    const unconfirmed = take(faults.revocations, false, counters.revocations);
    await settled('revoke');
    if (unconfirmed) return 'failed';
    revoked.add(id);
    return 'revoked';
  };

  const instance = (n: number) => {
    const fleet = new Fleet({
      store,
      owner: `i-${n}`,
      now: clock.now,
      sleep: async (ms) => (await settled('sleep'), clock.advance(ms)),
      random: () => 0.5,
      leaseMs: 10_000,
      timeout: clock.timeout,
      backoffFor: (error) =>
        error instanceof UpstreamUnavailableError && error.upstream === 'identity' && !(error instanceof DeadlineExceededError) ? { reason: 'unavailable', ms: 5_000 } : null,
    });
    const secrets = new SecretCache<Credentials>({ now: clock.now, ttlMs: 300_000, read: async () => (await settled('secret'), structuredClone(credentials)) });
    const vendor = createVendor({
      now: clock.now,
      secrets,
      defaultIdentityUrl: 'https://identity.example/v2.0',
      authenticate: async (_used, options) => (options.onCall(), identity()),
      isUnauthorized: () => false,
      shared: fleet,
    });
    const vend = () => vendor.lease(profile, 300, createDeadline(clock.now, clock.timeout, DEADLINE_MS));
    const flush = () =>
      operatorFlush({
        profiles: new Map([[profile.name, profile]]),
        shared: fleet,
        held: (name) => vendor.tokens.state(name)?.token ?? null,
        forget: (name) => {
          const dropped = vendor.forget(name);
          if (dropped && !revoked.has(dropped.id)) seen.droppedUnrevoked.push(`memory: ${dropped.id}`);
          return dropped;
        },
        secrets,
        defaultIdentityUrl: 'https://identity.example/v2.0',
        revoke,
        logger: createLogger({ sink: () => {} }),
      })({ operation: 'flush', profile: profile.name }, { awsRequestId: `flush-${n}` });
    return { vend, flush };
  };
  return { seen, revoked, memory, instance, arm: (on: boolean) => void (armed = on) };
}

/** Starts every task at once and lets the scheduler resolve their awaits, in its order, until all have settled. */
async function runAll<T>(s: fc.Scheduler, tasks: Array<() => Promise<T>>): Promise<Array<{ ok: true; value: T } | { ok: false; error: unknown }>> {
  const outcomes = Promise.all(tasks.map((task) => task().then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }))));
  const done = await s.waitFor(outcomes);
  // Writes a request stopped waiting for (past its deadline) still land or fail: let them.
  await s.waitAll();
  return done;
}

const shape = { instances: fc.integer({ min: 2, max: 3 }), perInstance: fc.integer({ min: 1, max: 2 }) };

describe('Shared tier explored: every ordering of the awaits of several instances, with lost and failed table answers', () => {
  it('a burst of cold vends across instances, the table answering or losing answers: no caller fails, and Identity is called once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(fc.constantFrom<WriteFault>('ok', 'lost'), { maxLength: 12 }), shape.instances, shape.perInstance, async (s, writes, instances, perInstance) => {
        const w = world(s, { writes, reads: [], revocations: [] });
        const vends = Array.from({ length: instances }, (_, n) => w.instance(n)).flatMap((i) => Array.from({ length: perInstance }, () => i.vend));
        const outcomes = await runAll(s, vends);
        const failures = outcomes.flatMap((o) => (o.ok ? [] : [o.error instanceof Error ? o.error.message : String(o.error)]));
        assert.deepEqual(failures, [], 'no caller gets a 503 while Identity answers');
        assert.equal(w.seen.identityCalls, 1, `one Identity call for the burst (${w.seen.lost} answers lost)`);
      }),
      { numRuns: RUNS },
    );
  });

  it('a burst of cold vends while table writes may also fail outright: callers get a token or a 503, never another error, and each failed write costs at most one extra Identity call', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(fc.constantFrom<WriteFault>('ok', 'lost', 'fail'), { maxLength: 12 }), shape.instances, async (s, writes, instances) => {
        const w = world(s, { writes, reads: [], revocations: [] });
        const outcomes = await runAll(s, Array.from({ length: instances }, (_, n) => w.instance(n).vend));
        for (const o of outcomes) if (!o.ok) assert.ok(o.error instanceof UpstreamUnavailableError, `only a 503, never another error: ${String(o.error)}`);
        assert.ok(w.seen.identityCalls <= 1 + w.seen.failed, `${w.seen.identityCalls} Identity calls with ${w.seen.failed} failed writes`);
      }),
      { numRuns: RUNS },
    );
  });

  it('a burst of cold vends while any table write may lose its answer, fail without landing, or the publish fail to seal its token: no caller gets a 503 while Identity answers, and each failed write costs at most one extra Identity call', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(fc.constantFrom<WriteFault>('ok', 'lost', 'fail', 'seal'), { maxLength: 12 }), shape.instances, shape.perInstance, async (s, writes, instances, perInstance) => {
        const w = world(s, { writes, reads: [], revocations: [] });
        const vends = Array.from({ length: instances }, (_, n) => w.instance(n)).flatMap((i) => Array.from({ length: perInstance }, () => i.vend));
        const outcomes = await runAll(s, vends);
        const failures = outcomes.flatMap((o) => (o.ok ? [] : [o.error instanceof Error ? o.error.message : String(o.error)]));
        assert.deepEqual(failures, [], `no caller gets a 503 while Identity answers (${w.seen.failed} writes failed)`);
        assert.ok(w.seen.identityCalls <= 1 + w.seen.failed, `${w.seen.identityCalls} Identity calls with ${w.seen.failed} failed writes`);
      }),
      { numRuns: RUNS },
    );
  });

  it('a burst while Identity is down, the table answering or losing answers: every caller gets a 503, and Identity is called once (the backoff lands even when its answer is lost)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(fc.constantFrom<WriteFault>('ok', 'lost'), { maxLength: 12 }), shape.instances, shape.perInstance, async (s, writes, instances, perInstance) => {
        const w = world(s, { writes, reads: [], revocations: [], outages: [true, true, true, true, true, true] });
        const vends = Array.from({ length: instances }, (_, n) => w.instance(n)).flatMap((i) => Array.from({ length: perInstance }, () => i.vend));
        const outcomes = await runAll(s, vends);
        for (const o of outcomes) assert.ok(!o.ok && o.error instanceof UpstreamUnavailableError, 'a 503');
        assert.equal(w.seen.identityCalls, 1);
      }),
      { numRuns: RUNS },
    );
  });

  it('operator flushes during a burst, under KMS throttling, lost and failed table answers and unconfirmed revocations: no token is ever dropped unrevoked, and a 200 means revoked', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.record({
          writes: fc.array(fc.constantFrom<WriteFault>('ok', 'lost', 'fail'), { maxLength: 16 }),
          reads: fc.array(fc.boolean(), { maxLength: 16 }),
          revocations: fc.array(fc.boolean(), { maxLength: 4 }),
        }),
        shape.instances,
        async (s, faults, instances) => {
          const w = world(s, faults);
          const all = Array.from({ length: instances }, (_, n) => w.instance(n));
          // An operator's invoke may land on an instance that never vended (it holds no copy).
          const cold = w.instance(instances);
          // A first burst leaves a token in the table and in memory; then vends and two flushes overlap.
          w.arm(false);
          await runAll(s, all.map((i) => i.vend));
          w.arm(true);
          const outcomes = await runAll<unknown>(s, [...all.map((i) => i.vend), cold.flush, all[0]!.flush]);
          const again = await runAll(s, [cold.flush]);
          assert.deepEqual(w.seen.droppedUnrevoked, [], 'revoked first, dropped after');
          for (const o of [...outcomes, ...again]) {
            if (!o.ok) {
              assert.ok(o.error instanceof UpstreamUnavailableError, `a vend fails only with a 503: ${String(o.error)}`);
              continue;
            }
            const flushed = o.value as Partial<FlushResult>;
            if (flushed.status === 200) assert.ok(flushed.tokens!.every((t) => t.revocation !== 'failed'), flushed.detail);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
