/** A clock tests move by hand; `sleep` advances it instead of waiting, so retries cost no time. */
export function fakeClock(start = Date.parse('2026-11-22T10:00:00.000Z')) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => void (now += ms),
    sleep: async (ms: number) => void (now += ms),
  };
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
