import * as z from 'zod/mini';

/** What a profile's secret holds, parsed and trimmed. */
export interface Credentials {
  username: string;
  secret: { kind: 'apiKey'; apiKey: string } | { kind: 'password'; password: string };
  tenant: { tenantId: string } | { tenantName: string } | null;
  /** `null`: the configured default Identity URL. */
  identityUrl: string | null;
}

const text = z.string().check(z.trim(), z.minLength(1, 'must be a non-empty string'), z.maxLength(1024, 'is too long'));

const SecretJson = z.strictObject({
  username: text,
  apiKey: z.optional(text),
  password: z.optional(text),
  tenantId: z.optional(text),
  tenantName: z.optional(text),
  identityUrl: z.optional(text),
});

/** Raised for a secret we cannot use. Its message names fields, never values. */
export class SecretFormatError extends Error {
  override name = 'SecretFormatError';
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/**
 * Parses a secret's JSON text. Exactly one of `apiKey`/`password`; at most one of
 * `tenantId`/`tenantName`; `identityUrl` https, or plain http only on a loopback host (local
 * emulators), with no user info, query or fragment. The message of any error names the offending field and never echoes its value.
 *
 * @example
 * parseCredentials('{"username":"demo","apiKey":"k"}') // → { username: 'demo', secret: { kind: 'apiKey', … } }
 */
export function parseCredentials(secretString: string): Credentials {
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    throw new SecretFormatError('the secret is not JSON');
  }
  const parsed = SecretJson.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
      if (issue.path.length === 0) return 'the secret must be a JSON object';
      // Stryker disable next-line StringLiteral: the secret is a flat object, so a path has one segment and the separator never shows.
      const field = issue.path.join('.');
      return `field '${field}' ${issue.code === 'invalid_type' ? 'must be a string' : issue.message}`;
    });
    throw new SecretFormatError(problems.join('; '));
  }
  const { username, apiKey, password, tenantId, tenantName, identityUrl } = parsed.data;
  if ((apiKey === undefined) === (password === undefined)) {
    throw new SecretFormatError("exactly one of the fields 'apiKey' and 'password' must be set");
  }
  if (tenantId !== undefined && tenantName !== undefined) {
    throw new SecretFormatError("set at most one of the fields 'tenantId' and 'tenantName'");
  }
  const urlProblem = identityUrl === undefined ? null : identityUrlProblem(identityUrl);
  if (urlProblem) throw new SecretFormatError(`field 'identityUrl' ${urlProblem}`);
  return {
    username,
    secret: apiKey !== undefined ? { kind: 'apiKey', apiKey } : { kind: 'password', password: password as string },
    tenant: tenantId !== undefined ? { tenantId } : tenantName !== undefined ? { tenantName } : null,
    identityUrl: identityUrl ?? null,
  };
}

/** Why `value` may not be an Identity URL, or `null` when it may. Shared with the configured default. */
export function identityUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  const ok = url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.test(url.hostname));
  if (!ok) return 'must use https (plain http only for a loopback host)';
  // User info would be sent nowhere useful (fetch refuses it) and would be quoted in errors and
  // logs; a query or fragment would be mangled by appending `/tokens`. `URL` drops an empty `@`, so
  // the text is checked too; the parsed URL catches user info written without `//` (`https:u@h`).
  if (url.username || url.password || /^[^/]*\/\/[^/?#]*@/.test(value)) return 'must not contain user info (user:password@); put credentials in the secret fields';
  // The text alone: a query or fragment only ever comes from a literal `?` or `#`, and `URL` drops empty ones.
  if (/[?#]/.test(value)) return 'must not contain a query or a fragment';
  return null;
}
