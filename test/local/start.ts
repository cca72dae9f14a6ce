// `npm start`: the route on 127.0.0.1 behind a local gateway that checks SigV4 like API Gateway's
// IAM authorization. By default against embedded Identity and Secrets Manager emulators with a demo
// profile; with USE_REAL_SERVICES=1, the deployed handler module itself, configured by the
// environment (IDENTITY_URL, AWS credentials and region) and infra/profiles.json.
import { loadOrCreateCredentials } from './credentials.ts';
import { serveLocally } from './http-adapter.ts';
import type { LocalKey } from './sigv4.ts';
import { environmentNotes, readStartSettings, startFailure, type StartSettings } from './start-env.ts';

/** POSIX single quotes: the printed lines paste into any sh-like shell as they are. */
const q = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

async function main({ port, real, caller: fixedCaller, credentialsFile, shared }: StartSettings): Promise<void> {
  const credentials = loadOrCreateCredentials(credentialsFile);
  const keys = new Map(credentials.keys.map((key) => [key.accessKeyId, key]));
  const [first, second] = credentials.keys as [LocalKey, ...LocalKey[]];
  const signing = `aws:amz:${credentials.region}:execute-api`;
  const curl = (key: LocalKey, url: string) => `curl -s --aws-sigv4 ${q(signing)} --user ${q(`${key.accessKeyId}:${key.secretAccessKey}`)} ${q(url)}`;

  let server: Awaited<ReturnType<typeof serveLocally>>;
  let close: () => Promise<void>;
  let tryUrl: string;
  let operators: Record<string, string> | null = null;
  if (real) {
    // Real tokens: the caller is fixed at start, never chosen per request.
    const caller = fixedCaller as string;
    const { handler } = await import('../../functions/token/handler.ts');
    server = await serveLocally(handler, { port, keys, region: credentials.region, fixedCaller: caller });
    close = server.close;
    tryUrl = `${server.url}/v1/profiles/PROFILE/token?region=DFW&service=cloudFiles`;
    console.log(`rackspace-token-vendor (real services) on ${server.url}`);
    console.log(`Every request signed with a key from ${credentials.path} acts as ${caller}.`);
  } else {
    const { startDemo } = await import('./demo.ts');
    // FLEET_TABLE= (empty) turns the shared tier off, as --param=sharedTier=off does when deployed.
    const demo = await startDemo(shared ? {} : { shared: false });
    server = await serveLocally(demo.handler, { port, keys, region: credentials.region });
    // `rackspace-token admin …` against the demo: local CloudFormation, Lambda and rotation.
    const { startOperatorStandIns } = await import('./operators.ts');
    const ops = await startOperatorStandIns(demo, { apiUrl: server.url });
    operators = ops.env;
    close = async () => {
      await server.close();
      await ops.close();
      await demo.close();
    };
    // Query keys in sorted order: curl before 8.x signs the query as written, not sorted as SigV4
    // requires, so any other order is refused (by API Gateway too).
    tryUrl = `${server.url}/v1/profiles/demo/token?interface=internal&region=dfw&service=cloudFiles`;
    console.log(`rackspace-token-vendor on ${server.url} (local emulators: Identity ${demo.identity.url}, Secrets Manager ${demo.secrets.endpoint}${demo.shared ? `, shared tier: DynamoDB (dynalite) ${demo.shared.dynamo.endpoint}, KMS ${demo.shared.kms.endpoint}` : ''})`);
  }
  console.log(`Requests must be signed with SigV4 (service execute-api, region ${credentials.region}), as for the deployed REST API.`);
  console.log(`Local callers, from ${credentials.path}${credentials.created ? ' (just created; git-ignored)' : ''}:`);
  for (const key of credentials.keys) console.log(`  ${key.accessKeyId}  ${key.arn}`);
  console.log("For any SDK, awscurl or npx rackspace-token, in the caller's shell (the server's own AWS variables stay as they are):");
  console.log(`  export AWS_ACCESS_KEY_ID=${q(first.accessKeyId)}`);
  console.log(`  export AWS_SECRET_ACCESS_KEY=${q(first.secretAccessKey)}`);
  console.log(`  export AWS_REGION=${q(credentials.region)}`);
  console.log(`  export RACKSPACE_TOKEN_URL=${q(server.url)}`);
  for (const note of environmentNotes(process.env, credentials.region)) console.log(`  Note: ${note}`);
  console.log(`Try (curl 7.75 or later signs SigV4 itself):\n  ${curl(first, tryUrl)}`);
  if (!real) {
    console.log(`  npx rackspace-token env demo --service cloudFiles --region dfw --interface internal`);
    if (second) console.log(`As ${second.arn}, which the demo profile refuses (403 problem+json):\n  ${curl(second, tryUrl)}`);
  }
  if (operators) {
    console.log('Operators: rackspace-token admin against local CloudFormation, Lambda and Secrets Manager (these also redirect the aws CLI in that shell):');
    for (const [name, value] of Object.entries(operators)) console.log(`  export ${name}=${q(value)}`);
    console.log(`  npx rackspace-token admin flush demo --stage local --reason ${q('trying it')}`);
    console.log('  npx rackspace-token admin rotate demo --stage local');
  }
  console.log(`Unsigned, refused by the gateway (403 Missing Authentication Token):\n  curl -s ${q(tryUrl)}`);
  stopOn(close);
}

function stopOn(close: () => Promise<void>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void close().then(() => process.exit(0)));
}

// One line and an exit code for anything that stops the start: a busy PORT, a bad setting, an
// unreadable credentials file. Node's stack trace helps no one who just ran `npm start`.
let settings: StartSettings | null = null;
try {
  settings = readStartSettings(process.env);
  await main(settings);
} catch (error) {
  const { line, exitCode } = startFailure(error, settings);
  process.stderr.write(`npm start: ${line}\n`);
  process.exit(exitCode);
}
