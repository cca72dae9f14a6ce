import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Credentials } from '../../functions/core/credentials.ts';
import { createDeadline } from '../../functions/core/deadline.ts';
import { CredentialsRefusedError, UpstreamUnavailableError } from '../../functions/core/errors.ts';
import { memoryStore } from '../../functions/adapters/memory-store.ts';
import { Fleet } from '../../functions/core/fleet.ts';
import { identityFingerprint, keyFingerprint } from '../../functions/core/fingerprints.ts';
import { MemoryProfileStore } from '../../functions/core/profile-state.ts';
import type { Profile } from '../../functions/core/profiles.ts';
import { SecretCache } from '../../functions/core/secret-cache.ts';
import { KeyRefused, type Authenticated, type Peeked, type SharedAnswer, type SharedRequest, type SharedTier } from '../../functions/core/shared-tier.ts';
import type { Trace } from '../../functions/core/token-cache.ts';
import type { Token } from '../../functions/core/token.ts';
import { createVendor, identityOf, type AuthenticateOptions, type SharedTrace, type VendorDeps } from '../../functions/core/vend.ts';
import { fakeClock, HOUR, MINUTE } from '../support/clock.ts';

const DEFAULT_URL = 'https://identity.example/v2.0';
const SECRET_TTL_MS = 5 * MINUTE;
const DEADLINE_MS = 8_000;
const profile: Profile = { name: 'ops', secretId: 'arn:secret:ops-key', allow: [] };
const creds = (username: string, apiKey: string): Credentials => ({ username, secret: { kind: 'apiKey', apiKey }, tenant: { tenantId: '123456' }, identityUrl: null });
const ALICE = creds('alice', 'key-1');
const ALICE_ROTATED = creds('alice', 'key-2');
/** Another identity holding the same key: its refusal fingerprint is salted differently. */
const BOB = creds('bob', 'key-1');
const token = (id: string, expiresAt: number): Token => ({ id, expiresAt, tenant: null, defaultRegion: null, catalog: [] });
const refused = (status = 401) => new CredentialsRefusedError(status, `Identity answered ${status}`);
const REFUSAL_TAG = /^[0-9a-f]{16}$/;
const newTrace = (): Trace & SharedTrace => ({ identityCalls: 0, identityMs: 0 });

type Answer = (used: Credentials, options: AuthenticateOptions) => Token | Error;

/**
 * A vendor over a fake clock, a secret the test changes (each read answers a copy, as parsing
 * would), and an Identity that records what it was sent and answers from `answers` (by default a
 * new 24-hour token `t<n>` for the n-th call).
 */
function rig(options: Partial<Pick<VendorDeps, 'pending' | 'shared' | 'store' | 'quietMs' | 'isUnauthorized' | 'heal'>> & { answers?: Answer[] } = {}) {
  const { answers: given, ...deps } = options;
  const clock = fakeClock();
  const reads: string[] = [];
  const sent: Array<{ key: string; attempts: 1 | 'all'; profile: string }> = [];
  const answers = [...(given ?? [])];
  /** The secret as the next read finds it (an Error: the read fails with it), and what runs during each read (to rotate it, or let time pass). */
  const secret: { value: Credentials | Error; onRead: () => void } = { value: ALICE, onRead: () => {} };
  const r = {
    clock,
    reads,
    sent,
    get secret() {
      return secret.value;
    },
    set secret(value: Credentials | Error) {
      secret.value = value;
    },
    set onRead(hook: () => void) {
      secret.onRead = hook;
    },
    vendor: createVendor({
      now: clock.now,
      defaultIdentityUrl: DEFAULT_URL,
      secrets: new SecretCache<Credentials>({
        now: clock.now,
        ttlMs: SECRET_TTL_MS,
        read: async (secretId: string): Promise<Credentials> => {
          reads.push(secretId);
          const value = secret.value;
          secret.onRead();
          if (value instanceof Error) throw value;
          return structuredClone(value);
        },
      }),
      authenticate: async (used, o) => {
        await null; // Identity answers later than the call is made, as over the network
        o.onCall();
        sent.push({ key: `${used.username}/${used.secret.kind === 'apiKey' ? used.secret.apiKey : used.secret.password}`, attempts: o.attempts, profile: o.profile });
        const answer = answers.shift() ?? (() => token(`t${sent.length}`, clock.now() + 24 * HOUR));
        const result = answer(used, o);
        if (result instanceof Error) throw result;
        return result;
      },
      isUnauthorized: (error) => error instanceof CredentialsRefusedError && error.identityStatus === 401,
      ...deps,
    }),
    /** `lateTimer`: the deadline's timer has not fired yet (timers run late), so only the next wait's own check sees it passed. */
    lease: (minTtl = 300, trace = newTrace(), lateTimer = false) =>
      r.vendor.lease(profile, minTtl, createDeadline(clock.now, lateTimer ? () => new AbortController().signal : clock.timeout, DEADLINE_MS), trace),
    keys: () => sent.map((s) => s.key),
  };
  return r;
}

