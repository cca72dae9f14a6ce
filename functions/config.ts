import * as z from 'zod/mini';
import { identityUrlProblem } from './core/credentials.ts';

export interface Config {
  /** Identity v2.0 base URL for secrets that name none. */
  identityUrl: string;
  /** Per Identity call. */
  identityTimeoutMs: number;
  /** Total time all Identity attempts of one authentication may take (retries included). */
  identityBudgetMs: number;
  /** Most Identity attempts per authentication. */
  identityAttempts: number;
  /** How long a secret read is trusted. */
  secretTtlSeconds: number;
  /** The deployment stage: the `Stage` dimension of every metric. */
  stage: string;
}

const int = (min: number, max: number, fallback: number) =>
  // prefault: the default goes through the same parse as a given value.
  z.prefault(
    z.pipe(z.string().check(z.regex(/^\d+$/, 'must be a whole number')), z.transform(Number)).check(
      z.gte(min, `must be at least ${min}`),
      z.lte(max, `must be at most ${max}`),
    ),
    String(fallback),
  );

const Env = z.object({
  IDENTITY_URL: z._default(z.string(), 'https://identity.api.rackspacecloud.com/v2.0'),
  IDENTITY_TIMEOUT_MS: int(100, 30_000, 3_000),
  IDENTITY_BUDGET_MS: int(100, 60_000, 8_000),
  IDENTITY_ATTEMPTS: int(1, 10, 4),
  SECRET_TTL_SECONDS: int(0, 86_400, 300),
  // A CloudWatch dimension value; serverless.yml sets it to the stage name.
  STAGE: z._default(z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, - or _')), 'local'),
});

/**
 * Reads the environment once, at cold start. An invalid value stops the function with a message
 * naming the variable (values here are not secret, but we name only the variable anyway).
 *
 * @example
 * const config = loadConfig(process.env);
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const what = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${what}`);
  }
  const e = parsed.data;
  const urlProblem = identityUrlProblem(e.IDENTITY_URL);
  if (urlProblem) throw new Error(`Invalid configuration: IDENTITY_URL ${urlProblem}`);
  if (e.IDENTITY_TIMEOUT_MS > e.IDENTITY_BUDGET_MS) throw new Error('Invalid configuration: IDENTITY_TIMEOUT_MS must not exceed IDENTITY_BUDGET_MS');
  return {
    identityUrl: e.IDENTITY_URL,
    identityTimeoutMs: e.IDENTITY_TIMEOUT_MS,
    identityBudgetMs: e.IDENTITY_BUDGET_MS,
    identityAttempts: e.IDENTITY_ATTEMPTS,
    secretTtlSeconds: e.SECRET_TTL_SECONDS,
    stage: e.STAGE,
  };
}
