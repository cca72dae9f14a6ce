import type { IncomingMessage } from 'node:http';

/** The part of the test's fake clock an emulator needs to simulate a slow answer (test/support/clock.ts). */
export interface SimulatedTime {
  now(): number;
  advanceTowards(limit: number): boolean;
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
    const before = time.now();
    const moved = time.advanceTowards(until);
    if (!moved) return true;
    if (time.now() === before && delayMs === Infinity) {
      await closed(req, Infinity);
      break;
    }
    // A timer that fired may have aborted the client: give its socket a moment to close.
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