/** A shared tier the test steers: what the record holds, what obtain reports, the key the fleet refused. */
interface SteeredTier extends SharedTier {
  seen: { peeks: Array<[string, number]>; requests: SharedRequest[]; refusedKeys: string[]; holds: string[] };
  peeked: Peeked | null;
  holdsAnswer: boolean | null;
  refusedKey: string | null;
  source: SharedAnswer['source'];
  answerFallback: string | null;
  fallback: string | null;
}

function fakeShared(): SteeredTier {
  return {
    seen: { peeks: [], requests: [], refusedKeys: [], holds: [] },
    peeked: null,
    holdsAnswer: null,
    refusedKey: null,
    source: 'identity',
    answerFallback: null,
    fallback: null,
    async peek(name: string, minTtl: number): Promise<Peeked | null> {
      this.seen.peeks.push([name, minTtl]);
      return this.peeked;
    },
    async obtain(_name: string, request: SharedRequest, authenticate: (guard: { refusedKey: string | null }) => Promise<Authenticated>): Promise<SharedAnswer> {
      this.seen.requests.push(request);
      try {
        return { ...(await authenticate({ refusedKey: this.refusedKey })), source: this.source, fallback: this.answerFallback };
      } catch (error) {
        if (!(error instanceof KeyRefused)) throw error;
        this.seen.refusedKeys.push(error.refusedKey);
        throw error.original;
      }
    },
    record: async () => ({ held: null, unreadable: false }),
    drop: async () => true,
    recheck: async () => true,
    async holds(_name: string, held: Token): Promise<boolean | null> {
      this.seen.holds.push(held.id);
      return this.holdsAnswer;
    },
  };
}

const fingerprint = (credentials: Credentials) => keyFingerprint(credentials, identityOf(credentials, DEFAULT_URL));

describe('Function: identityOf', () => {
  it('is the identity fingerprint, with the default Identity URL for a secret that names none', () => {
    assert.equal(identityOf(ALICE, DEFAULT_URL), identityFingerprint(ALICE, DEFAULT_URL));
    assert.notEqual(identityOf(ALICE, DEFAULT_URL), identityOf(ALICE, 'https://other.example/v2.0'));
  });
});

