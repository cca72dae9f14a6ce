// `rackspace-token admin …`: the operators' commands. Same conventions as the callers' commands
// (client/cli.ts): sysexits exit codes, `--help` per command, one line on error, no stack traces.
import { parseArgs } from 'node:util';
import { AdminError, adminCredentials, awsFailure, findStack, type AwsSettings } from './admin-aws.ts';
import type { KeyInput } from './admin-input.ts';
import { EXIT, type Io } from './cli.ts';

export interface AdminIo extends Io {
  /** Where put-key reads the key; the process's stdin (or a no-echo prompt on a terminal) when absent. */
  input?: KeyInput;
}

const WHERE = `Where the stack is (its outputs name the function, the secrets and the API):
      --stage S       the stage it was deployed with (default dev); the stack is rackspace-token-vendor-S
      --stack NAME    another stack name
  -r, --region R      its region (default: $AWS_REGION, $AWS_DEFAULT_REGION)
  -h, --help          this help
AWS credentials come from the standard chain; AWS_ENDPOINT_URL_<SERVICE> is honoured (npm start prints them).`;

const HELP: Record<string, string> = {
  admin: `Usage: rackspace-token admin <command> PROFILE [options]

Commands for the operators of a deployed stack:
  put-key PROFILE                  store the profile's key (from stdin or a no-echo prompt, never an argument)
  flush PROFILE --reason TEXT      revoke the profile's token at Rackspace and drop it fleet-wide
  rotate PROFILE                   start a rotation of the profile's key now
  grant PROFILE --role ARN         print what a caller's role needs to use the profile

Run \`rackspace-token admin <command> --help\` for a command's options.
Exit codes: 0 done, 64 usage, 65 bad input, 66 no such stack/profile/secret, 69 credentials refused
upstream, 70 unexpected failure, 75 try again later, 77 AWS refused these credentials, 78 configuration.`,
  'put-key': `Usage: rackspace-token admin put-key PROFILE [options] < secret

Writes the profile's secret (PutSecretValue) after checking it as the function does. Input, on stdin
or typed at a prompt that does not echo: the secret's JSON ({"username":…,"apiKey":…}), or the API
key alone, completed with the fields below or the ones the secret already holds. Never pass the key
as an argument: arguments show in \`ps\` and stay in shell history.
      --username U        the Rackspace user (a bare key; default: the secret's)
      --tenant-id ID      or --tenant-name NAME (a bare key; default: the secret's)
      --identity-url URL  (a bare key; default: the secret's, else the function's)
${WHERE}`,
  flush: `Usage: rackspace-token admin flush PROFILE --reason TEXT [options]

Invokes the token function's operator flush: revokes the profile's token at Rackspace, then drops it
fleet-wide; prints the outcome and each token's fingerprint. Exit 0 when done, 75 when Identity did not
confirm (nothing was dropped: run it again), 66 for an undeclared profile.
      --reason TEXT   why, for the audit line (up to 200 characters)
${WHERE}`,
  rotate: `Usage: rackspace-token admin rotate PROFILE [options]

Starts a rotation of the profile's key now (RotateSecret), with the rotation the stack configured
("rotateEveryDays"); says so when the profile has none or no key yet.
${WHERE}`,
  grant: `Usage: rackspace-token admin grant PROFILE --role ARN [options]

Prints the IAM statement the caller's role needs (execute-api:Invoke on the profile's route) and the
"allow" entry the operators add to infra/profiles.json. Reads the stack's outputs; changes nothing.
      --role ARN      the caller's IAM role, arn:aws:iam::ACCOUNT:role/NAME
${WHERE}`,
};

const OPTIONS = {
  stage: { type: 'string' },
  stack: { type: 'string' },
  region: { type: 'string', short: 'r' },
  help: { type: 'boolean', short: 'h' },
  reason: { type: 'string' },
  role: { type: 'string' },
  username: { type: 'string' },
  'tenant-id': { type: 'string' },
  'tenant-name': { type: 'string' },
  'identity-url': { type: 'string' },
} as const;

/** Which options each command takes (beyond stage, stack, region and help). */
const OWN: Record<string, ReadonlyArray<keyof typeof OPTIONS>> = {
  'put-key': ['username', 'tenant-id', 'tenant-name', 'identity-url'],
  flush: ['reason'],
  rotate: [],
  grant: ['role'],
};

const KEY_OPTION = /^--?(api-?key|key|password|secret)(=|$)/i;
// functions/core/profiles.ts's rule for a profile name.
const PROFILE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
// A Rackspace API key is 32 hex digits; also refused where PROFILE goes.
const KEY_LIKE = /^[0-9a-f]{32}$/i;
const ARGV_KEY = "put-key never takes the key as an argument (arguments show in `ps` and stay in shell history): pipe it on stdin or type it at the prompt. Nothing was written.";

