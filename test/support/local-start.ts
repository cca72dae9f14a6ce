import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { observe } from './leak-guard.ts';

/** The banner's last lines: the unsigned call and the line after it. */
export const BANNER_END = /Unsigned.*\n.*\n/;

/** A credentials file path of its own, so parallel runs and a developer's own file never meet. */
export const freshCredentialsFile = () => join(mkdtempSync(join(tmpdir(), 'rtv-start-')), 'credentials.json');

/**
 * `npm start`'s script on this Node, on a free port, with extra environment; resolves with what it
 * printed once `ready` matches (also when it then exits), and is stopped by `stops` in an after hook.
 *
 * @example
 * const stops: Stops = [];
 * after(() => Promise.all(stops.splice(0).map((stop) => stop())));
 * const { printed } = await startLocal(stops, { LOCAL_CREDENTIALS_FILE: freshCredentialsFile() });
 */
export async function startLocal(stops: Stops, env: NodeJS.ProcessEnv, { ready = BANNER_END, script = 'test/local/start.ts' } = {}): Promise<{ printed: string; exit: Promise<unknown[]> }> {
  const child = spawn(process.execPath, [script], { env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = once(child, 'exit');
  stops.push(() => (child.kill('SIGTERM'), exit));
  // Keep reading after the banner: the audit lines follow on the same stdout.
  let printed = '';
  await new Promise<void>((resolve, reject) => {
    const read = (chunk: Buffer) => {
      printed += String(chunk);
      observe('npm start output', String(chunk));
      if (ready.test(printed)) resolve();
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => (ready.test(printed) ? resolve() : reject(new Error(`npm start exited (${code}) after printing:\n${printed}`))));
  });
  return { printed, exit };
}

export type Stops = Array<() => Promise<unknown>>;
