import { call } from '../support/events.ts';
import { startRotationRig, type RotationRigOptions } from '../support/rotation-rig.ts';
import { DEMO_USER } from '../emulators/identity.ts';

export const SCENARIOS = ['plain', 'put-fails-twice', 'step-invoked-twice', 'crash-after-reset', 'rotate-twice-at-once'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface Summary {
  scenario: Scenario;
  vends: number;
  failed: number;
  /** Vends from new environments made between steps (nothing cached: they read the secret and authenticate). */
  coldVends: number;
  identityAcceptsCurrent: boolean;
  oldKeyRefused: boolean;
  resets: number;
  /** Each invocation of the rotation function: `step:outcome` from its audit line. */
  steps: string[];
  /** From the reset's answer to the put of AWSPENDING: the span in which a new environment still fails. */
  windowMs: number | null;
}

const isPendingPut = (input: Record<string, unknown>) => JSON.stringify(input.VersionStages) === '["AWSPENDING"]';

/**
 * One rotation through RotateSecret and the real SDK, while `callers` environments vend in a loop
 * (warm: their cached token) and, after every step that succeeded, `coldPerStep` new environments
 * vend once (cold: they read the secret and authenticate, so they meet whatever the step left).
 *
 * @example
 * const summary = await runScenario('put-fails-twice', { callers: 50 });
 */
export async function runScenario(scenario: Scenario, options: { callers?: number; coldPerStep?: number; invocationTimeoutMs?: number } = {}): Promise<Summary> {
  const callers = options.callers ?? 50;
  const coldPerStep = options.coldPerStep ?? 10;
  let resetAt: number | null = null;
  let pendingAt: number | null = null;
  let crashes = scenario === 'crash-after-reset' ? 1 : 0;
  // rotate-twice-at-once: a second rotate-secret while the first rotation's createSecret is about to
  // reset; the first reset waits until the second rotation's createSecret has ended (both read the old key).
  let second: Promise<unknown> | undefined;
  let secondCreated: (() => void) | undefined;
  const statuses: number[] = [];
  let coldVends = 0;
  const rigRef: { current?: Awaited<ReturnType<typeof startRotationRig>> } = {};
  const rigOptions: RotationRigOptions = {
    realSleep: true,
    invocationsPerStep: scenario === 'step-invoked-twice' ? 2 : 1,
    invocationTimeoutMs: options.invocationTimeoutMs ?? 2_000,
    fetch: (inner) => async (input, init) => {
      if (scenario === 'rotate-twice-at-once' && !second && String(input).endsWith('/RAX-AUTH/reset')) {
        const created = new Promise<void>((resolve) => (secondCreated = resolve));
        second = rigRef.current?.rotate().catch(() => undefined);
        await created;
      }
      const response = await inner(input, init);
      if (String(input).endsWith('/RAX-AUTH/reset')) {
        resetAt = performance.now();
        // The invocation hangs after the reset until Lambda's timeout ends it: it never puts the key.
        if (crashes-- > 0) await new Promise(() => {});
      }
      return response;
    },
    afterInvocation: async (event, failed) => {
      if (event.Step === 'createSecret') secondCreated?.();
      if (failed || !rigRef.current) return;
      const rig = rigRef.current;
      const cold = await Promise.all(Array.from({ length: coldPerStep }, () => rig.coldVend()));
      statuses.push(...cold);
      coldVends += cold.length;
    },
  };
  const rig = await startRotationRig(rigOptions);
  rigRef.current = rig;
  rig.client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'PutSecretValueCommand' && isPendingPut(args.input as Record<string, unknown>)) pendingAt ??= performance.now();
      return result;
    },
    { step: 'initialize', name: 'recordPendingPut' },
  );
  try {
    if (scenario === 'put-fails-twice') {
      rig.secrets.injectFaults(
        { type: 'InternalServiceError', operation: 'PutSecretValue', when: isPendingPut },
        { type: 'ThrottlingException', operation: 'PutSecretValue', when: isPendingPut },
      );
    }
    const environments = Array.from({ length: callers }, () => rig.vendingEnvironment());
    for (const status of await Promise.all(environments.map((handler) => call(handler)))) statuses.push(status.statusCode);
    let done = false;
    const loops = environments.map(async (handler) => {
      while (!done) {
        statuses.push((await call(handler)).statusCode);
        // A cached answer needs no I/O: yield, or the rotation's own requests would starve.
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    await rig.rotate();
    await rig.secrets.rotationsSettled();
    await second;
    await rig.secrets.rotationsSettled();
    if (scenario === 'crash-after-reset') {
      // What the next schedule, or an operator's rotate-secret, does: the same rotation, re-attempted.
      await rig.rotate().catch(() => undefined);
      await rig.secrets.rotationsSettled();
    }
    done = true;
    await Promise.all(loops);
    const current = rig.valueAt('AWSCURRENT')?.apiKey ?? '';
    return {
      scenario,
      vends: statuses.length,
      failed: statuses.filter((status) => status !== 200).length,
      coldVends,
      identityAcceptsCurrent: (await rig.identityStatus(current)) === 200,
      oldKeyRefused: current !== DEMO_USER.apiKey && (await rig.identityStatus(DEMO_USER.apiKey as string)) === 401,
      resets: rig.identity.requests.reset,
      steps: rig.audit().map((line) => `${String(line.rotation.step)}:${String(line.rotation.outcome)}`),
      windowMs: resetAt !== null && pendingAt !== null ? Math.round((pendingAt as number) - (resetAt as number)) : null,
    };
  } finally {
    await rig.close();
  }
}