describe('Function: createVendor', () => {
  describe('Method: lease', () => {
    it('reads the secret and authenticates on a cold start, then serves from memory without either', async () => {
      const r = rig();
      const trace = newTrace();
      assert.deepEqual(await r.lease(300, trace), { token: token('t1', r.clock.now() + 24 * HOUR), cacheHit: false, degraded: false });
      assert.deepEqual(trace, { identityCalls: 1, identityMs: 0 }, 'working alone: no shared source on the trace');
      assert.deepEqual([r.reads, r.sent], [['arn:secret:ops-key'], [{ key: 'alice/key-1', attempts: 'all', profile: 'ops' }]]);
      assert.equal(r.vendor.tokens.state('ops')?.identity, identityFingerprint(ALICE, DEFAULT_URL));
      r.clock.advance(MINUTE);
      const warm = await r.lease();
      assert.deepEqual([warm.token.id, warm.cacheHit, warm.degraded, r.reads.length, r.sent.length], ['t1', true, false, 1, 1]);
    });

    it('reads the secret again after its TTL and keeps the token while the secret names the same identity', async () => {
      const r = rig();
      await r.lease();
      r.clock.advance(SECRET_TTL_MS);
      const again = await r.lease();
      assert.deepEqual([again.token.id, again.cacheHit, r.reads.length, r.sent.length], ['t1', true, 2, 1]);
    });

    it('drops the token once the secret names another identity', async () => {
      const r = rig();
      await r.lease();
      r.secret = BOB;
      r.clock.advance(SECRET_TTL_MS);
      const lease = await r.lease();
      assert.deepEqual([lease.token.id, lease.cacheHit, r.keys()], ['t2', false, ['alice/key-1', 'bob/key-1']]);
      assert.equal(r.vendor.tokens.state('ops')?.identity, identityOf(BOB, DEFAULT_URL));
    });

    it('serves the token in hand when Secrets Manager is unavailable, if it is fresh for minTtl', async () => {
      const r = rig();
      await r.lease();
      r.secret = new UpstreamUnavailableError('Secrets Manager is throttling', 3, { upstream: 'secrets-manager' });
      r.clock.advance(SECRET_TTL_MS);
      assert.deepEqual(await r.lease(3600), { token: token('t1', r.clock.now() - SECRET_TTL_MS + 24 * HOUR), cacheHit: true, degraded: false });
      assert.equal(r.sent.length, 1);
    });

    it('fails with the read error when the token in hand is short of minTtl, absent, or the read failed for another reason', async () => {
      const r = rig({ answers: [(_used) => token('hour', r.clock.now() + HOUR)] });
      const unavailable = new UpstreamUnavailableError('Secrets Manager is throttling', 3, { upstream: 'secrets-manager' });
      r.secret = unavailable;
      await assert.rejects(r.lease(), (error) => error === unavailable, 'nothing in hand');
      r.secret = ALICE;
      await r.lease();
      r.clock.advance(SECRET_TTL_MS);
      r.secret = unavailable;
      await assert.rejects(r.lease(HOUR / 1000 - 299), (error) => error === unavailable, '55 min left, 55 min + 1 s asked');
      const malformed = new Error('the secret is not JSON');
      r.secret = malformed;
      await assert.rejects(r.lease(60), (error) => error === malformed);
    });

    it('counts each Identity call on the trace: a full retry cycle first, a single attempt after a backoff', async () => {
      const down = new UpstreamUnavailableError('Identity is down', 5, { upstream: 'identity', retryAfterGiven: true });
      const r = rig({ answers: [() => down] });
      const trace = newTrace();
      await assert.rejects(r.lease(300, trace), (error) => error === down);
      r.clock.advance(5_000);
      await r.lease(300, trace);
      assert.deepEqual([trace.identityCalls, r.sent.map((s) => s.attempts)], [2, ['all', 1]]);
    });

    it('stays quiet for the quietMs it was given after Identity re-issued a token short of minTtl', async () => {
      const start = fakeClock().now();
      const r = rig({ quietMs: 1_000, answers: [() => token('short', start + 50 * MINUTE), () => token('short', start + 50 * MINUTE)] });
      assert.equal((await r.lease(3600)).degraded, true);
      r.clock.advance(999);
      assert.equal((await r.lease(3600)).degraded, true);
      assert.equal(r.sent.length, 1, 'quiet within the 1 s');
      r.clock.advance(1);
      await r.lease(3600);
      assert.equal(r.sent.length, 2, 'asked again once 1 s passed (the default would wait 60 s)');
    });

    it('answers 503 naming Identity when the deadline passes during the authentication', async () => {
      const r = rig({ answers: [() => (r.clock.advance(DEADLINE_MS), token('late', r.clock.now() + HOUR))] });
      await assert.rejects(r.lease(), { message: "No answer from Rackspace Identity within this request's time; try again shortly." });
    });

    it('answers 503 naming Secrets Manager when the deadline passes while the secret is read', async () => {
      const r = rig();
      r.onRead = () => r.clock.advance(DEADLINE_MS);
      await assert.rejects(r.lease(), { message: "No answer from Secrets Manager within this request's time; try again shortly." });
    });

    it('treats a token Identity issues with under 60 s left as a failed authentication: the profile backs off instead of asking on every request', async () => {
      const dying = () => token('dying', r.clock.now() + 59_000);
      const r = rig({ answers: Array.from({ length: 10 }, () => dying) });
      const answers: unknown[] = [];
      for (let i = 0; i < 10; i++) {
        answers.push(await r.lease(60).catch((error: unknown) => error));
        r.clock.advance(400);
      }
      assert.equal(r.sent.length, 1, 'one Identity call in 4 s: the 5 s backoff holds the others');
      assert.ok(answers.every((a) => a instanceof UpstreamUnavailableError && a.upstream === 'identity'), 'each answer is a 503 naming Identity');
      assert.equal((answers[0] as Error).message, 'Rackspace Identity issued a token with less than 60 s left; try again shortly.');
      r.clock.advance(2_000);
      await r.lease(60).catch(() => {});
      assert.deepEqual(r.sent.map((s) => s.attempts), [ 'all', 1 ], 'after the backoff, one probing attempt');
    });
  });

  describe('Method: lease, when Identity refuses the key', () => {
    it('re-reads the secret after a 401 and, if it changed, authenticates once more with the new key', async () => {
      const r = rig({ answers: [() => ((r.secret = ALICE_ROTATED), refused())] });
      const lease = await r.lease();
      assert.deepEqual([lease.token.id, r.keys(), r.reads.length], ['t2', ['alice/key-1', 'alice/key-2'], 2]);
      const warm = await r.lease();
      assert.deepEqual([warm.token.id, warm.cacheHit, r.reads.length], ['t2', true, 2], 'the re-read secret is the one in memory');
    });

    it('remembers a key refused with 401 and sends it again only once the secret changes', async () => {
      const r = rig({ answers: [() => refused()] });
      await assert.rejects(r.lease(), (error: CredentialsRefusedError) => REFUSAL_TAG.test(error.credentials ?? ''));
      assert.equal(r.reads.length, 2, 'the secret was re-read once');
      await assert.rejects(r.lease(), { status: 502, identityStatus: 401 });
      assert.equal(r.sent.length, 1);
      r.secret = ALICE_ROTATED;
      r.clock.advance(SECRET_TTL_MS);
      assert.equal((await r.lease()).token.id, 't2');
      assert.deepEqual(r.keys(), ['alice/key-1', 'alice/key-2']);
    });

    it('re-reads a refused secret once recheckMs (10 s) has passed since it was read, and answers 503 naming Secrets Manager when that re-read outlasts the deadline', async () => {
      const r = rig({ answers: [() => refused()] });
      await assert.rejects(r.lease(), { identityStatus: 401 });
      r.clock.advance(9_999);
      await assert.rejects(r.lease(), { identityStatus: 401 });
      assert.equal(r.reads.length, 2, 'not re-read within 10 s');
      r.clock.advance(1);
      r.onRead = () => r.reads.length === 3 && r.clock.advance(DEADLINE_MS);
      await assert.rejects(r.lease(300, newTrace(), true), { message: "No answer from Secrets Manager within this request's time; try again shortly." });
      assert.deepEqual([r.reads.length, r.sent.length], [3, 1]);
    });

    it('does not re-read the secret for a refused key once the secret in memory holds another key', async () => {
      const outage = () => new UpstreamUnavailableError('Rackspace Identity is unavailable (HTTP 503)', 1, { upstream: 'identity' });
      const r = rig({ answers: [() => refused(), () => outage()] });
      await assert.rejects(r.lease(), { identityStatus: 401 });
      r.secret = ALICE_ROTATED;
      r.clock.advance(10_000);
      // The re-read finds the new key; Identity is down for it, so the old key's refusal is still on record.
      await assert.rejects(r.lease(), UpstreamUnavailableError);
      r.clock.advance(10_000);
      assert.equal((await r.lease()).token.id, 't3');
      assert.deepEqual([r.reads.length, r.keys()], [3, ['alice/key-1', 'alice/key-2', 'alice/key-2']]);
    });

    it('does not re-read a refused secret while it holds a token fresh for the request', async () => {
      const r = rig({ answers: [() => token('t1', r.clock.now() + HOUR), () => refused()] });
      await r.lease();
      r.clock.advance(2 * MINUTE); // past the quiet minute after Identity issued it
      await assert.rejects(r.lease(2 * 3600), { identityStatus: 401 });
      r.clock.advance(10_000);
      assert.equal((await r.lease()).token.id, 't1');
      assert.deepEqual([r.reads.length, r.sent.length], [2, 2]);
    });

    it('serves a second profile that shares the secret the first one read', async () => {
      const r = rig();
      await r.lease();
      const twin: Profile = { ...profile, name: 'ops-twin' };
      const lease = await r.vendor.lease(twin, 300, createDeadline(r.clock.now, r.clock.timeout, DEADLINE_MS));
      assert.deepEqual([lease.token.id, r.reads.length], ['t2', 1]);
    });

    it('neither re-reads nor remembers a key refused otherwise than with 401', async () => {
      const forbidden = refused(403);
      const r = rig({ answers: [() => forbidden] });
      await assert.rejects(r.lease(), (error) => error === forbidden && forbidden.credentials === null);
      assert.equal(r.reads.length, 1);
      await r.lease();
      assert.equal(r.sent.length, 2, 'the key is sent again');
    });

    it('re-reads the secret for any error isUnauthorized accepts, but tags only a CredentialsRefusedError', async () => {
      const unauthorized = Object.assign(new Error('HTTP 401 from a proxy'), { unauthorized: true });
      const r = rig({ isUnauthorized: (error) => error === unauthorized, answers: [() => unauthorized] });
      await assert.rejects(r.lease(), (error) => error === unauthorized && !('credentials' in unauthorized));
      assert.equal(r.reads.length, 2);
    });

    it("tries the secret's pending version once when the refused key is unchanged", async () => {
      const asked: string[] = [];
      const r = rig({ pending: async (secretId) => (asked.push(secretId), structuredClone(ALICE_ROTATED)), answers: [() => refused()] });
      const lease = await r.lease();
      assert.deepEqual([lease.token.id, r.keys(), asked], ['t2', ['alice/key-1', 'alice/key-2'], ['arn:secret:ops-key']]);
    });

    it('remembers the current key, not the pending one, when both are refused', async () => {
      const r = rig({ pending: async () => structuredClone(ALICE_ROTATED), answers: [() => refused(), () => refused()] });
      await assert.rejects(r.lease(), CredentialsRefusedError);
      await assert.rejects(r.lease(), { identityStatus: 401 });
      assert.deepEqual(r.keys(), ['alice/key-1', 'alice/key-2'], 'the current key is not sent again');
    });

    it('does not send a pending version that is the refused key itself, nor ask again when there is none', async () => {
      for (const pending of [ALICE, null]) {
        const r = rig({ pending: async () => (pending ? structuredClone(pending) : null), answers: [() => refused()] });
        await assert.rejects(r.lease(), (error: CredentialsRefusedError) => REFUSAL_TAG.test(error.credentials ?? ''));
        assert.deepEqual(r.keys(), ['alice/key-1']);
      }
    });

    it('remembers the rotated key when it is refused too', async () => {
      const r = rig({ answers: [() => ((r.secret = ALICE_ROTATED), refused()), () => refused()] });
      await assert.rejects(r.lease(), CredentialsRefusedError);
      await assert.rejects(r.lease(), { identityStatus: 401 });
      assert.deepEqual(r.keys(), ['alice/key-1', 'alice/key-2']);
    });

    it('does not remember the rotated key when Identity refuses it otherwise than with 401', async () => {
      const forbidden = refused(403);
      const r = rig({ answers: [() => ((r.secret = ALICE_ROTATED), refused()), () => forbidden] });
      await assert.rejects(r.lease(), (error) => error === forbidden && forbidden.credentials === null);
      await r.lease();
      assert.deepEqual(r.keys(), ['alice/key-1', 'alice/key-2', 'alice/key-2']);
    });

    it('answers 503 naming Secrets Manager when the deadline passes while re-reading after a 401', async () => {
      const r = rig({ answers: [() => (r.clock.advance(DEADLINE_MS), refused())] });
      await assert.rejects(r.lease(300, newTrace(), true), { message: "No answer from Secrets Manager within this request's time; try again shortly." });
      const p = rig({ pending: async () => (p.clock.advance(DEADLINE_MS), null), answers: [() => refused()] });
      await assert.rejects(p.lease(300, newTrace(), true), { message: "No answer from Secrets Manager within this request's time; try again shortly." }, 'before asking for the pending version');
    });
  });

  describe('Method: lease, when the refused key is healed', () => {
    const HEALED = creds('alice', 'key-healed');

    it('authenticates with the healed key when the secret cannot be read again after the heal', async () => {
      const r = rig({
        answers: [() => refused()],
        heal: async () => ((r.secret = new Error('Secrets Manager is down')), { result: 'healed', credentials: HEALED, rotation: 'off' }),
      });
      const trace = newTrace();
      assert.equal((await r.lease(300, trace)).token.id, 't2');
      assert.deepEqual([r.keys(), trace.heal], [['alice/key-1', 'alice/key-healed'], 'healed']);
    });

    it('answers 503 naming Identity when the deadline passes during the heal', async () => {
      const r = rig({ answers: [() => refused()], heal: async () => (r.clock.advance(DEADLINE_MS), { result: 'no-token' }) });
      await assert.rejects(r.lease(300, newTrace(), true), { message: "No answer from Rackspace Identity within this request's time; try again shortly." });
    });

    it("hands the heal this instance's token for the identity refused, not another identity's, nor a record's token of another identity", async () => {
      const helds: Array<string | null> = [];
      const shared = fakeShared();
      const r = rig({ shared, answers: [() => token('alice-token', r.clock.now() + HOUR), () => refused()], heal: async (input) => (helds.push(input.held?.id ?? null), { result: 'no-token' }) });
      await r.lease();
      // The secret now names bob (same key), whom Identity refuses; the record holds alice's token, short of minTtl.
      r.secret = BOB;
      r.clock.advance(SECRET_TTL_MS);
      shared.peeked = { token: token('alice-record', r.clock.now() + 200_000), identity: identityOf(ALICE, DEFAULT_URL), confirmedAt: r.clock.now() };
      await assert.rejects(r.lease(), { identityStatus: 401 });
      assert.deepEqual(helds, [null]);
    });

    it("does not hand the heal the token of another identity that a concurrent request stored while this one was refused", async () => {
      const helds: Array<string | null> = [];
      const store = new MemoryProfileStore();
      const r = rig({ store, answers: [() => refused()], heal: async (input) => (helds.push(input.held?.id ?? null), { result: 'no-token' }) });
      // During the re-read after the 401, a concurrent request that found the secret naming bob stores bob's token for the profile.
      r.onRead = () => r.reads.length === 2 && store.set('ops', { identity: identityOf(BOB, DEFAULT_URL), token: token('bob-token', r.clock.now() + HOUR), confirmedAt: r.clock.now(), backoff: null, refused: null });
      await assert.rejects(r.lease(), { identityStatus: 401 });
      assert.deepEqual(helds, [null]);
    });

    it('hands the heal its own token while it is good for one more call, without looking at the record', async () => {
      const helds: Array<string | null> = [];
      const shared = fakeShared();
      const r = rig({ shared, answers: [() => token('mine', r.clock.now() + HOUR), () => refused()], heal: async (input) => (helds.push(input.held?.id ?? null), { result: 'no-token' }) });
      await r.lease();
      r.clock.advance(2 * MINUTE); // past the quiet minute after Identity issued it
      shared.peeked = { token: token('record', r.clock.now() + 2 * HOUR), identity: identityOf(ALICE, DEFAULT_URL), confirmedAt: r.clock.now() };
      await assert.rejects(r.lease(2 * 3600), { identityStatus: 401 });
      assert.deepEqual([helds, shared.seen.peeks.length], [['mine'], 1]);
    });
  });

  describe('Method: lease, with a shared tier', () => {
    it('neither publishes a token Identity issued with under 60 s left nor leaves the fleet free to ask again: the record holds a backoff', async () => {
      const store = memoryStore();
      const shared = new Fleet({
        store, owner: 'i-1', now: () => r.clock.now(), sleep: async (ms) => r.clock.advance(ms), random: () => 0.5, leaseMs: 10_000,
        backoffFor: (error) => (error instanceof UpstreamUnavailableError ? { reason: 'unavailable', ms: 5_000 } : null),
      });
      const r = rig({ shared, answers: [() => token('dying', r.clock.now() + 59_000)] });
      await assert.rejects(r.lease(60), UpstreamUnavailableError);
      const record = await store.read(profile.name);
      assert.deepEqual([record.token, record.lease, record.backoff], [null, null, { until: r.clock.now() + 5_000, reason: 'unavailable', refusedKey: null }]);
    });

    it('asks the tier with minTtl, the deadline as epoch ms and the identity the secret names, and traces the source', async () => {
      const shared = fakeShared();
      const r = rig({ shared });
      const trace = newTrace();
      await r.lease(600, trace);
      assert.deepEqual(shared.seen.requests, [{ minTtl: 600, deadline: r.clock.now() + DEADLINE_MS, knownIdentity: identityOf(ALICE, DEFAULT_URL) }]);
      assert.deepEqual(trace, { identityCalls: 1, identityMs: 0, shared: 'identity' });
      shared.source = 'table';
      const other = rig({ shared });
      const fromTable = newTrace();
      await other.lease(600, fromTable);
      assert.equal(fromTable.shared, 'table');
    });

    it('traces the fallback, and why, when the tier worked alone', async () => {
      const shared = fakeShared();
      shared.answerFallback = 'dynamodb: ThrottlingException';
      const trace = newTrace();
      await rig({ shared }).lease(300, trace);
      assert.deepEqual(trace, { identityCalls: 1, identityMs: 0, shared: 'fallback', sharedFallback: 'dynamodb: ThrottlingException' });
    });

    it("when the authentication fails, traces the tier's fallback if it has one, else identity", async () => {
      const down = () => new UpstreamUnavailableError('Identity is down', 5, { upstream: 'identity' });
      const shared = fakeShared();
      shared.fallback = 'kms: unreachable';
      const trace = newTrace();
      await assert.rejects(rig({ shared, answers: [down] }).lease(300, trace));
      assert.deepEqual([trace.shared, trace.sharedFallback], ['fallback', 'kms: unreachable']);
      const working = fakeShared();
      const plain = newTrace();
      await assert.rejects(rig({ shared: working, answers: [down] }).lease(300, plain));
      assert.deepEqual(plain, { identityCalls: 1, identityMs: 0, shared: 'identity' });
    });

    it('serves a fresh token from the shared record before reading the secret, and keeps it in the store', async () => {
      const shared = fakeShared();
      const store = new MemoryProfileStore();
      const r = rig({ shared, store });
      const held = token('from-peer', r.clock.now() + 300_000);
      shared.peeked = { token: held, identity: 'identity-fp', confirmedAt: r.clock.now() - 1_000 };
      const trace = newTrace();
      assert.deepEqual(await r.lease(300, trace), { token: held, cacheHit: false, degraded: false });
      assert.deepEqual([r.reads, r.sent, shared.seen.peeks, trace.shared], [[], [], [['ops', 300]], 'table']);
      assert.deepEqual(store.get('ops'), { identity: 'identity-fp', token: held, confirmedAt: r.clock.now() - 1_000, backoff: null, refused: null });
    });

    it('reads the secret when the shared record is short of minTtl, tracing why the tier could not serve', async () => {
      const shared = fakeShared();
      shared.fallback = 'dynamodb: unreachable';
      const r = rig({ shared });
      shared.peeked = { token: token('short', r.clock.now() + 299_999), identity: 'identity-fp', confirmedAt: 0 };
      r.secret = new Error('the secret is not JSON');
      const trace = newTrace();
      await assert.rejects(r.lease(300, trace), /not JSON/);
      assert.deepEqual([r.reads.length, trace.shared, trace.sharedFallback], [1, 'fallback', 'dynamodb: unreachable']);
      shared.peeked = null;
      const none = newTrace();
      await assert.rejects(r.lease(300, none), /not JSON/);
      assert.deepEqual([none.shared, none.sharedFallback], ['fallback', 'dynamodb: unreachable']);
    });

    it('does not read the shared record while the token in memory is fresh, and shares one read between cold requests', async () => {
      const shared = fakeShared();
      const r = rig({ shared });
      await Promise.all([r.lease(), r.lease()]);
      assert.equal(shared.seen.peeks.length, 1);
      await r.lease();
      assert.deepEqual(shared.seen.holds, [], 'within the secret TTL the fleet is not asked');
      r.clock.advance(SECRET_TTL_MS);
      await r.lease();
      assert.deepEqual([shared.seen.peeks.length, shared.seen.holds, r.sent.length], [1, ['t1'], 1]);
    });

    it('drops its token once the fleet no longer holds it, and keeps it while the fleet does or cannot tell', async () => {
      const shared = fakeShared();
      const r = rig({ shared });
      await r.lease();
      for (const answer of [true, null]) {
        shared.holdsAnswer = answer;
        r.clock.advance(SECRET_TTL_MS);
        assert.equal((await r.lease()).token.id, 't1');
      }
      shared.holdsAnswer = false;
      r.clock.advance(SECRET_TTL_MS);
      assert.equal((await r.lease()).token.id, 't2');
    });

    it('never sends a key the fleet recorded as refused: re-reads the secret and, if unchanged, refuses', async () => {
      const shared = fakeShared();
      shared.refusedKey = await fingerprint(ALICE);
      const r = rig({ shared });
      await assert.rejects(r.lease(), (error) => {
        assert.ok(error instanceof CredentialsRefusedError);
        assert.equal(error.message, 'Rackspace Identity rejected the custodied credentials (HTTP 401); they are not sent again until the secret changes.');
        assert.deepEqual([error.identityStatus, REFUSAL_TAG.test(error.credentials ?? '')], [401, true]);
        return true;
      });
      assert.deepEqual([r.sent, r.reads.length, shared.seen.refusedKeys], [[], 2, [shared.refusedKey]]);
      shared.refusedKey = null;
      await assert.rejects(r.lease(), { identityStatus: 401 }, 'remembered here too');
      assert.deepEqual(r.sent, []);
    });

    it('sends the key from a secret re-read since the fleet recorded the refusal, if it is another key or identity', async () => {
      for (const rotated of [ALICE_ROTATED, BOB]) {
        const shared = fakeShared();
        shared.refusedKey = await fingerprint(ALICE);
        const r = rig({ shared });
        r.onRead = () => (r.secret = rotated);
        assert.equal((await r.lease()).token.id, 't1');
        assert.deepEqual(r.keys(), [`${rotated.username}/${rotated.secret.kind === 'apiKey' ? rotated.secret.apiKey : ''}`]);
      }
    });

    it('sends the key without re-reading when the fleet refused another one', async () => {
      const shared = fakeShared();
      shared.refusedKey = await fingerprint(ALICE_ROTATED);
      const r = rig({ shared });
      await r.lease();
      assert.deepEqual([r.keys(), r.reads.length], [['alice/key-1'], 1]);
    });

    it('answers 503 naming Secrets Manager when the deadline passes while re-reading for a refused key', async () => {
      const shared = fakeShared();
      shared.refusedKey = await fingerprint(ALICE);
      const r = rig({ shared });
      r.onRead = () => r.reads.length === 2 && r.clock.advance(DEADLINE_MS);
      await assert.rejects(r.lease(300, newTrace(), true), { message: "No answer from Secrets Manager within this request's time; try again shortly." });
    });

    it('while another instance re-reads a refused secret, looks in the shared record for its token, and asks the fleet again a second later', async () => {
      const shared = fakeShared();
      let rechecks = 0;
      shared.recheck = async () => (rechecks++, false);
      const r = rig({ shared, answers: [() => refused()] });
      await assert.rejects(r.lease(), { identityStatus: 401 });
      r.clock.advance(10_000);
      await assert.rejects(r.lease(), { identityStatus: 401 });
      assert.deepEqual([rechecks, shared.seen.peeks.length], [1, 2], 'the fleet was asked, the record looked at');
      r.clock.advance(999);
      await assert.rejects(r.lease(), { identityStatus: 401 });
      assert.equal(rechecks, 1, 'not again within the second');
      r.clock.advance(1);
      const fixed = token('fixed-by-peer', r.clock.now() + HOUR);
      shared.peeked = { token: fixed, identity: identityOf(ALICE, DEFAULT_URL), confirmedAt: r.clock.now() };
      assert.deepEqual(await r.lease(), { token: fixed, cacheHit: false, degraded: false });
      assert.deepEqual([rechecks, r.reads.length, r.sent.length], [2, 2, 1]);
    });

    it('reports a key Identity refused to the fleet by the fingerprint of the key and identity refused', async () => {
      const shared = fakeShared();
      const r = rig({ shared, answers: [() => ((r.secret = BOB), refused()), () => refused()] });
      await assert.rejects(r.lease(), CredentialsRefusedError);
      assert.deepEqual(shared.seen.refusedKeys, [await fingerprint(BOB)]);
      const forbidden = fakeShared();
      await assert.rejects(rig({ shared: forbidden, answers: [() => refused(403)] }).lease(), { identityStatus: 403 });
      assert.deepEqual(forbidden.seen.refusedKeys, [], 'a refusal not remembered is not the fleet’s to record');
    });
  });

  describe('Method: forget', () => {
    it("drops the token but keeps whom it was for and the key's refusal, and answers the dropped token", async () => {
      const store = new MemoryProfileStore();
      const r = rig({ store });
      const { token: held } = await r.lease();
      const refusal = { credentials: 'tag-of-key-1', status: 401 };
      store.set('ops', { ...store.get('ops')!, refused: refusal });
      assert.deepEqual(r.vendor.forget('ops'), held);
      assert.deepEqual(store.get('ops'), { identity: identityOf(ALICE, DEFAULT_URL), token: null, confirmedAt: 0, backoff: null, refused: refusal });
      assert.equal(r.vendor.forget('unknown'), null);
      assert.equal(store.get('unknown'), undefined);
    });

    it('works on the memory store when none is given, so the next request authenticates again', async () => {
      const r = rig();
      const { token: held } = await r.lease();
      assert.deepEqual(r.vendor.forget('ops'), held);
      assert.equal(r.vendor.tokens.state('ops')?.token, null);
      assert.equal((await r.lease()).token.id, 't2');
    });
  });
});

