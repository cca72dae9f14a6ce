// Lost and late answers on the wire: the fault proxy (proxy.ts) in front of each dependency, the
// real SDK clients and fetch behind the handler, and what callers then see across two instances.
import { fakeClock } from '../support/clock.ts';
import { call } from '../support/events.ts';
import { startProxiedDemo, type ProxyName } from './proxied-demo.ts';
import type { FaultKind } from './proxy.ts';

export type Dependency = 'DynamoDB' | 'KMS' | 'Secrets Manager' | 'Identity';

export interface WireFaultCase {
  dependency: Dependency;
  /** Which call takes the fault, in words (for the table). */
  call: string;
  fault: Extract<FaultKind, 'lose' | 'late' | 'reset'>;
  proxy: ProxyName;
  match: string;
  /** Matching calls that pass before the faulted one. */
  skip?: number;
  /** Set while a known defect makes the contract fail here: the test is marked todo with this reason (none today). */
  todo?: string;
}

export const FAULT_WORDS: Record<WireFaultCase['fault'], string> = {
  lose: 'answer lost after the call landed',
  late: 'answer late, past the client timeout',
  reset: 'connection reset',
};

const CALLS: Array<Pick<WireFaultCase, 'dependency' | 'call' | 'proxy' | 'match' | 'skip'>> = [
  { dependency: 'DynamoDB', call: 'lease write (UpdateItem)', proxy: 'dynamo', match: 'UpdateItem' },
  { dependency: 'DynamoDB', call: 'publish (the 2nd UpdateItem)', proxy: 'dynamo', match: 'UpdateItem', skip: 1 },
  { dependency: 'KMS', call: 'GenerateDataKey (sealing the token)', proxy: 'kms', match: 'GenerateDataKey' },
  { dependency: 'KMS', call: 'Decrypt (reading the record)', proxy: 'kms', match: 'Decrypt' },
  { dependency: 'Secrets Manager', call: 'GetSecretValue', proxy: 'secrets', match: 'GetSecretValue' },
  { dependency: 'Identity', call: 'POST /v2.0/tokens', proxy: 'identity', match: 'POST /v2.0/tokens' },
];

export const WIRE_FAULTS: WireFaultCase[] = CALLS.flatMap((c) => (['lose', 'late', 'reset'] as const).map((fault) => ({ ...c, fault })));

/** Which answers the contract allows while this dependency fails once: 503 only for Secrets Manager (PRODUCT.md). */
export const mayAnswer503 = (dependency: Dependency) => dependency === 'Secrets Manager';

export interface WireFaultResult {
  /** Instance A (cold), then instance B (cold), then A again. */
  statuses: number[];
  retryAfter: string[];
  /** `POST /tokens` that reached Identity, lost answers included. */
  identityCalls: number;
  /** How many calls the proxy faulted (1 when the row played what it says). */
  fired: number;
  /** Seconds left on each 200's token. */
  secondsLeft: number[];
  bodies: string[];
  /** The problem `detail` of each answer that was not a 200 (never a token: safe in a message). */
  problems: string[];
  logs: string[];
}

/**
 * One row on fresh emulators, a proxy in front of each, two instances with the deployed clients
 * (short real-time limits) on a fake clock: A asks (the fault hits its first matching call), B asks,
 * A asks again.
 */
export async function runWireFault(fault: WireFaultCase): Promise<WireFaultResult> {
  const clock = fakeClock();
  const rig = await startProxiedDemo({ clock });
  try {
    rig.proxies[fault.proxy].inject({ match: fault.match, fault: fault.fault, skip: fault.skip ?? 0 });
    const [a, b] = [rig.instance('instance-a'), rig.instance('instance-b')];
    const answers = [];
    for (const handler of [a, b, a]) answers.push(await call(handler));
    return {
      statuses: answers.map((x) => x.statusCode),
      retryAfter: answers.map((x) => x.headers['retry-after'] ?? '–'),
      identityCalls: rig.demo.identity.calls,
      fired: rig.proxies[fault.proxy].faulted[fault.fault],
      secondsLeft: answers.filter((x) => x.statusCode === 200).map((x) => Math.round((Date.parse(String(x.json.expiresAt)) - clock.now()) / 1000)),
      bodies: answers.map((x) => x.body),
      problems: answers.filter((x) => x.statusCode !== 200).map((x) => `${x.statusCode} ${String(x.json.detail)}`),
      logs: rig.logs,
    };
  } finally {
    await rig.close();
  }
}
