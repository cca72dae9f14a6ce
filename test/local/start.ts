// `npm start`: the route on 127.0.0.1. By default against embedded Identity and Secrets Manager
// emulators with a demo profile; with USE_REAL_SERVICES=1, the deployed handler module itself,
// configured by the environment (IDENTITY_URL, AWS credentials and region) and infra/profiles.json.
import { serveLocally, CALLER_HEADER } from './http-adapter.ts';

const real = process.env.USE_REAL_SERVICES === '1';
const port = Number(process.env.PORT ?? 3000);

async function main(): Promise<void> {
  if (real) {
    const { handler } = await import('../../functions/token/handler.ts');
    const caller = process.env.LOCAL_CALLER_ARN ?? null;
    const server = await serveLocally(handler, { port, defaultCaller: caller });
    console.log(`rackspace-token-vendor (real services) on ${server.url}`);
    console.log(`Caller: ${caller ?? `none; set LOCAL_CALLER_ARN or send ${CALLER_HEADER}`}`);
    console.log(`Try:\n  curl -s '${server.url}/v1/profiles/PROFILE/token?service=cloudFiles&region=DFW'`);
    stopOn(server.close);
    return;
  }
  const { startDemo, DEMO_CALLER } = await import('./demo.ts');
  const demo = await startDemo();
  const server = await serveLocally(demo.handler, { port, defaultCaller: DEMO_CALLER });
  console.log(`rackspace-token-vendor on ${server.url} (local emulators: Identity ${demo.identity.url}, Secrets Manager ${demo.secrets.endpoint})`);
  console.log(`Try:\n  curl -s '${server.url}/v1/profiles/demo/token?service=cloudFiles&region=dfw&interface=internal'`);
  console.log(`Calls arrive as ${DEMO_CALLER}; another caller (local only), which gets 403:`);
  console.log(`  curl -s -H '${CALLER_HEADER}: arn:aws:sts::000000000000:assumed-role/someone-else/you' '${server.url}/v1/profiles/demo/token'`);
  stopOn(async () => {
    await server.close();
    await demo.close();
  });
}

function stopOn(close: () => Promise<void>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void close().then(() => process.exit(0)));
}

await main();
