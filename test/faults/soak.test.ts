import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { runSoak, type SoakResult } from './soak.ts';
import { seeded } from '../support/seeded.ts';
import { contractViolation, parseSoakArgs } from './soak-rules.ts';

const NOW = Date.parse('2026-11-22T10:00:00.000Z');
const token = (secondsLeft: number) => JSON.stringify({ token: 'AAx', expiresAt: new Date(NOW + secondsLeft * 1000).toISOString() });
const problem = (detail: string) => JSON.stringify({ status: 503, detail });

describe("Soak: what counts as an answer the contract does not allow", () => {
  it('a 200 with 60 s or more left is allowed; with less, or without an expiry, it is not', () => {
    assert.equal(contractViolation(200, new Headers(), token(60), NOW), null);
    assert.equal(contractViolation(200, new Headers(), token(59), NOW), '200 token with 59 s left');
    assert.equal(contractViolation(200, new Headers(), '{}', NOW), '200 token with no expiry left');
  });
  it("a 503 is allowed only for Secrets Manager's own failure and with Retry-After", () => {
    const retry = new Headers({ 'retry-after': '1' });
    assert.equal(contractViolation(503, retry, problem('Secrets Manager is unavailable; try again shortly.'), NOW), null);
    assert.equal(contractViolation(503, new Headers(), problem('Secrets Manager is unavailable; try again shortly.'), NOW), '503 Secrets Manager is unavailable; try again shortly.');
    assert.equal(contractViolation(503, retry, problem('Rackspace Identity is unavailable (another instance is authenticating); try again shortly.'), NOW), '503 Rackspace Identity is unavailable (another instance is authenticating); try again shortly.');
  });
  it("a 500, API Gateway's 502 and a body that is not JSON are named", () => {
    assert.equal(contractViolation(500, new Headers(), problem('Internal error'), NOW), '500 Internal error');
    assert.equal(contractViolation(502, new Headers(), JSON.stringify({ message: 'Internal server error' }), NOW), '502 Internal server error');
    assert.equal(contractViolation(200, new Headers(), '<html>', NOW), '200 not JSON');
  });
});

describe('Soak: options and randomness', () => {
  it('reads durations in seconds, rates and counts, in both --name value and --name=value forms', () => {
    assert.deepEqual(parseSoakArgs(['--duration', '5', '--rate=20', '--json', '--instances', '2', '--deps', 'kms,identity']), { options: { durationMs: 5_000, rate: 20, instances: 2, dependencies: ['kms', 'identity'] }, json: true });
  });
  it('refuses an unknown option, a bad value and a run past its bounds', () => {
    assert.throws(() => parseSoakArgs(['--forever']), /unknown option/);
    assert.throws(() => parseSoakArgs(['--rate', 'fast']), /bad value/);
    assert.throws(() => parseSoakArgs(['--duration', '3600']), /at most --duration 600/);
    assert.throws(() => parseSoakArgs(['--deps', 'dynamo,s3']), /--deps takes/);
  });
  it('the same seed plays the same sequence, another seed another', () => {
    const [a, b, c] = [seeded(7), seeded(7), seeded(8)];
    const draw = (r: () => number) => Array.from({ length: 5 }, r);
    const first = draw(a);
    assert.deepEqual(first, draw(b));
    assert.notDeepEqual(first, draw(c));
    assert.ok(first.every((x) => x >= 0 && x < 1));
  });
});

// A short run of the real thing (a few seconds): gateway, SigV4, shared tier, proxy faults.
describe('Soak: a short run through the local gateway with faults injected', () => {
  let r: SoakResult;
  before(async () => {
    r = await runSoak({ durationMs: 3_000, rate: 40, faultsPerSecond: 4, recycleMs: 500, profiles: 2, instances: 2, seed: 1 });
  });
  it('stops by itself, and every request is counted once by status', () => {
    assert.ok(r.requests > 0);
    assert.equal(Object.values(r.byStatus).reduce((a, b) => a + b, 0), r.requests);
    assert.ok(r.p50Ms <= r.p99Ms);
  });
  it('the proxy applied faults and Identity was called', () => {
    const applied = Object.values(r.faults).flatMap((kinds) => Object.values(kinds)).reduce((a, b) => a + (b ?? 0), 0);
    assert.ok(applied > 0, JSON.stringify(r.faults));
    assert.ok(r.identityCalls >= 2, 'at least one authentication per profile');
  });
  it('no answer the contract does not allow', () => {
    assert.equal(r.nonContract, 0, JSON.stringify(r.nonContractBy));
  });
});
