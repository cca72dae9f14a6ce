import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as z from 'zod/mini';
import type { LocalKey } from './sigv4.ts';
import { StartError } from './start-env.ts';

/** Where `npm start` keeps its local keys (git-ignored); `LOCAL_CREDENTIALS_FILE` points elsewhere. */
export const DEFAULT_CREDENTIALS_FILE = fileURLToPath(new URL('./credentials.local.json', import.meta.url));

const ASSUMED_ROLE = /^arn:aws[a-z-]*:sts::\d{12}:assumed-role\/[\w+=,.@-]+\/[\w+=,.@-]+$/;

const File = z.object({
  region: z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/)),
  keys: z.array(
    z.object({
      accessKeyId: z.string().check(z.regex(/^[A-Z0-9]{16,128}$/)),
      secretAccessKey: z.string().check(z.minLength(16)),
      arn: z.string().check(z.regex(ASSUMED_ROLE)),
    }),
  ).check(z.minLength(1)),
});
export type LocalCredentials = z.infer<typeof File>;

/** The callers a fresh file holds: one the demo profile allows, one it does not. */
export const SEEDED_CALLERS = [
  'arn:aws:sts::000000000000:assumed-role/local-caller/you',
  'arn:aws:sts::000000000000:assumed-role/someone-else/you',
] as const;

/**
 * Reads the local credentials file, creating it (mode 0600) with fresh random keys on first use.
 * The keys mean something only to `npm start`'s gateway: they are not AWS keys and reach nothing else.
 * Add entries by hand to try more callers.
 *
 * @example
 * const { region, keys } = loadOrCreateCredentials(process.env.LOCAL_CREDENTIALS_FILE);
 */
export function loadOrCreateCredentials(path: string = DEFAULT_CREDENTIALS_FILE): LocalCredentials & { path: string; created: boolean } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new StartError(`${path} cannot be read (${code}): point LOCAL_CREDENTIALS_FILE at a file npm start may read and write.`, { cause: error });
    const fresh: LocalCredentials = { region: 'us-east-1', keys: SEEDED_CALLERS.map((arn) => ({ ...newKey(), arn })) };
    // 'wx': never overwrite a file another `npm start` created a moment ago.
    try {
      writeFileSync(path, `${JSON.stringify(fresh, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      return { ...fresh, path, created: true };
    } catch (raced) {
      const code = (raced as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new StartError(`${path} cannot be created (${code}): point LOCAL_CREDENTIALS_FILE at a file in a writable directory.`, { cause: raced });
      text = readFileSync(path, 'utf8');
    }
  }
  const json = parseJson(text);
  const parsed = File.safeParse(json);
  if (!parsed.success) {
    const problems = json === undefined ? 'not JSON' : z.prettifyError(parsed.error).replace(/\s*\n\s*/g, ' ');
    throw new StartError(`${path} is not a local credentials file (${problems}); delete it and npm start writes a new one.`);
  }
  return { ...parsed.data, path, created: false };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Shaped like AWS keys (20-character id, 40-character secret) so tools that check the shape accept them. */
function newKey(): Omit<LocalKey, 'arn'> {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const id = [...randomBytes(13)].map((byte) => alphabet[byte % 32]).join('');
  return { accessKeyId: `AKLOCAL${id}`.slice(0, 20), secretAccessKey: randomBytes(30).toString('base64').replace(/[+/]/g, 'x') };
}
