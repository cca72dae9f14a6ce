// `rackspace-token`: a token for scheduled jobs and people, from the command line.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import packageJson from '../package.json' with { type: 'json' };
import { DEFAULT_SERVICE, FORMATS, isFormat, variables, type Format } from './formats.ts';
import { localHint } from './local-hint.ts';
// Types only: the client (signer, zod) loads after the command line is understood, so --help and
// usage errors answer at Node's own start-up speed.
import type { TokenAnswer, TokenClientOptions, TokenRequest } from './index.ts';

type Client = typeof import('./index.ts');

/**
 * Exit codes, one per class of failure, from sysexits.h so schedulers and shells already know them
 * (75 is "temporary failure: try again later" to cron, systemd and most CI retry rules).
 */
export const EXIT = {
  usage: 64, // EX_USAGE: the command line is wrong
  badRequest: 65, // EX_DATAERR: the service found a parameter malformed (400)
  notFound: 66, // EX_NOINPUT: no such service, region or interface (404), or ambiguous (409)
  upstreamRefused: 69, // EX_UNAVAILABLE: Identity refused the custodied credentials (502); retrying will not help
  internal: 70, // EX_SOFTWARE: the service failed unexpectedly (500) or answered something unreadable
  unavailable: 75, // EX_TEMPFAIL: 503 after one retry, or no answer; try again later
  forbidden: 77, // EX_NOPERM: the service (403 problem) or API Gateway (403) refused this caller
  config: 78, // EX_CONFIG: no URL, region or AWS credentials here
  // Not a sysexits code (64–78 all mean something else above); client/bin.mjs exits with it before
  // any of this file loads, so it keeps its own copy of the number.
  nodeTooOld: 79, // this Node is older than the CLI needs (22.18 from a checkout, 22 installed)
} as const;

const COMMON = {
  service: { type: 'string', short: 's' },
  region: { type: 'string', short: 'r' },
  interface: { type: 'string', short: 'i' },
  'service-version': { type: 'string' },
  'min-ttl': { type: 'string' },
  format: { type: 'string', short: 'f' },
  url: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const OPTIONS_HELP = `Options:
  -s, --service S     catalog service name or type (cloudFiles, object-store); none: token only
  -r, --region R      Rackspace region code (DFW, ord…), any case
  -i, --interface I   public (default) or internal (ServiceNet)
      --service-version V  the catalog's versionId, when the service lists several (query 'version')
      --min-ttl N     seconds the token must stay valid, 60-3600 (default 300)
      --url URL       the API's base URL (default: $RACKSPACE_TOKEN_URL)
  -h, --help          this help
AWS credentials and region come from the standard chain (AWS_PROFILE, environment, SSO,
container and instance roles); the signing region from an execute-api URL, else AWS_REGION.`;

const FORMAT_HELP = `  -f, --format F      the variables' names, for the client that reads them:
        rackspace (default)  AUTH_TOKEN, TENANT_ID, API_ENDPOINT (with --service), AUTH_TOKEN_EXPIRES
        swift                OS_AUTH_TOKEN, OS_STORAGE_URL
        rclone               RCLONE_SWIFT_AUTH_TOKEN, RCLONE_SWIFT_STORAGE_URL
        openstack            OS_AUTH_TYPE=token_endpoint, OS_TOKEN, OS_ENDPOINT
      swift, rclone and openstack ask for --service object-store (Cloud Files) unless given one.`;

const HELP: Record<string, string> = {
  main: `Usage: rackspace-token <command> PROFILE [options]

Commands:
  token PROFILE [options]             print the JSON answer (token, expiresAt, tenant, endpoint)
  env PROFILE [options]               print shell export lines: AUTH_TOKEN, TENANT_ID, API_ENDPOINT, AUTH_TOKEN_EXPIRES
  exec PROFILE [options] -- CMD ...   run CMD with those variables set; exits with its status
  admin put-key|flush|rotate|grant PROFILE   operators' commands (rackspace-token admin --help)

Run \`rackspace-token <command> --help\` for a command's options.
Exit codes: 64 usage, 65 bad request, 66 endpoint not found, 69 credentials refused upstream,
70 unexpected answer, 75 unavailable (try later), 77 forbidden, 78 configuration, 79 Node too old.`,
  token: `Usage: rackspace-token token PROFILE [options]\n\nPrints the service's JSON answer on stdout.\n\n${OPTIONS_HELP}`,
  env: `Usage: rackspace-token env PROFILE [options]\n\nPrints shell export lines, for eval "$(rackspace-token env PROFILE …)", in the names --format picks.\n\n${FORMAT_HELP}\n${OPTIONS_HELP}`,
  exec: `Usage: rackspace-token exec PROFILE [options] -- COMMAND [ARGS...]\n\nRuns COMMAND with the variables --format picks in its environment and exits with its\nstatus (128+N if a signal N ended it).\n\n${FORMAT_HELP}\n${OPTIONS_HELP}`,
};

class UsageError extends Error {}

/** Where the CLI writes; a test passes its own. The token only ever goes to `out` (or the child's environment). */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** The client's options beyond the URL (credentials, region) — the standard chain when absent. */
  client?: Partial<TokenClientOptions>;
}

