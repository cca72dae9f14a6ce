// Warm vend: the cached-token path through the whole middy stack, against a floor that pays only
// for what any handler here must pay (middy plus one structured log line of the same shape).
import middy from '@middy/core';
import { createLogger } from '../../functions/core/logger.ts';
import { startDemo } from '../local/demo.ts';
import { tokenEvent } from '../support/events.ts';
import { summarize, type Summary } from './stats.ts';

type Answer = { statusCode: number; body: string };
export type Invocable = (event: unknown, context: never) => Promise<Answer>;

const noop = () => {};
export const WARM_QUERY = { service: 'cloudFiles', region: 'dfw' };

/**
 * The floor: a fixed body and one audit-shaped line through the same logger (same redacting
 * replacer, same no-op sink), so the ratio isolates what our own code adds.
 */
export function floorHandler(): Invocable {
  const logger = createLogger({ sink: noop });
  const body = JSON.stringify({ token: 'x'.repeat(130), expiresAt: '2026-11-24T10:00:00.000Z', expiresIn: 86399, tenant: { id: '110011', name: '110011' } });
  const handler = middy(
    async (_event: unknown, context: { awsRequestId: string }) => {
      const audit = {
        requestId: context.awsRequestId, caller: 'arn:aws:sts::000000000000:assumed-role/local-caller/you', profile: 'demo', service: 'cloudFiles',
        region: 'dfw', interface: 'public', cacheHit: true, identityMs: null, degraded: false, tokenSha256: '0123456789ab', reason: null, upstream: null, status: 200,
      };
      logger.info('vend', { audit });
      return { statusCode: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body };
    },
    { timeoutEarlyInMillis: 0 },
  );
  return handler as unknown as Invocable;
}

/** Our demo handler with its token already cached (the first call fetched it). */
export async function warmDemo() {
  const demo = await startDemo({ sink: noop });
  const handler = demo.handler as unknown as Invocable;
  const { event, context } = tokenEvent({ query: WARM_QUERY });
  const first = await handler(event, context as never);
  if (first.statusCode !== 200) throw new Error(`warm-up vend failed: ${first.statusCode} ${first.body}`);
  return { demo, handler, event };
}

/** N sequential invocations; a fresh context each time, as Lambda gives, the same event both sides. */
export async function invoke(handler: Invocable, event: unknown, n: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const answer = await handler(event, { awsRequestId: `r${i}` } as never);
    if (answer.statusCode !== 200) throw new Error(`vend ${i} answered ${answer.statusCode}: ${answer.body}`);
  }
  return performance.now() - started;
}

export interface WarmResult {
  oursNs: Summary;
  floorNs: Summary;
  vendsPerSecond: Summary;
  floorPerSecond: Summary;
  /** Per round, ours / the floor measured right next to it; its median is warmRatio. */
  ratio: Summary;
  n: number;
}

export async function measureWarm(rounds: number, n: number): Promise<WarmResult> {
  const { demo, handler, event } = await warmDemo();
  const floor = floorHandler();
  const floorEvent = tokenEvent({ query: WARM_QUERY }).event;
  try {
    // One discarded round each, so both sides are optimised before anything counts.
    await invoke(handler, event, n);
    await invoke(floor, floorEvent, n);
    const ours: number[] = [];
    const base: number[] = [];
    // Alternate, and swap who goes first every round, so drift (thermal, neighbours, GC debt) hits both.
    for (let r = 0; r < rounds; r++) {
      const pair = r % 2 ? [floor, handler] : [handler, floor];
      for (const h of pair) (h === handler ? ours : base).push(((await invoke(h, h === handler ? event : floorEvent, n)) * 1e6) / n);
    }
    // Each round's pair ran back to back, so its ratio cancels the machine's drift between rounds.
    const ratio = summarize(ours.map((ns, r) => ns / (base[r] as number)));
    return { oursNs: summarize(ours), floorNs: summarize(base), vendsPerSecond: summarize(ours.map((ns) => 1e9 / ns)), floorPerSecond: summarize(base.map((ns) => 1e9 / ns)), ratio, n };
  } finally {
    await demo.close();
  }
}
