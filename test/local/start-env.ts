// `npm start`'s settings, read once from the environment, and the one-line refusals it prints
// instead of a stack trace: a newcomer's first hour should end in a line that says what to change.

/** `npm start` exits with 78 (EX_CONFIG) when a setting is wrong, 70 (EX_SOFTWARE) for anything else. */
export const START_EXIT = { config: 78, software: 70 } as const;

/** A refusal whose message is the one line to print. */
export class StartError extends Error {}

export interface StartSettings {
  /** 0 picks a free port. */
  port: number;
  real: boolean;
  /** With `real`: the caller every signed request acts as. */
  caller: string | undefined;
  credentialsFile: string | undefined;
  shared: boolean;
}

const ASSUMED_ROLE = /^arn:aws[a-z-]*:sts::\d{12}:assumed-role\/[\w+=,.@-]+\/[\w+=,.@-]+$/;

/**
 * @example
 * readStartSettings({ PORT: '3001' }) // { port: 3001, real: false, … }
 * readStartSettings({ PORT: 'http' }) // throws StartError("PORT must be a port number, 0-65535 …")
 */
export function readStartSettings(env: NodeJS.ProcessEnv): StartSettings {
  const portText = env.PORT ?? '3000';
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65_535) {
    throw new StartError(`PORT must be a port number, 0-65535 (0: any free port), not '${portText.slice(0, 40)}'.`);
  }
  const realText = env.USE_REAL_SERVICES ?? '';
  if (!['', '0', '1'].includes(realText)) throw new StartError(`USE_REAL_SERVICES must be 1 (real Identity and Secrets Manager) or unset, not '${realText.slice(0, 40)}'.`);
  const real = realText === '1';
  const caller = env.LOCAL_CALLER_ARN || undefined;
  if (real && caller === undefined) {
    throw new StartError('USE_REAL_SERVICES=1 needs LOCAL_CALLER_ARN=arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION: every signed request acts as that caller.');
  }
  if (real && caller !== undefined && !ASSUMED_ROLE.test(caller)) {
    throw new StartError(`LOCAL_CALLER_ARN must be an assumed-role ARN, arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION, not '${caller.slice(0, 120)}'.`);
  }
  // FLEET_TABLE= (empty) turns the shared tier off, as --param=sharedTier=off does when deployed.
  return { port: Number(portText), real, caller, credentialsFile: env.LOCAL_CREDENTIALS_FILE || undefined, shared: env.FLEET_TABLE !== '' };
}

/** Node's error codes that mean a setting is wrong (a port, a file), not our code. */
const SETTING_CODES = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', 'ENOENT', 'EISDIR', 'EPERM']);

/**
 * The one line for a failure at start, naming the setting to change when there is one, and the
 * exit code: 78 for a setting (ours, the handler's "Invalid configuration", a port, a file), else 70.
 */
export function startFailure(error: unknown, settings: Pick<StartSettings, 'port'> | null): { line: string; exitCode: number } {
  const config = (line: string) => ({ line, exitCode: START_EXIT.config });
  if (error instanceof StartError) return config(error.message);
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const port = settings?.port;
  if (code === 'EADDRINUSE') return config(`Port ${port} is in use (another npm start?): stop it, or set PORT to a free port (PORT=${(port ?? 3000) + 1} npm start; PORT=0 picks one).`);
  if (code === 'EACCES' && port !== undefined && port < 1024) return config(`Port ${port} needs privileges: set PORT to 1024 or above (PORT=3000 npm start).`);
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split('\n')[0] ?? message;
  return SETTING_CODES.has(code ?? '') || line.startsWith('Invalid configuration:') ? config(line) : { line, exitCode: START_EXIT.software };
}

/**
 * Lines for the banner when the server's own shell has AWS settings that would beat the printed
 * export lines in a caller's shell opened the same way: AWS_PROFILE makes the SDK's chain skip the
 * keys, and another region gets a signature-scope 403.
 */
export function environmentNotes(env: NodeJS.ProcessEnv, region: string): string[] {
  const notes: string[] = [];
  if (env.AWS_PROFILE) {
    notes.push(`AWS_PROFILE=${env.AWS_PROFILE} is set here: with it the AWS SDK and rackspace-token ignore the keys above. In the caller's shell: unset AWS_PROFILE`);
  }
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION']) {
    const value = env[name];
    if (value && value !== region) {
      notes.push(`${name}=${value} is set here, but this gateway verifies ${region}: in the caller's shell, export AWS_REGION as above${name === 'AWS_DEFAULT_REGION' ? ` or unset ${name}` : ''}`);
    }
  }
  return notes;
}
