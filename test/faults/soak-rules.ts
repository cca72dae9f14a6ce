// The soak's pure parts: what counts against the contract, and its options.
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
