// Issue 27 item 3: how soon an operator's fix of a refused key is live. The key is reset at
// Identity with no token of the service's to heal it, so every request is refused (502) until
// the secret holds the new key; then the clock runs on until the first 200.
import { DEMO_SECRET_ID, startDemo } from '../local/demo.ts';
import { fakeClock } from '../support/clock.ts';
import { call } from '../support/events.ts';
import { BUDGET } from './matrix.ts';

export interface FixPickupCase {
  name: string;
  /** Execution environments, each sent `perSecond` concurrent requests every second. */
  instances: number;
  perSecond: number;
  /** The shared tier (table) on, as deployed by default. */
  shared: boolean;
  /** Seconds of refusals before the operator puts the fixed key in the secret. */
  refusedSeconds: number;
  /** Goal: the first 200 within this many seconds of the fix. */
  goalSeconds: number;
}

export const FIX_PICKUP: FixPickupCase[] = [
  { name: 'refused key, then the fixed secret: 1 instance, 5 requests/s', instances: 1, perSecond: 5, shared: false, refusedSeconds: 25, goalSeconds: 15 },
  { name: 'refused key, then the fixed secret: 3 instances sharing the table, 5 requests/s each', instances: 3, perSecond: 5, shared: true, refusedSeconds: 25, goalSeconds: 15 },
  // Put half a second after a re-read: the longest wait, until the next one 10 s later.
  { name: 'refused key, then the fixed secret just after a re-read (worst case): 3 instances, table', instances: 3, perSecond: 5, shared: true, refusedSeconds: 20, goalSeconds: 15 },
];

const FIXED_KEY = 'fixed-by-the-operator-0123456789abcdef';

export interface FixPickupResult {
  /** Whole seconds from the operator's put to the first 200, and to the first 200 on every instance. */
  secondsToFirst200: number;
  secondsToEveryInstance200: number;
  /** Until every instance answered 200. */
  secretReadsAfterFix: number;
  identityCallsAfterFix: number;
  /** Secret reads and Identity calls while the key stayed refused (after the first round of requests). */
  refusedSecretReads: number;
  refusedIdentityCalls: number;
  requestsWhileRefused: number;
  /** Statuses of the requests after the fix, until and including the first 200. */
  statusesAfterFix: number[];
}

/** One case on fresh emulators and a fake clock. */
export async function runFixPickup(fault: FixPickupCase): Promise<FixPickupResult> {
  const clock = fakeClock();
  const demo = await startDemo({ env: BUDGET, clock, shared: fault.shared, sink: () => {}, deps: { random: () => 0.5 } });
  try {
    const instances = Array.from({ length: fault.instances }, (_, i) => (i === 0 ? demo.handler : demo.instance()));
    const round = async () => (await Promise.all(instances.flatMap((h) => Array.from({ length: fault.perSecond }, () => call(h))))).map((a) => a.statusCode);
    const each = async () => Promise.all(instances.map(async (h) => (await Promise.all(Array.from({ length: fault.perSecond }, () => call(h)))).map((a) => a.statusCode)));
    // The key was reset somewhere else; nothing of the service's holds a token to read it back with.
    demo.identity.setUser('demo', { apiKey: 'reset-somewhere-else-0123456789abcdef' });
    // One request per instance, one after the other (concurrent cold instances would wait on each other's lease).
    const first: number[] = [];
    for (const h of instances) first.push((await call(h)).statusCode);
    if (!first.every((s) => s === 502)) throw new Error(`expected every first request refused, got ${first.join(',')}`);
    demo.secrets.resetCalls();
    demo.identity.resetCalls();
    let requestsWhileRefused = 0;
    for (let s = 1; s <= fault.refusedSeconds; s++) {
      clock.advance(1_000);
      const statuses = await round();
      requestsWhileRefused += statuses.length;
      if (!statuses.every((status) => status === 502)) throw new Error(`expected refusals at ${s} s, got ${statuses.join(',')}`);
    }
    const refusedSecretReads = demo.secrets.calls.GetSecretValue ?? 0;
    const refusedIdentityCalls = demo.identity.calls;
    // The operator puts the key Identity now accepts, half a second into the next second.
    clock.advance(500);
    demo.identity.setUser('demo', { apiKey: FIXED_KEY });
    demo.secrets.putSecret(DEMO_SECRET_ID, JSON.stringify({ username: 'demo', apiKey: FIXED_KEY, identityUrl: demo.identity.url }));
    const fixedAt = clock.now();
    const statusesAfterFix: number[] = [];
    const firstOk: Array<number | null> = instances.map(() => null);
    for (let s = 1; s <= 120 && firstOk.includes(null); s++) {
      clock.advance(s === 1 ? 500 : 1_000);
      const byInstance = await each();
      byInstance.forEach((statuses, i) => {
        statusesAfterFix.push(...statuses);
        if (firstOk[i] === null && statuses.includes(200)) firstOk[i] = Math.ceil((clock.now() - fixedAt) / 1000);
      });
    }
    if (firstOk.includes(null)) throw new Error('an instance had no 200 within 120 s of the fix');
    const seconds = firstOk as number[];
    return { secondsToFirst200: Math.min(...seconds), secondsToEveryInstance200: Math.max(...seconds), refusedSecretReads, refusedIdentityCalls, requestsWhileRefused, statusesAfterFix, secretReadsAfterFix: (demo.secrets.calls.GetSecretValue ?? 0) - refusedSecretReads, identityCallsAfterFix: demo.identity.calls - refusedIdentityCalls };
  } finally {
    await demo.close();
  }
}
