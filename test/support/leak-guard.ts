// Issue 4, "leak-proofing across the suite": the emulators hand every custodied value (API keys,
// passwords, issued tokens) to `custody`; the demo's log sink, the `call` helper and the tests that
// read a child process hand every log line and answer to `observe`. test/support/leak-check.ts
// (preloaded by `npm test`) fails the run if a custodied value shows up anywhere but the `token`
// field of a 200 answer. Nothing is stored unless that check is loaded, so benchmarks stay clean.

const custodied = new Set<string>();
const outputs: Array<{ where: string; text: string }> = [];
let enabled = false;

// Shorter values would match innocent text by chance, so they are not tracked; the only ones in the
// suite are the emulator protocol test's 'k1'/'k2', which never reach the handler.
const MIN_LENGTH = 8;

export function enableLeakGuard(): void {
  enabled = true;
}

/** A value that must never be output: an API key, a password or a token. */
export function custody(value: unknown): void {
  if (enabled && typeof value === 'string' && value.length >= MIN_LENGTH) custodied.add(value);
}

/** Text the suite produced: a log line, a response body, a child process's output. */
export function observe(where: string, text: string): void {
  if (enabled) outputs.push({ where, text });
}

/** An answer: its token (if 200) is custodied and the rest observed; the token field is where it may be. */
export function observeAnswer(where: string, answer: { statusCode: number; headers?: Record<string, unknown>; body: string }): void {
  if (!enabled) return;
  let body = answer.body;
  if (answer.statusCode === 200) {
    const { token, ...rest } = JSON.parse(answer.body) as { token?: unknown };
    custody(token);
    body = JSON.stringify(rest);
  }
  observe(where, `${JSON.stringify(answer.headers ?? {})} ${body}`);
}

/** Each output holding a custodied value, named by where it came from, never by the value. */
export function findLeaks(): string[] {
  const found: string[] = [];
  for (const { where, text } of outputs) {
    for (const value of custodied) if (text.includes(value)) found.push(`${where}: holds a custodied value (${value.length} chars) at offset ${text.indexOf(value)}`);
  }
  return found;
}

export function leakGuardCounts(): { custodied: number; outputs: number } {
  return { custodied: custodied.size, outputs: outputs.length };
}
