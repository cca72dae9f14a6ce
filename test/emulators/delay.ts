import type { IncomingMessage } from 'node:http';

/** The part of the test's fake clock an emulator needs to simulate a slow answer (test/support/clock.ts). */
export interface SimulatedTime {
  now(): number;
  /** Moves to the next timer due by `limit` and fires it (`'timer'`), else to `limit`; `false` when there. */
  advanceTowards(limit: number): 'timer' | 'limit' | false;
}

/**
 * Holds a request for `delayMs` before it is answered (`Infinity`: never). On a real timer, or with
 * `time` by moving the test's clock from timer to timer, so the client's own timeouts fire in order
 * and nobody waits. Resolves `false` when the client gave up (closed the socket) first.
 */
export async function holdRequest(req: IncomingMessage, delayMs: number, time?: SimulatedTime): Promise<boolean> {
  if (!time) {
    if (delayMs === Infinity) return closed(req, Infinity).then(() => false);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return !req.socket.destroyed;
  }
  const until = time.now() + delayMs;
  while (!req.socket.destroyed) {
    const moved = time.advanceTowards(until);
    if (moved === false || (moved === 'limit' && delayMs !== Infinity)) return true;
    if (moved === 'limit') {
      // Never answered, and no timer left that could make the client give up: wait for it to.
      await closed(req, Infinity);
      break;
    }
    // The timer that fired may have aborted the client: give its socket a moment to close.
    await closed(req, 200);
  }
  return false;
}

function closed(req: IncomingMessage, ms: number): Promise<void> {
  if (req.socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = ms === Infinity ? undefined : setTimeout(resolve, ms);
    req.socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
