'use strict';
// Deployment parameters, validated at package time. Defaults live in serverless.yml (`params:`);
// override with `--param=NAME=VALUE`. CLI params arrive as strings, so each is parsed here and
// refused (the package/deploy stops) when out of range, rather than reaching AWS half-checked.

const bounded = (name, min, max) => async ({ resolveVariable }) => {
  const text = String(await resolveVariable(`param:${name}`)).trim();
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) throw new Error(`--param=${name}=… must be a whole number from ${min} to ${max}, got '${text}'`);
  return value;
};

// What CloudWatch Logs accepts for RetentionInDays.
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

// Time the function needs besides the Identity budget: reading the secret (SDK client with
// maxAttempts 2, normally tens of ms) plus answering. The Lambda timeout is a backstop only: the
// function's own budgets end every wait first, so callers get a 503 with Retry-After, not a timeout.
const SECRETS_ALLOWANCE_MS = 2_000;

// The function itself accepts up to 60 s (functions/config.ts); a deployment is capped at 25 s so
// budget + allowance stays under API Gateway's 30 s integration timeout.
const identityBudgetMs = bounded('identityBudgetMs', 100, 25_000);

module.exports = {
  // Bounded so a burst of callers (or a retry storm) cannot fan out into a stampede on Identity:
  // each execution environment authenticates once per profile and then serves from its cache.
  reservedConcurrency: bounded('reservedConcurrency', 1, 100),
  identityBudgetMs,
  // timeout (s) = ceil((identityBudgetMs + SECRETS_ALLOWANCE_MS) / 1000): 8000 + 2000 ms → 10 s.
  timeout: async (context) => Math.ceil((await identityBudgetMs(context) + SECRETS_ALLOWANCE_MS) / 1000),
  logRetentionInDays: async ({ resolveVariable }) => {
    const text = String(await resolveVariable('param:logRetentionInDays')).trim();
    const value = Number(text);
    if (!RETENTION_DAYS.includes(value)) throw new Error(`--param=logRetentionInDays=… must be one of ${RETENTION_DAYS.join(', ')}, got '${text}'`);
    return value;
  },
};