/**
 * Runs one command line and resolves to the exit code.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), env: process.env });
 */
export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-V') {
    io.out(`${packageJson.version}\n`);
    return 0;
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(`${HELP.main}\n`);
    return command === undefined ? EXIT.usage : 0;
  }
  // The operators' commands live apart (client/admin.ts) and load only when asked for.
  if (command === 'admin') return (await import('./admin.ts')).admin(rest, io);
  if (!['token', 'env', 'exec'].includes(command)) {
    io.err(`rackspace-token: unknown command '${command}'\n\n${HELP.main}\n`);
    return EXIT.usage;
  }
  let lib: Client | null = null;
  let url: string | undefined;
  try {
    const dash = rest.indexOf('--');
    const own = dash === -1 ? rest : rest.slice(0, dash);
    const child = dash === -1 ? [] : rest.slice(dash + 1);
    const { values, positionals } = parseArgs({ args: own, options: COMMON, allowPositionals: true, strict: true });
    if (values.help) {
      io.out(`${HELP[command]}\n`);
      return 0;
    }
    const [profile, ...extra] = positionals;
    if (!profile) throw new UsageError('PROFILE is missing.');
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'${command === 'exec' ? ' (put the command after --)' : ''}.`);
    if (command === 'exec' && child.length === 0) throw new UsageError('exec needs a command after --.');
    if (command !== 'exec' && child.length > 0) throw new UsageError(`${command} takes no command after --.`);
    const format = toFormat(values.format, command);
    const request = toRequest({ service: DEFAULT_SERVICE[format], ...values });
    url = values.url ?? io.env.RACKSPACE_TOKEN_URL;
    if (!url) return fail(io, EXIT.config, 'No URL: pass --url or set RACKSPACE_TOKEN_URL.');

    lib = await import('./index.ts');
    const credentials = io.client?.credentials ?? (await standardChain(io.env));
    const client = lib.createTokenClient({ url, maxRetryWaitMs: 60_000, ...io.client, credentials });
    const answer = await client.getToken(profile, request);
    if (command === 'token') io.out(`${JSON.stringify(answer, null, 2)}\n`);
    else if (command === 'env') io.out(exportLines(variables(answer, format)));
    else return await run(child, { ...io.env, ...variables(answer, format) }, io);
    return 0;
  } catch (error) {
    return report(io, command, error, lib, localHint(error, url, io.env));
  }
}

function toFormat(text: string | undefined, command: string): Format {
  if (text === undefined) return 'rackspace';
  if (command === 'token') throw new UsageError('--format applies to env and exec; token prints the JSON answer.');
  if (!isFormat(text)) throw new UsageError(`--format must be ${FORMATS.join(', ')}, not '${text}'.`);
  return text;
}

function toRequest(values: { service?: string | undefined; region?: string | undefined; interface?: string | undefined; 'service-version'?: string | undefined; 'min-ttl'?: string | undefined }): TokenRequest {
  const request: TokenRequest = {};
  if (values['service-version'] !== undefined) request.version = values['service-version'];
  if (values.service !== undefined) request.service = values.service;
  if (values.region !== undefined) request.region = values.region;
  if (values.interface !== undefined) {
    if (values.interface !== 'public' && values.interface !== 'internal') throw new UsageError(`--interface must be public or internal, not '${values.interface}'.`);
    request.interface = values.interface;
  }
  if (values['min-ttl'] !== undefined) {
    if (!/^\d{1,5}$/.test(values['min-ttl'])) throw new UsageError(`--min-ttl must be whole seconds, not '${values['min-ttl']}'.`);
    request.minTtl = Number(values['min-ttl']);
  }
  return request;
}