/**
 * Runs `admin <command> …` and resolves to the exit code.
 *
 * @example
 * await admin(['flush', 'billing', '--reason', 'token in a ticket', '--stage', 'prod'], io);
 */
export async function admin(argv: string[], io: AdminIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(`${HELP.admin}\n`);
    return command === undefined ? EXIT.usage : 0;
  }
  const own = OWN[command];
  if (!own) return line(io, EXIT.usage, `unknown admin command '${command}'. Run 'rackspace-token admin --help'.`);
  try {
    if (command === 'put-key' && rest.some((arg) => KEY_OPTION.test(arg))) throw new AdminError(EXIT.usage, ARGV_KEY);
    const { values, positionals } = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true });
    if (values.help) {
      io.out(`${HELP[command]}\n`);
      return 0;
    }
    const [profile, ...extra] = positionals;
    // Whatever stands where PROFILE goes in put-key may be the key itself: refused, never repeated.
    if (command === 'put-key' && (extra.length > 0 || (profile !== undefined && (KEY_LIKE.test(profile) || !PROFILE_NAME.test(profile))))) throw new AdminError(EXIT.usage, ARGV_KEY);
    if (!profile) throw new AdminError(EXIT.usage, `PROFILE is missing. Run 'rackspace-token admin ${command} --help'.`);
    if (!PROFILE_NAME.test(profile)) throw new AdminError(EXIT.usage, 'PROFILE is a profile name: 1-64 lower-case letters, digits, - or _.');
    if (extra.length > 0) throw new AdminError(EXIT.usage, `${command} takes one PROFILE; unexpected '${extra[0]}'.`);
    const stray = (Object.keys(values) as Array<keyof typeof OPTIONS>).find((name) => !['stage', 'stack', 'region', 'help', ...own].includes(name));
    if (stray) throw new AdminError(EXIT.usage, `${command} takes no --${stray}. Run 'rackspace-token admin ${command} --help'.`);
    if (command === 'flush' && !values.reason?.trim()) throw new AdminError(EXIT.usage, 'flush needs --reason TEXT: it goes into the audit line.');
    if (command === 'flush' && (values.reason ?? '').length > 200) throw new AdminError(EXIT.usage, '--reason is at most 200 characters.');
    if (command === 'grant' && !values.role) throw new AdminError(EXIT.usage, "grant needs --role ARN, the caller's IAM role.");
    const stage = values.stage ?? 'dev';
    if (!/^[A-Za-z0-9-]{1,64}$/.test(stage)) throw new AdminError(EXIT.usage, '--stage is letters, digits and - only.');
    const region = values.region ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
    if (!region) throw new AdminError(EXIT.config, 'No region: pass --region or set AWS_REGION.');

    // put-key reads its input before any AWS call, so a prompt comes first, as people expect.
    const text = command === 'put-key' ? await readKey(io, profile) : '';
    const aws: AwsSettings = { region, env: io.env, credentials: io.client?.credentials ?? (await adminCredentials(io.env)) };
    const stack = await findStack(aws, values.stack ?? `rackspace-token-vendor-${stage}`);
    const commands = await import('./admin-commands.ts');
    if (command === 'put-key') {
      return print(io, await commands.putKey(aws, stack, profile, text, { username: values.username, tenantId: values['tenant-id'], tenantName: values['tenant-name'], identityUrl: values['identity-url'] }));
    }
    if (command === 'flush') {
      const { code, lines } = await commands.flush(aws, stack, profile, (values.reason ?? '').trim());
      if (code === 0) return print(io, lines);
      io.err(`${lines.map((l) => `rackspace-token: ${l.trim()}`).join('\n')}\n`);
      return code;
    }
    if (command === 'rotate') return print(io, await commands.rotate(aws, stack, profile));
    return print(io, commands.grant(aws, stack, profile, values.role ?? '', stage));
  } catch (error) {
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      return line(io, EXIT.usage, `${error.message.split('\n')[0]} Run 'rackspace-token admin ${command} --help'.`);
    }
    const failure = awsFailure(error);
    return line(io, failure.code, failure.message);
  }
}

async function readKey(io: AdminIo, profile: string): Promise<string> {
  const input = io.input ?? (await import('./admin-input.ts')).processInput();
  return input.isTTY ? input.prompt(`API key (or the secret's JSON) for profile '${profile}', not echoed: `) : input.read();
}

function print(io: Io, lines: string[]): number {
  io.out(`${lines.join('\n')}\n`);
  return 0;
}

function line(io: Io, code: number, message: string): number {
  io.err(`rackspace-token: ${message}\n`);
  return code;
}
