// Cold vend and bundle size: the deployed bundle run once in fresh processes against emulators in
// this process, next to an SDK-only floor (sdk-floor.ts, bundled the same way) and bare node; and
// once more with the shared tier on and a fresh token in the table, as a new Lambda environment
// finds it (a new environment is a new process: an instance is never cold in a warm process).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { bundleOptions, byPackage } from '../build-options.ts';
import { startSharedEmulators } from '../local/demo.ts';
import { DECLARED, startDeclaredEmulators } from '../support/declared.ts';
import { tokenEvent } from '../support/events.ts';
import { summarize, type Summary } from './stats.ts';

// The deployed bundle serves the shipped declaration's profile, as a Lambda would.
const EVENT = tokenEvent({ profile: DECLARED.profile, caller: DECLARED.caller, query: { service: 'cloudFiles', region: 'ord' } }).event;

export interface Bundles {
  handler: string;
  floor: string;
  handlerBytes: number;
  floorBytes: number;
  /** Bytes in the handler bundle per npm package, largest first. */
  packages: Array<[string, number]>;
  floorPackages: Array<[string, number]>;
}

/** Both bundles in `dir`, with the deployed settings; the floor differs only in its entry point. */
export async function buildBundles(dir: string): Promise<Bundles> {
  const handler = join(dir, 'handler.mjs');
  const floor = join(dir, 'sdk-floor.mjs');
  const ours = await build(bundleOptions(handler));
  const theirs = await build({ ...bundleOptions(floor), entryPoints: [fileURLToPath(new URL('./sdk-floor.ts', import.meta.url))] });
  // esbuild keys outputs by the path relative to the working directory.
  const out = (meta: Metafile, file: string) => Object.keys(meta.outputs).find((k) => file.endsWith(k.replace(/^(\.\.\/)+/, '/'))) ?? '';
  const [ho, fo] = [out(ours.metafile, handler), out(theirs.metafile, floor)];
  return {
    handler,
    floor,
    handlerBytes: ours.metafile.outputs[ho]?.bytes ?? 0,
    floorBytes: theirs.metafile.outputs[fo]?.bytes ?? 0,
    packages: byPackage(ours.metafile, ho),
    floorPackages: byPackage(theirs.metafile, fo),
  };
}

/** Spawn to exit, in ms, plus the child's RESULT line (which must say 200). */
function timeProcess(args: string[], env: NodeJS.ProcessEnv, expectResult: boolean): Promise<{ ms: number; result: Record<string, unknown> | null }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let exitedAt = 0;
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => void (out += d));
    child.stderr.on('data', (d: Buffer) => void (err += d));
    child.on('exit', () => void (exitedAt = performance.now()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      const result = line ? (JSON.parse(line.slice(7)) as Record<string, unknown>) : null;
      if (code !== 0 || (expectResult && result?.statusCode !== 200)) {
        return reject(new Error(`${args.join(' ')} exited ${code}; result ${JSON.stringify(result)}; stderr ${err.slice(0, 500)}`));
      }
      resolve({ ms: (exitedAt || performance.now()) - started, result });
    });
  });
}

export interface ColdResult {
  oursMs: Summary;
  floorMs: Summary;
  bareMs: Summary;
  /** Per round, minus that round's bare node start: what each side adds to the runtime's own. */
  oursAboveBareMs: Summary;
  floorAboveBareMs: Summary;
  /** Inside the child: ms from process start until the bundle was loaded / the answer was ready. */
  oursLoadedMs: Summary;
  oursAnsweredMs: Summary;
  floorLoadedMs: Summary;
  floorAnsweredMs: Summary;
  /**
   * The same bundle with the shared tier on and a fresh token already in the table (the first,
   * unrecorded run put it there): spawn to exit, and inside the child from loaded to answered.
   */
  sharedHitMs: Summary;
  sharedHitVendMs: Summary;
  /** Today's first vend inside the child (secret read + Identity), loaded to answered. */
  oursVendMs: Summary;
  /** Identity calls made by the recorded shared-hit runs (goal 0). */
  sharedHitIdentityCalls: number;
}

