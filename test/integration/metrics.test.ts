import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import spec from '../../functions/token/metrics.json' with { type: 'json' };
import { fakeClock, HOUR, MINUTE } from '../support/clock.ts';
import { demosClosedAfterEach } from '../support/demos.ts';
import { emfProblems } from '../support/emf.ts';
import { call } from '../support/events.ts';

const startDemo = demosClosedAfterEach();
type Line = Record<string, any>;

async function start() {
  const clock = fakeClock();
  const lines: Line[] = [];
  const demo = await startDemo({
    env: { IDENTITY_ATTEMPTS: '1', STAGE: 'test' },
    identity: { now: clock.now },
    deps: { now: clock.now, sleep: clock.sleep, random: () => 0.5 },
    sink: (line) => lines.push(JSON.parse(line) as Line),
  });
  /** One request and the single line it wrote (the test fails if it wrote another number of lines). */
  const vend = async (options: Parameters<typeof call>[1] = {}) => {
    const from = lines.length;
    const answer = await call(demo.handler, options);
    assert.equal(lines.length - from, 1, 'exactly one line per request');
    return { answer, line: lines[from] as Line };
  };
  return { demo, clock, vend, lines };
}

/** The metric members of a line, by name, as the directive lists them. */
function metricsOf(line: Line): Record<string, unknown> {
  const names: string[] = line._aws.CloudWatchMetrics.flatMap((d: { Metrics: { Name: string }[] }) => d.Metrics.map((m) => m.Name));
  return Object.fromEntries(names.map((name) => [name, line[name]]));
}

