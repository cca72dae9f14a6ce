// How put-key receives a key: piped on stdin, or typed at a prompt that does not echo. Never argv.
import { AdminError } from './admin-aws.ts';
import { EXIT } from './cli.ts';

/** Where put-key reads the secret from; a test passes its own. */
export interface KeyInput {
  /** A person at a terminal: prompt for the key without echo. Otherwise read stdin to its end. */
  isTTY: boolean;
  read(): Promise<string>;
  prompt(question: string): Promise<string>;
}

/** A secret's JSON is a few hundred bytes; more than this on stdin is not a secret. */
const MAX_INPUT = 64 * 1024;

/** The characters a terminal in raw mode sends for Enter, Ctrl-D, Ctrl-C and Backspace. */
const ENTER = new Set(['\r', '\n', '\u0004']);
const INTERRUPT = '\u0003';
const ERASE = new Set(['\u007f', '\b']);

/** The minimum a terminal stream offers (process.stdin when it is a TTY). */
export interface RawInput {
  setRawMode(on: boolean): unknown;
  setEncoding(encoding: 'utf8'): unknown;
  resume(): unknown;
  pause(): unknown;
  on(event: 'data', listener: (chunk: string) => void): unknown;
  off(event: 'data', listener: (chunk: string) => void): unknown;
}

/**
 * Asks `question` on `output` and reads one line from a terminal in raw mode, so the typed key is
 * never echoed (Backspace erases; Ctrl-C gives up with exit 130, as a shell's interrupt would).
 *
 * @example
 * const key = await promptHidden(process.stdin, process.stderr, 'API key: ');
 */
export function promptHidden(input: RawInput, output: { write(text: string): unknown }, question: string): Promise<string> {
  output.write(question);
  input.setEncoding('utf8');
  input.setRawMode(true);
  input.resume();
  let value = '';
  return new Promise((resolve, reject) => {
    const finish = (ok: boolean) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (ok) resolve(value);
      else reject(new AdminError(130, 'Interrupted: nothing was written.'));
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (ENTER.has(char)) return finish(true);
        if (char === INTERRUPT) return finish(false);
        if (ERASE.has(char)) value = value.slice(0, -1);
        else value += char;
      }
    };
    input.on('data', onData);
  });
}

/** Reads a stream to its end, refusing more than MAX_INPUT bytes. */
export async function readAll(stream: AsyncIterable<Buffer | string>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += bytes.length;
    if (size > MAX_INPUT) throw new AdminError(EXIT.badRequest, `More than ${MAX_INPUT / 1024} KiB on stdin: expected the secret's JSON or the API key alone.`);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The process's own stdin and stderr. */
export function processInput(): KeyInput {
  const stdin = process.stdin;
  return {
    isTTY: stdin.isTTY === true,
    read: () => readAll(stdin),
    prompt: (question) => promptHidden(stdin, process.stderr, question),
  };
}
