// Shared-tier faults: what a new instance's caller sees, and how many Identity calls the fleet
// makes, when the table or KMS fails, a record is tampered with, a lease holder dies, clocks disagree.
import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { startDemo } from '../local/demo.ts';
import { fakeClock, MINUTE } from '../support/clock.ts';
import { call } from '../support/events.ts';
import { BUDGET } from './matrix.ts';

type Demo = Awaited<ReturnType<typeof startDemo>>;
type Clock = ReturnType<typeof fakeClock>;

export interface FleetFaultCase {
  name: string;
  /** What happens after instance A has put a token in the table (the table is empty first when `cold`). */
  cold?: boolean;
  act: (demo: Demo, clock: Clock) => Promise<Array<{ statusCode: number; headers: Record<string, string> }>>;
  expect: { statuses: number[]; identityCalls: number };
}

const vend = async (handler: unknown) => call(handler);
const key = (demo: Demo) => ({ TableName: demo.shared!.dynamo.table, Key: { profile: { S: 'demo' } } });

export const FLEET_FAULTS: FleetFaultCase[] = [
  { name: 'table throttled (ThrottlingException)', act: async (d) => (d.shared!.dynamo.injectFaults({ type: 'ThrottlingException' }), [await vend(d.instance())]), expect: { statuses: [200], identityCalls: 1 } },
  { name: 'KMS denies the key (AccessDeniedException)', act: async (d) => (d.shared!.kms.denyAll(true), [await vend(d.instance())]), expect: { statuses: [200], identityCalls: 1 } },
  {
    name: 'record tampered (a ciphertext byte flipped)',
    act: async (d) => {
      const { Item } = await d.shared!.dynamo.client.send(new GetItemCommand(key(d)));
      (Item!.ciphertext!.B as Uint8Array)[0]! ^= 0xff;
      await d.shared!.dynamo.client.send(new PutItemCommand({ TableName: key(d).TableName, Item: Item! }));
      return [await vend(d.instance()), await vend(d.instance())];
    },
    expect: { statuses: [200, 200], identityCalls: 1 },
  },
  { name: 'partition: instances cannot reach the table', act: async (d) => (d.shared!.dynamo.partition(true), [await vend(d.instance())]), expect: { statuses: [200], identityCalls: 1 } },
  {
    name: 'lease holder dies mid-authentication (a waiter takes over after half the lease, then a new instance 6 min later)',
    cold: true,
    act: async (d, clock) => {
      await d.shared!.dynamo.client.send(
        new UpdateItemCommand({ ...key(d), UpdateExpression: 'SET revision = :r, leaseOwner = :o, leaseUntil = :u', ExpressionAttributeValues: { ':r': { N: '1' }, ':o': { S: 'dead' }, ':u': { N: String(clock.now() + 3_500) } } }),
      );
      // The waiter watches the lease unchanged for takeoverMs (half the lease, 1.75 s here), takes it
      // over and authenticates within its deadline; the new instance is served the token it published.
      const waited = await vend(d.instance());
      clock.advance(6 * MINUTE);
      return [waited, await vend(d.instance())];
    },
    expect: { statuses: [200, 200], identityCalls: 1 },
  },
  {
    name: 'clock skew ±2 min between two cold instances asking at once',
    cold: true,
    act: async (d, clock) => Promise.all([vend(d.instance({ now: () => clock.now() + 2 * MINUTE })), vend(d.instance({ now: () => clock.now() - 2 * MINUTE }))]),
    expect: { statuses: [200, 200], identityCalls: 1 },
  },
];

/** One case on fresh emulators and a fake clock; Identity calls counted after the warm-up. */
export async function runFleetFault(fault: FleetFaultCase) {
  const clock = fakeClock();
  const demo = await startDemo({ env: BUDGET, clock, sink: () => {}, deps: { random: () => 0.5 } });
  try {
    if (!fault.cold) await vend(demo.handler);
    demo.identity.resetCalls();
    const answers = await fault.act(demo, clock);
    return { statuses: answers.map((a) => a.statusCode), retryAfter: answers.map((a) => a.headers['retry-after'] ?? '–'), identityCalls: demo.identity.calls };
  } finally {
    await demo.close();
  }
}