describe('Metrics: Embedded Metric Format inside the one audit line', () => {
  it('an allowed vend counts a vend and an Identity call, then a cache hit, in a valid EMF line with Stage and Profile dimensions', async () => {
    const { clock, vend } = await start();
    const first = await vend({ query: { service: 'cloudFiles', region: 'dfw' } });
    assert.deepEqual(emfProblems(first.line), []);
    assert.equal(first.line.audit.status, 200, 'the audit line itself is still there');
    assert.deepEqual(first.line._aws.CloudWatchMetrics[0].Dimensions, [['Stage'], ['Stage', 'Profile']]);
    assert.deepEqual([first.line._aws.Timestamp, first.line.Stage, first.line.Profile], [clock.now(), 'test', 'demo']);
    const { IdentityLatency, ...firstRest } = metricsOf(first.line);
    assert.ok(typeof IdentityLatency === 'number' && IdentityLatency >= 0);
    assert.deepEqual(firstRest, {
      Vend: 1, CacheHit: 0, SharedCacheHit: 0, SharedTierFallback: 0, IdentityCalls: 1, IdentityFailure: 0, CredentialsUnusable: 0, CredentialsOverprivileged: 0, Degraded: 0, Denied: 0, ClientError: 0, UpstreamError: 0,
      TokenSecondsLeft: 24 * 3600,
    });
    clock.advance(HOUR);
    const second = await vend();
    assert.deepEqual(emfProblems(second.line), []);
    assert.deepEqual(metricsOf(second.line), {
      Vend: 1, CacheHit: 1, SharedCacheHit: 0, SharedTierFallback: 0, IdentityCalls: 0, IdentityFailure: 0, CredentialsUnusable: 0, CredentialsOverprivileged: 0, Degraded: 0, Denied: 0, ClientError: 0, UpstreamError: 0,
      TokenSecondsLeft: 23 * 3600,
    });
  });

  it('a new instance served from the shared table counts SharedCacheHit, not CacheHit, and no Identity call', async () => {
    const { demo, vend, lines } = await start();
    await vend();
    const from = lines.length;
    await call(demo.instance(), {});
    const line = lines[from] as Line;
    assert.deepEqual(emfProblems(line), []);
    const m = metricsOf(line);
    assert.deepEqual([line.audit.shared, m.SharedCacheHit, m.CacheHit, m.IdentityCalls, m.SharedTierFallback], ['table', 1, 0, 0, 0]);
  });

  it('an instance working alone because the shared table is unreachable counts SharedTierFallback', async () => {
    const { demo, vend, lines } = await start();
    await vend();
    demo.shared?.dynamo.partition(true);
    const from = lines.length;
    const alone = await call(demo.instance(), {});
    const line = lines[from] as Line;
    assert.deepEqual(emfProblems(line), []);
    assert.deepEqual([alone.statusCode, line.audit.shared, metricsOf(line).SharedTierFallback, metricsOf(line).SharedCacheHit], [200, 'fallback', 1, 0]);
  });

  it('a denial counts Denied; an undeclared profile gets no Profile dimension, so callers cannot mint metrics', async () => {
    const { vend } = await start();
    const stranger = await vend({ caller: 'arn:aws:sts::000000000000:assumed-role/someone-else/x' });
    assert.deepEqual(emfProblems(stranger.line), []);
    assert.deepEqual([stranger.answer.statusCode, stranger.line.Profile, metricsOf(stranger.line).Denied], [403, 'demo', 1]);
    const invented = await vend({ profile: 'invented-profile' });
    assert.deepEqual(emfProblems(invented.line), []);
    assert.deepEqual(invented.line._aws.CloudWatchMetrics[0].Dimensions, [['Stage']]);
    assert.equal('Profile' in invented.line, false);
    assert.deepEqual(metricsOf(invented.line), {
      Vend: 1, CacheHit: 0, SharedCacheHit: 0, SharedTierFallback: 0, IdentityCalls: 0, IdentityFailure: 0, CredentialsUnusable: 0, CredentialsOverprivileged: 0, Degraded: 0, Denied: 1, ClientError: 0, UpstreamError: 0,
    });
  });

  it('a bad request counts ClientError, not Denied or UpstreamError', async () => {
    const { vend } = await start();
    const bad = await vend({ query: { minTtl: '5' } });
    assert.deepEqual(emfProblems(bad.line), []);
    assert.deepEqual([bad.answer.statusCode, metricsOf(bad.line).ClientError, metricsOf(bad.line).Denied, metricsOf(bad.line).UpstreamError], [400, 1, 0, 0]);
  });

  it('Identity failing counts IdentityFailure and UpstreamError', async () => {
    const { demo, vend } = await start();
    demo.identity.injectFaults({ status: 503 });
    const down = await vend();
    assert.deepEqual(emfProblems(down.line), []);
    const m = metricsOf(down.line);
    assert.deepEqual([down.answer.statusCode, m.IdentityFailure, m.UpstreamError, m.IdentityCalls, m.CacheHit, m.TokenSecondsLeft], [503, 1, 1, 1, 0, undefined]);
  });

  it('a token served degraded while Identity fails counts Degraded and IdentityFailure, not UpstreamError', async () => {
    const { demo, clock, vend } = await start();
    await vend();
    clock.advance(23 * HOUR + MINUTE);
    demo.identity.injectFaults({ status: 503 });
    const degraded = await vend({ query: { minTtl: '3600' } });
    assert.deepEqual(emfProblems(degraded.line), []);
    const m = metricsOf(degraded.line);
    assert.deepEqual([degraded.answer.statusCode, m.Degraded, m.IdentityFailure, m.UpstreamError, m.IdentityCalls, m.CacheHit], [200, 1, 1, 0, 1, 0]);
  });

  it('Identity refusing the key counts CredentialsUnusable', async () => {
    const { demo, vend } = await start();
    demo.identity.setUser('demo', { apiKey: 'a-key-nobody-custodies-0123456789' });
    const refused = await vend();
    assert.deepEqual(emfProblems(refused.line), []);
    assert.deepEqual([refused.answer.statusCode, metricsOf(refused.line).CredentialsUnusable, metricsOf(refused.line).UpstreamError], [502, 1, 1]);
  });

  it('a user holding a role the profile does not declare counts CredentialsOverprivileged and CredentialsUnusable, not IdentityFailure', async () => {
    const { demo, vend } = await start();
    demo.identity.setUser('demo', { roles: ['identity:default', 'object-store:admin', 'identity:user-admin'] });
    const refused = await vend();
    assert.deepEqual(emfProblems(refused.line), []);
    const m = metricsOf(refused.line);
    assert.deepEqual([refused.answer.statusCode, m.CredentialsOverprivileged, m.CredentialsUnusable, m.IdentityFailure, m.UpstreamError], [502, 1, 1, 0, 1]);
  });

  it('every metric in metrics.json has a CloudWatch unit and a stated meaning', () => {
    for (const [name, { unit, meaning }] of Object.entries(spec.metrics)) {
      assert.deepEqual(emfProblems({ _aws: { Timestamp: 0, CloudWatchMetrics: [{ Namespace: spec.namespace, Dimensions: [[]], Metrics: [{ Name: name, Unit: unit }] }] }, [name]: 1 }), []);
      assert.ok(meaning.length > 20, `${name} says what it means`);
    }
  });
});
