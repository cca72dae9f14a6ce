// The demo with the fault proxy (proxy.ts) in front of every dependency: the wire fault rows and the soak run on it.
import { dynamoClient, kmsClient } from '../../functions/adapters/shared-clients.ts';
import type { AppDeps } from '../../functions/token/app.ts';
import { LOCAL_CREDENTIALS } from '../emulators/dynamodb.ts';
import { DEMO_USER } from '../emulators/identity.ts';
import { DEMO_SECRET_ID, startDemo, type DemoOptions } from '../local/demo.ts';
import { fakeClock } from '../support/clock.ts';
import { BUDGET } from './matrix.ts';
import { startFaultProxy, type FaultProxy } from './proxy.ts';

export type ProxyName = 'dynamo' | 'kms' | 'secrets' | 'identity';

/**
 * Real-time limits of the AWS clients in these rows: short, so a held answer costs half a
 * second of real time, not the deployed second (not shorter: a loaded machine must not time out a call that passes). Identity's timeout is on the fake clock (BUDGET).
 */
export const WIRE_TIMEOUTS = { connectMs: 500, requestMs: 500 };

/**
 * The demo with a fault proxy in front of every dependency: Identity (the secret's identityUrl and
 * IDENTITY_URL), Secrets Manager, DynamoDB and KMS. `instance(id)` is one more execution
 * environment wired through the proxies. Also used by the soak (test/faults/soak.ts).
 */
export interface ProxiedDemoOptions {
  /** A fake clock (default: a fresh one); `null` for real time, as the soak runs. */
  clock?: ReturnType<typeof fakeClock> | null;
  /** The AWS clients' connect and request limits (default {@link WIRE_TIMEOUTS}). */
  timeouts?: typeof WIRE_TIMEOUTS;
  env?: Record<string, string>;
  /** Identity emulator options (more users, a shorter token lifetime). */
  identity?: DemoOptions['identity'];
  /** Handler dependencies for every instance (more profiles, say). */
  deps?: Partial<AppDeps>;
  /** Keep the log lines in `logs` (default); a soak drops them, or they are most of its memory growth. */
  keepLogs?: boolean;
}

export async function startProxiedDemo(options: ProxiedDemoOptions = {}) {
  const clock = options.clock === null ? undefined : (options.clock ?? fakeClock());
  const timeouts = options.timeouts ?? WIRE_TIMEOUTS;
  const logs: string[] = [];
  let demo: Awaited<ReturnType<typeof startDemo>> | undefined;
  const origin = (url: string | undefined) => new URL(url ?? 'http://127.0.0.1:9').origin;
  const [identity, secrets, dynamo, kms] = await Promise.all([
    // Only Identity's timeout runs on the fake clock, so only its proxy moves the clock while it holds an answer.
    startFaultProxy({ target: () => origin(demo?.identity.url), ...(clock && { time: clock }) }),
    startFaultProxy({ target: () => origin(demo?.secrets.endpoint) }),
    startFaultProxy({ target: () => origin(demo?.shared?.dynamo.endpoint) }),
    startFaultProxy({ target: () => origin(demo?.shared?.kms.endpoint) }),
  ]);
  const proxies: Record<ProxyName, FaultProxy> = { identity, secrets, dynamo, kms };
  const env: Record<string, string> = { ...BUDGET, ...options.env };
  demo = await startDemo({
    env,
    ...(clock && { clock }),
    sink: options.keepLogs === false ? () => {} : (line) => void logs.push(line),
    deps: { random: () => 0.5, ...options.deps },
    ...(options.identity && { identity: options.identity }),
    secretsEndpoint: secrets.origin,
    secretsTimeouts: timeouts,
  });
  const identityUrl = identity.via(demo.identity.url);
  env.IDENTITY_URL = identityUrl;
  demo.secrets.putSecret(DEMO_SECRET_ID, JSON.stringify({ username: DEMO_USER.username, apiKey: DEMO_USER.apiKey, identityUrl }));
  const local = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS };
  const clients = { dynamoClient: dynamoClient({ ...local, endpoint: dynamo.origin }, timeouts), kmsClient: kmsClient({ ...local, endpoint: kms.origin }, timeouts) };
  const started = demo;
  return {
    demo: started,
    clock,
    proxies,
    logs,
    instance: (instanceId: string, deps: Partial<AppDeps> = {}) => started.instance({ ...clients, instanceId, ...deps }),
    async close() {
      clients.dynamoClient.destroy();
      clients.kmsClient.destroy();
      await Promise.all(Object.values(proxies).map((p) => p.close()));
      await started.close();
    },
  };
}
