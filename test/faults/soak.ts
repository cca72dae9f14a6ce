// `npm run soak`: the local gateway under steady signed load, the shared tier on, the fault proxy
// injecting lost, late, reset, doubled and duplicated answers at random; counts what the contract
// does not allow. Loopback only; bounded in requests, in-flight requests and time; stops by itself.
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { DEMO_CALLER } from '../local/demo.ts';
import { serveLocally } from '../local/http-adapter.ts';
import type { LocalKey } from '../local/sigv4.ts';
import { loadProfiles } from '../../functions/core/profiles.ts';
import limits from '../../infra/limits.json' with { type: 'json' };
import { SHARED_TIMEOUTS } from '../../functions/adapters/shared-clients.ts';
import { signedHeaders } from '../support/signed.ts';
import { startProxiedDemo } from './proxied-demo.ts';
import { FAULT_KINDS, type FaultKind } from './proxy.ts';
import { seeded } from '../support/seeded.ts';
import { contractViolation, DEPENDENCIES, SOAK_DEFAULTS, type SoakOptions } from './soak-rules.ts';

export { DEPENDENCIES, SOAK_DEFAULTS, type SoakOptions };


const DEPLOYED_IDENTITY_LIMITS = Object.fromEntries(
  (['IDENTITY_TIMEOUT_MS', 'IDENTITY_BUDGET_MS', 'IDENTITY_ATTEMPTS'] as const).map((name) => [name, String(limits.environment[name].default)]),
);

/** Identity's tokens here live an hour and 30 s, so a request asking minTtl=3600 needs a new one every 30 s. */
const TOKEN_LIFETIME_MS = 3_630_000;
const QUERIES = ['', 'service=cloudFiles&region=dfw', 'interface=internal&region=dfw&service=cloudFiles', 'region=ORD&service=cloudServersOpenStack', 'minTtl=3600', 'minTtl=600&service=cloudFiles'];

export interface SoakResult {
  requests: number;
  byStatus: Record<string, number>;
  nonContract: number;
  /** Why each non-contract answer was one (`503 <detail>`, `500`, `token with 42 s left`…). */
  nonContractBy: Record<string, number>;
  identityCalls: number;
  p50Ms: number;
  p99Ms: number;
  /** Resident memory at the end minus after the warm-up, MiB (each after a full GC when node runs with --expose-gc, as npm run soak does). */
  rssGrowth: number;
  /** The same for the V8 heap in use, MiB: RSS rarely shrinks once grown, the heap shows what stays. */
  heapGrowth: number;
  /** Faults the proxy actually applied, by dependency and kind. */
  faults: Record<string, Partial<Record<FaultKind, number>>>;
  shed: number;
  durationMs: number;
  /** The machine's 1-minute load average at the start and the end: a loaded machine's figures say so. */
  loadAverage: [number, number];
}