/** POSIX single quotes: safe for any value in sh, bash, zsh and dash. */
const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

function exportLines(values: Record<string, string>): string {
  return Object.entries(values).map(([name, value]) => `export ${name}=${quote(value)}\n`).join('');
}

function run([command, ...args]: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command as string, args, { env, stdio: 'inherit' });
    child.once('error', (error: NodeJS.ErrnoException) => {
      io.err(`rackspace-token: cannot run '${command}': ${error.code ?? error.message}\n`);
      resolve(error.code === 'ENOENT' ? 127 : 126);
    });
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? signalNumber(signal) : 0)));
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 0;
}

/**
 * The AWS SDK's default provider chain, loaded only when the CLI runs (it is not part of the client).
 * Its first link, environment keys when no AWS_PROFILE names a profile, is taken here without
 * loading the chain: the same answer, a few hundred milliseconds sooner for every job.
 */
async function standardChain(env: NodeJS.ProcessEnv): Promise<NonNullable<TokenClientOptions['credentials']>> {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken, AWS_PROFILE: profile } = env;
  if (accessKeyId && secretAccessKey && !profile) return { accessKeyId, secretAccessKey, ...(sessionToken && { sessionToken }) };
  const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
  return defaultProvider();
}

function fail(io: Io, code: number, message: string): number {
  io.err(`rackspace-token: ${message}\n`);
  return code;
}

/**
 * The problem's title and detail on stderr — never the token, which no error carries — and, when
 * the caller's AWS setup is why a local gateway refused, a second line saying what to unset.
 */
function report(io: Io, command: string, error: unknown, lib: Client | null, hint: string | null): number {
  if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
    return fail(io, EXIT.usage, `${error.message} Run 'rackspace-token ${command} --help'.`);
  }
  return hint === null ? classify(io, error, lib) : classify({ ...io, err: (text) => io.err(`${text}rackspace-token: ${hint}\n`) }, error, lib);
}

function classify(io: Io, error: unknown, lib: Client | null): number {
  if (lib && error instanceof lib.TokenVendorError) {
    const { BadRequestError, ForbiddenError, GatewayError, EndpointNotFoundError, AmbiguousEndpointError, CredentialsUnusableError, UnavailableError } = lib;
    const where = error.status === 0 ? '' : ` (HTTP ${error.status})`;
    const line = `${error.title}${where}: ${error.detail}`;
    if (error instanceof BadRequestError) return fail(io, EXIT.badRequest, line);
    if (error instanceof ForbiddenError || (error instanceof GatewayError && error.status === 403)) return fail(io, EXIT.forbidden, line);
    if (error instanceof EndpointNotFoundError || error instanceof AmbiguousEndpointError) {
      const choices = error.problem.available ?? error.problem.candidates;
      return fail(io, EXIT.notFound, choices === undefined ? line : `${line}\n  ${error instanceof EndpointNotFoundError ? 'available' : 'candidates'}: ${JSON.stringify(choices)}`);
    }
    if (error instanceof CredentialsUnusableError) return fail(io, EXIT.upstreamRefused, line);
    if (error instanceof UnavailableError) {
      return fail(io, EXIT.unavailable, `${line}${error.retryAfterSeconds === null ? '' : ` (retry after ${error.retryAfterSeconds} s)`}`);
    }
    if (error.status === 0) return fail(io, EXIT.config, line);
    return fail(io, EXIT.internal, line);
  }
  // The SDK's credential chain found nothing, or the URL is not a URL: both are this machine's setup.
  const name = error instanceof Error ? error.name : '';
  if (name === 'CredentialsProviderError' || error instanceof TypeError) return fail(io, EXIT.config, error instanceof Error ? error.message : String(error));
  return fail(io, EXIT.internal, error instanceof Error ? error.message : String(error));
}
