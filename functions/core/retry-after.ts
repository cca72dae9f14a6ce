/** Bounds of a wait we accept from upstream: at least a second ("at once" would only hammer), at most five minutes. */
export const RETRY_AFTER_MIN_SECONDS = 1;
export const RETRY_AFTER_MAX_SECONDS = 300;

const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * Seconds to wait from a `Retry-After` header, or `undefined` when absent or not one of the two
 * forms RFC 9110 says senders generate: delay-seconds (digits only) or an IMF-fixdate
 * (`Sun, 06 Nov 1994 08:49:37 GMT`). Loose dates are ignored rather than guessed at. The result
 * is clamped to 1–300 s: a date in the past or `0` still means one second, a huge number five minutes.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value == null) return undefined;
  const trimmed = value.trim();
  let seconds: number;
  if (/^\d+$/.test(trimmed)) seconds = Number(trimmed);
  else if (IMF_FIXDATE.test(trimmed)) {
    const date = Date.parse(trimmed);
    if (Number.isNaN(date)) return undefined;
    seconds = Math.ceil((date - now) / 1000);
  } else return undefined;
  return Math.min(RETRY_AFTER_MAX_SECONDS, Math.max(RETRY_AFTER_MIN_SECONDS, seconds));
}