export async function runSoak(options: Partial<SoakOptions> = {}): Promise<SoakResult> {
  const o = { ...SOAK_DEFAULTS, ...options };
  const random = seeded(o.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const users = Array.from({ length: o.profiles }, (_, i) => ({ username: `soak-${i}`, apiKey: randomBytes(16).toString('hex'), tenantId: String(220000 + i), tenantName: String(220000 + i), defaultRegion: 'DFW' }));
  const profiles = loadProfiles({ profiles: users.map((u) => ({ name: u.username, description: 'soak', secretId: `soak/${u.username}`, allow: ['arn:aws:iam::000000000000:role/local-caller'] })) });
  const rig = await startProxiedDemo({
    clock: null,
    timeouts: SHARED_TIMEOUTS,
    identity: { users, lifetimeMs: TOKEN_LIFETIME_MS },
    // The deployed Identity limits (real time, a loaded loopback: the fault matrix's 300 ms would time
    // out on load alone); the secret re-read every 5 s so Secrets Manager sees traffic too.
    env: { ...DEPLOYED_IDENTITY_LIMITS, SECRET_TTL_SECONDS: '5' },
    deps: { profiles },
    keepLogs: false,
  });
  for (const u of users) rig.demo.secrets.putSecret(`soak/${u.username}`, JSON.stringify({ username: u.username, apiKey: u.apiKey, identityUrl: rig.proxies.identity.via(rig.demo.identity.url) }));
  const key: LocalKey = { accessKeyId: 'AKLOCALSOAK000000000', secretAccessKey: randomBytes(30).toString('base64'), arn: DEMO_CALLER };
  let generation = 0;
  const fresh = () => rig.instance(`soak-instance-${generation++}`);
  const slots = Array.from({ length: o.instances }, fresh);
  const gateways = await Promise.all(
    slots.map((_, i) => serveLocally(((event: never, context: never) => slots[i]!(event, context)) as never, { port: 0, keys: new Map([[key.accessKeyId, key]]), region: 'us-east-1' })),
  );

  const latencies: number[] = [];
  const byStatus: Record<string, number> = {};
  const nonContractBy: Record<string, number> = {};
  let requests = 0;
  let shed = 0;
  let inFlight = 0;
  const one = async () => {
    const url = `${pick(gateways).url}/v1/profiles/${pick(users).username}/token${(() => {
      const q = pick(QUERIES);
      return q ? `?${q}` : '';
    })()}`;
    const headers = await signedHeaders(url, key);
    const sent = performance.now();
    let status = 0;
    let problem: string | null;
    try {
      const answer = await fetch(url, { headers, signal: AbortSignal.timeout(15_000) });
      const body = await answer.text();
      status = answer.status;
      problem = contractViolation(status, answer.headers, body, Date.now());
    } catch (error) {
      problem = `no answer (${(error as Error).name})`;
    }
    latencies.push(performance.now() - sent);
    requests++;
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    if (problem) nonContractBy[problem] = (nonContractBy[problem] ?? 0) + 1;
  };

  const inject = () => {
    const proxy = rig.proxies[pick(o.dependencies)];
    if (proxy.pending === 0) proxy.inject({ fault: pick(FAULT_KINDS) });
  };

  const started = performance.now();
  const loadAtStart = loadavg()[0] ?? 0;
  let rssBase = 0;
  let heapBase = 0;
  const tickMs = 50;
  const running = new Set<Promise<void>>();
  let sentSoFar = 0;
  let faultsSoFar = 0;
  let recycled = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - started;
      if (elapsed >= o.durationMs) {
        clearInterval(timer);
        return resolve();
      }
      if (rssBase === 0 && elapsed >= Math.min(5_000, o.durationMs / 4)) [rssBase, heapBase] = settled();
      for (; sentSoFar < Math.floor((elapsed * o.rate) / 1000); sentSoFar++) {
        if (inFlight >= o.maxInFlight) {
          shed++;
          continue;
        }
        inFlight++;
        const p = one().finally(() => {
          inFlight--;
          running.delete(p);
        });
        running.add(p);
      }
      for (; faultsSoFar < Math.floor((elapsed * o.faultsPerSecond) / 1000); faultsSoFar++) inject();
      for (; recycled < Math.floor(elapsed / o.recycleMs); recycled++) slots[Math.floor(random() * slots.length)] = fresh();
      // The table emulator records every request for tests; a soak has no use for the record.
      rig.demo.shared?.dynamo.resetCalls();
    }, tickMs);
  });
  // Every request has its own 15 s limit: this wait is bounded too.
  await Promise.all(running);
  const [rssEnd, heapEnd] = settled();
  const mib = (bytes: number) => Math.round(bytes / 104_857.6) / 10;
  const rssGrowth = mib(rssEnd - (rssBase || rssEnd));
  const heapGrowth = mib(heapEnd - (heapBase || heapEnd));
  const faults = Object.fromEntries(DEPENDENCIES.map((d) => [d, Object.fromEntries(Object.entries(rig.proxies[d].faulted).filter(([, n]) => n > 0))]));
  const identityCalls = rig.demo.identity.calls;
  await Promise.all(gateways.map((g) => g.close()));
  await rig.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) * 10) / 10;
  return {
    requests,
    byStatus,
    nonContract: Object.values(nonContractBy).reduce((a, b) => a + b, 0),
    nonContractBy,
    identityCalls,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    rssGrowth,
    heapGrowth,
    faults,
    shed,
    durationMs: Math.round(performance.now() - started),
    loadAverage: [loadAtStart, loadavg()[0] ?? 0].map((x) => Math.round(x * 10) / 10) as [number, number],
  };
}

/** RSS and heap in use after a full collection when the process allows one (`node --expose-gc`), so growth is what stays. */
function settled(): [number, number] {
  (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return [rss, heapUsed];
}

