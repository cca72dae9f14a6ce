/**
 * A clock tests move by hand; `sleep` advances it instead of waiting, so retries cost no time.
 * `timeout` hands out signals that abort when the clock passes them (the handler's per-call
 * timeouts and deadline, injected as `deps.timeout`), so a slow or silent upstream is simulated
 * by moving the clock (`advanceTowards`), never by waiting for a real timer.
 */
export function fakeClock(start = Date.parse('2026-11-22T10:00:00.000Z')) {
  let now = start;
  const timers: Array<{ at: number; controller: AbortController }> = [];
  const fire = () => {
    for (const timer of timers.filter((t) => t.at <= now)) {
      timers.splice(timers.indexOf(timer), 1);
      timer.controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    }
  };
  const advance = (ms: number) => {
    now += ms;
    fire();
  };
  return {
    now: () => now,
    advance,
    sleep: async (ms: number) => advance(ms),
    timeout: (ms: number): AbortSignal => {
      const controller = new AbortController();
      timers.push({ at: now + ms, controller });
      return controller.signal;
    },
    /**
     * Moves to the earliest timer due by `limit` and fires it (`'timer'`), or to `limit` when none is
     * (`'limit'`); `false` when already there.
     */
    advanceTowards(limit: number): 'timer' | 'limit' | false {
      if (now >= limit) return false;
      const next = Math.min(limit, ...timers.map((t) => t.at));
      if (next === Infinity) return 'limit'; // nothing will ever fire: time stays put
      now = Math.max(now, next);
      const fired = timers.some((t) => t.at <= now);
      fire();
      return fired ? 'timer' : 'limit';
    },
  };
}

export type FakeClock = ReturnType<typeof fakeClock>;

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
