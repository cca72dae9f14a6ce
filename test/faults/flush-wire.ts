// The operator's flush with one call lost, late or reset on the wire (the fault proxy, the real
// clients), judged by README's promise: revoked first, dropped after, otherwise nothing changes.
import { fakeClock } from '../support/clock.ts';
import { call } from '../support/events.ts';
import { startProxiedDemo } from './proxied-demo.ts';
import type { Dependency, WireFaultCase } from './proxy-matrix.ts';

export interface FlushFaultCase extends WireFaultCase {
  /** How many matching calls of the flush take the fault (default 1; `Infinity`: all, a dependency failing throughout). */
  times?: number;
}

const CALLS: Array<Pick<FlushFaultCase, 'dependency' | 'call' | 'proxy' | 'match' | 'times'>> = [
  { dependency: 'DynamoDB', call: 'reading the record (GetItem)', proxy: 'dynamo', match: 'GetItem' },
  { dependency: 'DynamoDB', call: 'dropping the token (UpdateItem)', proxy: 'dynamo', match: 'UpdateItem' },
  { dependency: 'KMS', call: 'Decrypt (opening the record)', proxy: 'kms', match: 'Decrypt' },
  { dependency: 'KMS', call: 'every Decrypt of the flush', proxy: 'kms', match: 'Decrypt', times: Infinity },
  { dependency: 'Secrets Manager', call: 'GetSecretValue', proxy: 'secrets', match: 'GetSecretValue' },
  { dependency: 'Identity', call: 'DELETE /v2.0/tokens (the revocation)', proxy: 'identity', match: 'DELETE /v2.0/tokens' },
];

/** Known defects, by row key `dependency/call/fault` (none since the fleet fix: the rows that found them stay). */
const KNOWN: Record<string, string> = {};

export const FLUSH_FAULTS: FlushFaultCase[] = CALLS.flatMap((c) =>
  (['lose', 'late', 'reset'] as const).map((fault) => {
    const todo = KNOWN[`${c.dependency}/${c.call}/${fault}`];
    return { ...c, fault, ...(todo && { todo }) };
  }),
);

export interface FlushFaultResult {
  /** What the flush answered, and its audit line's status. */
  status: number;
  detail: string;
  /** Was the token revoked at Identity? */
  revoked: boolean;
  /** Does the fleet still serve it: a new instance got it from the table, without calling Identity. */
  stillServed: boolean;
  fired: number;
  /** `DELETE /v2.0/tokens` requests that reached Identity. */
  revocationsSent: number;
  /** The flush audit line's revocations (what the operator learns). */
  audited: string[];
}

/** One row: A vends (the token is in the table), a new instance flushes with the fault on its first matching call, a new instance vends. */
export async function runFlushFault(fault: FlushFaultCase): Promise<FlushFaultResult> {
  const rig = await startProxiedDemo({ clock: fakeClock() });
  try {
    const first = await call(rig.instance('instance-a'));
    const token = String(first.json.token);
    rig.proxies[fault.proxy].inject({ match: fault.match, fault: fault.fault, times: fault.times ?? 1 });
    const flusher = rig.instance('operator') as unknown as (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;
    const answer = await flusher({ operation: 'flush', profile: 'demo', reason: 'fault matrix' }, { awsRequestId: 'op-1' });
    const body = JSON.parse(answer.body) as { detail: string; tokens: Array<{ revocation: string }> };
    // The dependency answers again: what does the fleet hold now?
    rig.proxies[fault.proxy].clear();
    const callsBefore = rig.demo.identity.calls;
    const next = await call(rig.instance('instance-c'));
    return {
      status: answer.statusCode,
      detail: body.detail,
      revoked: rig.demo.identity.revoked.has(token),
      stillServed: next.statusCode === 200 && next.json.token === token && rig.demo.identity.calls === callsBefore,
      fired: rig.proxies[fault.proxy].faulted[fault.fault],
      revocationsSent: rig.demo.identity.requests.revoke,
      audited: body.tokens.map((t) => t.revocation),
    };
  } finally {
    await rig.close();
  }
}

/**
 * README's promise for a flush: revoked, or still held (nothing changed); a 200 means revoked; and
 * the audit line names every token a revocation was sent for.
 */
export function flushKeptPromise(r: FlushFaultResult): boolean {
  return (r.revoked || r.stillServed) && (r.status !== 200 || r.revoked) && r.audited.length >= Math.min(1, r.revocationsSent);
}

export type { Dependency };
