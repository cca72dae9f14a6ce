import { describeIssue } from './core/issues.ts';
import * as z from 'zod/mini';
import limits from '../infra/limits.json' with { type: 'json' };
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
  /** The shared tier (docs/operations.md "Shared tier"): its table, the key its data keys come from, the stage in their context; `null`: off. */
  fleet: { table: string; keyId: string; stage: string } | null;
}

type Limit = { min: number; max: number; default: number };

// Ranges and defaults are shared with the deployment's parameter checks (infra/params.cjs), so a
// deployable value is always one the function accepts.
const int = ({ min, max }: Limit) =>
  z.pipe(z.string().check(z.regex(/^\d+$/, 'must be a whole number')), z.transform(Number)).check(
    z.gte(min, `must be at least ${min}`),
    z.lte(max, `must be at most ${max}`),
  );
// prefault: the default goes through the same parse as a given value.
const intOr = (limit: Limit) => z.prefault(int(limit), String(limit.default));
const { IDENTITY_TIMEOUT_MS, IDENTITY_BUDGET_MS, IDENTITY_ATTEMPTS, SECRET_TTL_SECONDS } = limits.environment;

const Env = z.object({
  IDENTITY_URL: z._default(z.string(), 'https://identity.api.rackspacecloud.com/v2.0'),
  // No default here: an unset per-call timeout follows the budget (see loadConfig).
  IDENTITY_TIMEOUT_MS: z.optional(int(IDENTITY_TIMEOUT_MS)),
  IDENTITY_BUDGET_MS: intOr(IDENTITY_BUDGET_MS),
  IDENTITY_ATTEMPTS: intOr(IDENTITY_ATTEMPTS),
  SECRET_TTL_SECONDS: intOr(SECRET_TTL_SECONDS),
  // A CloudWatch dimension value; serverless.yml sets it to the stage name.
  STAGE: z._default(z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, - or _')), 'local'),
  // Empty or absent FLEET_TABLE: the shared tier is off (--param=sharedTier=off sets it empty).
  FLEET_TABLE: z._default(z.string().check(z.regex(/^[A-Za-z0-9_.-]{0,255}$/, 'must be a DynamoDB table name')), ''),
  FLEET_KEY_ID: z._default(z.string(), ''),
});

/**
 * Reads the environment once, at cold start. An invalid value stops the function with a message
 * naming the variable (values here are not secret, but we name only the variable anyway).
 *
 * @example
 * const config = loadConfig(process.env);
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // Stryker disable next-line StringLiteral: never shown; the environment is always an object, so every issue has a path.
  const WHOLE = '(environment)';
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const what = parsed.error.issues.map((i) => describeIssue(i, WHOLE)).join('; ');
    throw new Error(`Invalid configuration: ${what}`);
  }
  const e = parsed.data;
  const urlProblem = identityUrlProblem(e.IDENTITY_URL);
  if (urlProblem) throw new Error(`Invalid configuration: IDENTITY_URL ${urlProblem}`);
  // Unset, one call may take the default or the whole budget, whichever is smaller: a deployment
  // sets only the budget, and every deployable budget must start. Set, it must fit the budget.
  const identityTimeoutMs = e.IDENTITY_TIMEOUT_MS ?? Math.min(IDENTITY_TIMEOUT_MS.default, e.IDENTITY_BUDGET_MS);
  if (identityTimeoutMs > e.IDENTITY_BUDGET_MS) throw new Error('Invalid configuration: IDENTITY_TIMEOUT_MS must not exceed IDENTITY_BUDGET_MS');
  if (e.FLEET_TABLE !== '' && e.FLEET_KEY_ID === '') throw new Error('Invalid configuration: FLEET_KEY_ID is required when FLEET_TABLE is set');
  return {
    identityUrl: e.IDENTITY_URL,
    identityTimeoutMs,
    identityBudgetMs: e.IDENTITY_BUDGET_MS,
    identityAttempts: e.IDENTITY_ATTEMPTS,
    secretTtlSeconds: e.SECRET_TTL_SECONDS,
    stage: e.STAGE,
    fleet: e.FLEET_TABLE === '' ? null : { table: e.FLEET_TABLE, keyId: e.FLEET_KEY_ID, stage: e.STAGE },
  };
}