describe('Vendor: a refused key, re-read while it stays refused', () => {
  /** A vendor whose secret reads and Identity answers resolve in the order fast-check's scheduler picks. */
  function scheduled(s: fc.Scheduler) {
    const clock = fakeClock();
    const secret = { value: ALICE };
    const seen = { reads: 0, sent: [] as string[] };
    const vendor = createVendor({
      now: clock.now,
      defaultIdentityUrl: DEFAULT_URL,
      secrets: new SecretCache<Credentials>({
        now: clock.now,
        ttlMs: SECRET_TTL_MS,
        read: async () => {
          seen.reads++;
          return s.schedule(Promise.resolve(structuredClone(secret.value)), 'secret read');
        },
      }),
      authenticate: async (used, o) => {
        o.onCall();
        const key = used.secret.kind === 'apiKey' ? used.secret.apiKey : '';
        seen.sent.push(key);
        await s.schedule(Promise.resolve(), 'identity answer');
        if (key === 'key-1') throw refused();
        return token(`t-${key}`, clock.now() + 24 * HOUR);
      },
      isUnauthorized: (error) => error instanceof CredentialsRefusedError && error.identityStatus === 401,
    });
    const lease = () => vendor.lease(profile, 300, createDeadline(clock.now, clock.timeout, DEADLINE_MS));
    return { clock, secret, seen, lease };
  }

  it('under every ordering of concurrent requests: one secret read per 10 s, no Identity call for the unchanged key, one for a fixed key', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 6 }), fc.boolean(), async (s, n, fixed) => {
        const v = scheduled(s);
        const first = v.lease();
        await s.waitIdle();
        await assert.rejects(first, CredentialsRefusedError);
        Object.assign(v.seen, { reads: 0, sent: [] });
        // Nine seconds on: still within the last read's 10 s, so nobody reads.
        v.clock.advance(9_000);
        const early = Array.from({ length: n }, () => v.lease());
        await s.waitIdle();
        for (const result of await Promise.allSettled(early)) assert.equal(result.status, 'rejected');
        assert.deepEqual([v.seen.reads, v.seen.sent], [0, []]);
        v.clock.advance(1_000);
        if (fixed) v.secret.value = ALICE_ROTATED;
        const batch = Array.from({ length: n }, () => v.lease());
        await s.waitIdle();
        const results = await Promise.allSettled(batch);
        assert.equal(v.seen.reads, 1, 'one re-read for all of them');
        assert.deepEqual(v.seen.sent, fixed ? ['key-2'] : [], 'the unchanged key is never sent again');
        assert.deepEqual(results.map((r) => r.status), Array(n).fill(fixed ? 'fulfilled' : 'rejected'));
      }),
      { numRuns: 60 },
    );
  });
});
