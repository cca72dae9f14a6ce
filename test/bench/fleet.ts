// The shared tier across a fleet: N handler instances (separate memory: caches, data keys, circuit)
// against one dynalite table, one KMS stand-in and one Identity emulator.
import { startDemo } from '../local/demo.ts';
import { fakeClock, HOUR } from '../support/clock.ts';
import { tokenEvent } from '../support/events.ts';
import type { Invocable } from './warm.ts';
import { seeded } from '../support/seeded.ts';

const noop = () => {};

async function vend(handler: Invocable, query: Record<string, string> = { service: 'cloudFiles' }) {
  const { event, context } = tokenEvent({ query });
  const answer = await handler(event, context as never);
  if (answer.statusCode !== 200) throw new Error(`vend answered ${answer.statusCode}: ${answer.body}`);
}

/**
 * 24 simulated hours on one fake clock: N instances start at random times (the first at 0), each
 * with a request when it starts; besides, one request every `everySeconds` fleet-wide goes to a
 * random started instance, every sixth asking minTtl=3600. Identity calls for the one profile.
 */
export async function fleetDay(instances: number, seed = 1, everySeconds = 10): Promise<{ instances: number; requests: number; identityCalls: number }> {
  const clock = fakeClock();
  const demo = await startDemo({ sink: noop, clock, identity: { now: clock.now } });
  const random = seeded(seed);
  const start = clock.now();
  const starts = Array.from({ length: instances }, (_, i) => (i === 0 ? 0 : Math.floor(random() * 24 * HOUR))).sort((a, b) => a - b);
  type Event = { at: number; instance: number | null; long: boolean };
  const events: Event[] = starts.map((at, i) => ({ at, instance: i, long: false }));
  for (let at = 0, n = 0; at < 24 * HOUR; at += everySeconds * 1000, n++) events.push({ at, instance: null, long: n % 6 === 0 });
  events.sort((a, b) => a.at - b.at || (a.instance === null ? 1 : -1));
  const handlers: Invocable[] = [];
  try {
    for (const event of events) {
      while (clock.advanceTowards(start + event.at));
      if (event.instance !== null) handlers.push(demo.instance() as unknown as Invocable);
      const handler = event.instance !== null ? handlers.at(-1) : handlers[Math.floor(random() * handlers.length)];
      await vend(handler as Invocable, event.long ? { minTtl: '3600' } : { service: 'cloudFiles' });
    }
    return { instances, requests: events.length, identityCalls: demo.identity.calls };
  } finally {
    await demo.close();
  }
}

/**
 * `instances` cold instances, `each` concurrent requests on every one, all at once (real clock).
 * Answers other than 200 are counted, not thrown: on an overloaded machine the emulators share one
 * event loop with 2,000 requests and real timeouts can fire; the Identity count is the figure.
 */
export async function fleetBurst(instances = 100, each = 20): Promise<{ requests: number; identityCalls: number; not200: number }> {
  const demo = await startDemo({ sink: noop });
  try {
    const handlers = Array.from({ length: instances }, () => demo.instance() as unknown as Invocable);
    const { event, context } = tokenEvent({ query: { service: 'cloudFiles' } });
    const answers = await Promise.all(handlers.flatMap((h) => Array.from({ length: each }, () => h(event, context as never))));
    return { requests: instances * each, identityCalls: demo.identity.calls, not200: answers.filter((a) => a.statusCode !== 200).length };
  } finally {
    await demo.close();
  }
}
