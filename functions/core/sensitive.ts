/**
 * Last line of defence for logs: every custodied secret value and every token we hold is
 * registered here, and the logger's JSON replacer blanks any string that contains one, whatever
 * the key it sits under. Keys that name secrets are blanked too, before their value is looked at.
 */
const REDACTED = '[REDACTED]';
const SECRET_KEYS = /^(apikey|password|token|tokenid|secret|secretstring|x-auth-token|authorization|credentials)$/i;
// Bounded: a long-lived environment sees a new token a day per profile and the odd key rotation.
const MAX_VALUES = 256;
const values = new Set<string>();
const URL_USER_INFO = /\b([a-z][a-z\d+.-]*:\/\/)[^\s/?#]+@/gi;

export function markSensitive(value: string): void {
  // Very short values would blank innocent text; real keys and tokens are far longer.
  if (value.length < 8 || values.has(value)) return;
  if (values.size >= MAX_VALUES) values.delete(values.values().next().value as string);
  values.add(value);
}

/** A `JSON.stringify` replacer. */
export function redactReplacer(key: string, value: unknown): unknown {
  if (SECRET_KEYS.test(key) && value !== null && typeof value !== 'object') return REDACTED;
  if (typeof value !== 'string') return value;
  // User info in any URL (`scheme://user:password@`) is a credential, registered or not: fetch and
  // SDK errors quote the URL they failed on.
  let out = value.includes('@') ? value.replace(URL_USER_INFO, `$1${REDACTED}@`) : value;
  for (const secret of values) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}
