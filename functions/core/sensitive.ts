/**
 * Last line of defence for logs: every custodied secret value and every token we hold is
 * registered here, and the logger's JSON replacer blanks any string that contains one, whatever
 * the key it sits under. Keys whose name ends in a secret word are blanked too, before their value is
 * looked at.
 */
const REDACTED = '[REDACTED]';
// Matched at the end of the key, so compound names are caught too (sessionToken, refresh_token,
// X-Subject-Token, Proxy-Authorization, clientSecret, SecretAccessKey); the start is free.
const SECRET_KEYS = /(apikey|accesskey|password|token|tokenid|secret|secretstring|authorization|credentials)$/i;
const URL_USER_INFO = /\b([a-z][a-z\d+.-]*:\/\/)[^\s/?#]+@/gi;
// One slot per custodied thing (a profile's key, a profile's token), holding its current and its
// previous value: the previous one may still be in flight (an answer being written, an error raised
// just before a rotation). Slots are named after declared profiles and secrets, so the list is
// bounded by the declaration, and a value still in use is never pushed out by another profile's.
const slots = new Map<string, readonly [current: string] | readonly [current: string, previous: string]>();

/**
 * Registers `value` as the current value of `slot`; the slot's previous value stays registered,
 * older ones are forgotten.
 *
 * @example
 * markSensitive(`token of profile ${profile}`, token.id);
 */
export function markSensitive(slot: string, value: string): void {
  // Very short values would blank innocent text; real keys and tokens are far longer.
  const held = slots.get(slot);
  if (value.length < 8 || held?.[0] === value) return;
  slots.set(slot, held ? [value, held[0]] : [value]);
}

// Each key name is judged once: a line's names are a small fixed set (the audit line's ~35), and the
// regex costs ~23 ns a name against ~6 ns for a Map lookup (Node 24), half a microsecond of every
// warm vend. Bounded: names past the first 512 are judged every time.
const judged = new Map<string, boolean>();
const JUDGED_MAX = 512;

function isSecretKey(key: string): boolean {
  const known = judged.get(key);
  if (known !== undefined) return known;
  const secret = SECRET_KEYS.test(key);
  // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: a memo; judging a name again gives the same answer.
  if (judged.size < JUDGED_MAX) judged.set(key, secret);
  return secret;
}

/** A `JSON.stringify` replacer. */
export function redactReplacer(key: string, value: unknown): unknown {
  // Objects and lists are walked, so their own keys are judged; null (typeof 'object' too) stays null.
  if (isSecretKey(key) && typeof value !== 'object') return REDACTED;
  if (typeof value !== 'string') return value;
  // User info in any URL (`scheme://user:password@`) is a credential, registered or not: fetch and
  // SDK errors quote the URL they failed on.
  // Only a string with an @ can hold user info; the check spares the regex (~20x the cost) on all others.
  // Stryker disable next-line StringLiteral: includes('') is always true, and running the regex on a string without @ changes nothing.
  const mayHoldUserInfo = value.includes('@');
  let out = mayHoldUserInfo ? value.replace(URL_USER_INFO, `$1${REDACTED}@`) : value;
  // includes() first: most strings hold no registered value, and on one that holds none, split
  // costs ~7x and replaceAll ~4x what includes() does (Node 24).
  for (const held of slots.values()) for (const secret of held) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}
