// Amplification: how many upstream calls our traffic turns into. A burst on a cold cache must
// collapse into one secret read and one Identity call; a day of steady traffic should cost about
// one Identity call per token lifetime.
import { startDemo } from '../local/demo.ts';
import { fakeClock, HOUR } from '../support/clock.ts';
import { tokenEvent } from '../support/events.ts';
import type { Invocable } from './warm.ts';

const noop = () => {};

async function vend(handler: Invocable, query: Record<string, string>) {
  const { event, context } = tokenEvent({ query });
  const answer = await handler(event, context as never);
  if (answer.statusCode !== 200) throw new Error(`vend answered ${answer.statusCode}: ${answer.body}`);
  return JSON.parse(answer.body) as { degraded?: boolean };
}

/** `requests` concurrent vends on a fresh demo (empty caches). */
export async function burst(requests: number): Promise<{ secretCalls: number; identityCalls: number }> {
  const demo = await startDemo({ sink: noop });
  try {
    const handler = demo.handler as unknown as Invocable;
    await Promise.all(Array.from({ length: requests }, () => vend(handler, { service: 'cloudFiles', region: 'dfw' })));
    return { secretCalls: demo.secrets.calls.GetSecretValue ?? 0, identityCalls: demo.identity.calls };
  } finally {
    await demo.close();
  }
}

export interface DayResult {
  requests: number;
  identityCalls: number;
  secretCalls: number;
  degradedAnswers: number;
  /** Simulated hours (from the start) at which Identity was called. */
  identityCallHours: number[];
}

/**
 * 24 simulated hours on a fake clock shared with the Identity emulator: one request every
 * `everySeconds`, every `longEvery`-th of them asking minTtl=3600 (a caller that needs an hour),
 * the rest the default. The traffic is fixed up front, not tuned to any goal.
 */
export async function day(everySeconds = 10, longEvery = 6): Promise<DayResult> {
  const clock = fakeClock();
  const demo = await startDemo({ sink: noop, deps: { now: clock.now, sleep: clock.sleep }, identity: { now: clock.now } });
  const start = clock.now();
  const requests = (24 * HOUR) / (everySeconds * 1000);
  const identityCallHours: number[] = [];
  let degradedAnswers = 0;
  try {
    const handler = demo.handler as unknown as Invocable;
    for (let i = 0; i < requests; i++) {
      const before = demo.identity.calls;
      const body = await vend(handler, i % longEvery === 0 ? { minTtl: '3600' } : { service: 'cloudFiles' });
      if (body.degraded) degradedAnswers++;
      if (demo.identity.calls > before) identityCallHours.push(Number(((clock.now() - start) / HOUR).toFixed(3)));
      clock.advance(everySeconds * 1000);
    }
    return { requests, identityCalls: demo.identity.calls, secretCalls: demo.secrets.calls.GetSecretValue ?? 0, degradedAnswers, identityCallHours };
  } finally {
    await demo.close();
  }
}

export interface OutageResult {
  requests: number;
  /** A whole retry cycle per request: what the outage cost before profiles backed off. */
  attemptsPerCycle: number;
  identityCalls: number;
  degradedAnswers: number;
}

/**
 * An Identity outage (every call a 500) while the cached token is short of `minTtl`: `requests`
 * requests one second apart on a fake clock, default configuration. Counts Identity calls.
 */
export async function outage(requests = 15): Promise<OutageResult> {
  const clock = fakeClock();
  const demo = await startDemo({ sink: noop, clock, deps: { random: () => 0.5 } });
  try {
    const handler = demo.handler as unknown as Invocable;
    await vend(handler, {});
    clock.advance(24 * HOUR - 200_000); // 200 s left, short of the default minTtl of 300 s
    demo.identity.resetCalls();
    demo.identity.injectFaults(...Array.from({ length: requests * 10 }, () => ({ status: 500 })));
    let degradedAnswers = 0;
    const started = clock.now();
    for (let i = 0; i < requests; i++) {
      while (clock.advanceTowards(started + i * 1_000));
      if ((await vend(handler, {})).degraded) degradedAnswers++;
    }
    return { requests, attemptsPerCycle: 4, identityCalls: demo.identity.calls, degradedAnswers };
  } finally {
    await demo.close();
  }
}
