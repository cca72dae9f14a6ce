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
import { startProxiedDemo } from './proxy-matrix.ts';
import { FAULT_KINDS, type FaultKind } from './proxy.ts';

export interface SoakOptions {
  durationMs: number;
  /** Requests started per second (open loop: a slow answer does not slow the senders). */
  rate: number;
  profiles: number;
  /** Simulated execution environments, each its own handler module instance behind its own gateway. */
  instances: number;
  /** Faults injected per second, each on the next call to a random dependency. */
  faultsPerSecond: number;
  /** Every this many ms one instance is replaced by a cold one (Lambda scaling, recycling). */
  recycleMs: number;
  seed: number;
  /** Requests in flight beyond this are not sent (counted as `shed`), so the run stays bounded. */
  maxInFlight: number;
  /** The dependencies faults are injected into (all four by default): narrows a diagnosis. */
  dependencies: ReadonlyArray<(typeof DEPENDENCIES)[number]>;
}

export const DEPENDENCIES = ['dynamo', 'kms', 'secrets', 'identity'] as const;
export const SOAK_DEFAULTS: SoakOptions = { durationMs: 60_000, rate: 200, profiles: 4, instances: 4, faultsPerSecond: 1, recycleMs: 3_000, seed: 26, maxInFlight: 400, dependencies: DEPENDENCIES };

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

/** A small seeded generator (mulberry32): the same seed plays the same mix of requests and faults. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * What the contract allows for one answer while Identity and the table answer (the faults are one
 * call each): a 200 with at least 60 s left, or a 503 with Retry-After that names Secrets Manager
 * (its own failure is the caller's 503). Anything else is named, for the report.
 */
export function contractViolation(status: number, headers: Headers, body: string, now: number): string | null {
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return `${status} not JSON`;
  }
  if (status === 200) {
    const left = Math.floor((Date.parse(String(json.expiresAt)) - now) / 1000);
    return left >= 60 ? null : `200 token with ${Number.isNaN(left) ? 'no expiry' : `${left} s`} left`;
  }
  const detail = typeof json.detail === 'string' ? json.detail : typeof json.message === 'string' ? json.message : '';
  if (status === 503 && /^\d+$/.test(headers.get('retry-after') ?? '') && detail.startsWith('Secrets Manager')) return null;
  return `${status} ${detail.slice(0, 100)}`;
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

/** `--duration 60 --rate 200 --profiles 4 --instances 4 --faults 1 --recycle 3 --seed 26 --deps dynamo,kms --json` (seconds where a time). */
export function parseSoakArgs(argv: readonly string[]): { options: Partial<SoakOptions>; json: boolean } {
  const options: Partial<SoakOptions> = {};
  let json = false;
  const names: Record<string, (v: number) => void> = {
    '--duration': (v) => (options.durationMs = v * 1000),
    '--rate': (v) => (options.rate = v),
    '--profiles': (v) => (options.profiles = v),
    '--instances': (v) => (options.instances = v),
    '--faults': (v) => (options.faultsPerSecond = v),
    '--recycle': (v) => (options.recycleMs = v * 1000),
    '--seed': (v) => (options.seed = v),
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--json') {
      json = true;
      continue;
    }
    if (arg.startsWith('--deps')) {
      const list = (arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (argv[++i] ?? '')).split(',');
      const known = list.filter((d): d is (typeof DEPENDENCIES)[number] => (DEPENDENCIES as readonly string[]).includes(d));
      if (known.length === 0 || known.length !== list.length) throw new Error(`soak: --deps takes a comma-separated list of ${DEPENDENCIES.join(', ')}`);
      options.dependencies = known;
      continue;
    }
    const [name, inline] = arg.split('=', 2) as [string, string | undefined];
    const set = names[name];
    const value = Number(inline ?? argv[++i]);
    if (!set || !Number.isFinite(value) || value < 0) throw new Error(`soak: unknown option or bad value: ${arg} (options: ${Object.keys(names).join(', ')}, --json)`);
    set(value);
  }
  // Bounded whatever is asked: at most 10 minutes and 1,000 requests/s on this loopback rig.
  if ((options.durationMs ?? 0) > 600_000 || (options.rate ?? 0) > 1_000) throw new Error('soak: at most --duration 600 and --rate 1000');
  return { options, json };
}