export async function measureCold(bundles: Bundles, dir: string, runs: number): Promise<ColdResult> {
  // Ours is the deployed bundle imported by a tiny runner, as the Lambda runtime imports it.
  const runner = join(dir, 'ours.mjs');
  writeFileSync(
    runner,
    `const { handler } = await import('./handler.mjs');\nconst loadedMs = performance.now();\n` +
      `const r = await handler(${JSON.stringify(EVENT)}, { awsRequestId: 'cold' });\n` +
      `console.log('RESULT ' + JSON.stringify({ statusCode: r.statusCode, loadedMs, answeredMs: performance.now() }));\n`,
  );
  const emulators = await startDeclaredEmulators();
  const shared = await startSharedEmulators();
  // A fixed environment built from scratch, roughly what Lambda sets: nothing inherited from this
  // machine (NODE_EXTRA_CA_CERTS, NODE_OPTIONS) that would add start-up work Lambda does not do.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...emulators.env,
    BENCH_SECRET_ID: DECLARED.secretId,
  };
  // The deployed shared tier, pointed at dynalite and the KMS stand-in by the SDK's per-service endpoint variables.
  const sharedEnv: NodeJS.ProcessEnv = { ...env, ...shared.env, AWS_ENDPOINT_URL_DYNAMODB: shared.dynamo.endpoint, AWS_ENDPOINT_URL_KMS: shared.kms.endpoint };
  const kind = (args: string[], expect: boolean, kindEnv = env) => ({ args, expect, env: kindEnv, ms: [] as number[], results: [] as Array<Record<string, unknown>> });
  const kinds = { ours: kind([runner], true), floor: kind([bundles.floor], true), bare: kind(['-e', ''], false), sharedHit: kind([runner], true, sharedEnv) };
  let sharedHitIdentityCalls = 0;
  try {
    const order = Object.values(kinds);
    // One unrecorded run each warms the OS file cache (and puts the shared hits' token in the
    // table), then interleaved runs, rotating who goes first.
    for (const k of order) await timeProcess(k.args, k.env, k.expect);
    for (let r = 0; r < runs; r++) {
      for (let i = 0; i < order.length; i++) {
        const k = order[(i + r) % order.length] as (typeof order)[number];
        const before = emulators.identity.calls;
        const { ms, result } = await timeProcess(k.args, k.env, k.expect);
        if (k === kinds.sharedHit) sharedHitIdentityCalls += emulators.identity.calls - before;
        k.ms.push(ms);
        if (result) k.results.push(result);
      }
    }
  } finally {
    await Promise.all([emulators.close(), shared.dynamo.close(), shared.kms.close()]);
  }
  const vendMs = (rs: Array<Record<string, unknown>>) => summarize(rs.map((x) => Number(x.answeredMs) - Number(x.loadedMs)));
  const field = (rs: Array<Record<string, unknown>>, key: string) => summarize(rs.map((x) => Number(x[key])));
  return {
    oursMs: summarize(kinds.ours.ms),
    floorMs: summarize(kinds.floor.ms),
    bareMs: summarize(kinds.bare.ms),
    oursAboveBareMs: summarize(kinds.ours.ms.map((ms, r) => ms - (kinds.bare.ms[r] as number))),
    floorAboveBareMs: summarize(kinds.floor.ms.map((ms, r) => ms - (kinds.bare.ms[r] as number))),
    oursLoadedMs: field(kinds.ours.results, 'loadedMs'),
    oursAnsweredMs: field(kinds.ours.results, 'answeredMs'),
    floorLoadedMs: field(kinds.floor.results, 'loadedMs'),
    floorAnsweredMs: field(kinds.floor.results, 'answeredMs'),
    sharedHitMs: summarize(kinds.sharedHit.ms),
    sharedHitVendMs: vendMs(kinds.sharedHit.results),
    oursVendMs: vendMs(kinds.ours.results),
    sharedHitIdentityCalls,
  };
}
