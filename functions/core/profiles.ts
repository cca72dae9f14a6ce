import { describeIssue } from './issues.ts';
import * as z from 'zod/mini';

/** One custodied credential set and who may use it. */
export interface Profile {
  name: string;
  /** Secrets Manager secret name or ARN. */
  secretId: string;
  allow: RolePattern[];
  /**
   * The Rackspace role names the profile's user is expected to hold (`identity:default`,
   * `object-store:admin`…): a user holding any other is not vended for. Absent: only the
   * account-management roles are refused (core/role-guard.ts).
   */
  roles?: ReadonlySet<string>;
  /** The profile's user is meant to be an account administrator: its account-management roles are accepted. */
  accountAdmin?: boolean;
}

/** A compiled `allow` entry. Role names are unique in an account, so account + name identify a role. */
export interface RolePattern {
  source: string;
  partition: string;
  account: string;
  /** Matches the role name; `*` became `[^/]*`, so a wildcard never crosses a segment. */
  name: RegExp;
}

export class DeclarationError extends Error {
  override name = 'DeclarationError';
}

const PROFILE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
// arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME — see README "ARN matching".
// Characters of role name a wildcard must follow (see README "ARN matching").
const MIN_WILDCARD_PREFIX = 3;
// Rackspace role names: `identity:default`, `object-store:admin`, `rcn:admin`, `admin`; no spaces at either end.
const ROLE_NAME = /^[A-Za-z0-9][\w:.@-]{0,127}$/;
const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/((?:[\w+=,.@*-]+\/)*)([\w+=,.@*-]{1,64})$/;

const Declaration = z.strictObject({
  profiles: z.array(
    z.strictObject({
      name: z.string().check(z.regex(PROFILE_NAME, 'must be 1-64 lower-case letters, digits, - or _')),
      description: z.optional(z.string()),
      secretId: z.string().check(z.minLength(1, 'must name a secret'), z.maxLength(2048)),
      allow: z.array(z.string()).check(z.minLength(1, 'must list at least one role: a profile nobody may use is a mistake')),
      // Read by the stack (infra/rotation.cjs: a rotation schedule on the secret); validated here too,
      // with Secrets Manager's own bounds, so a typo fails the function's tests, not the deploy.
      rotateEveryDays: z.optional(z.int('must be a whole number of days').check(z.gte(1, 'must be at least 1 day'), z.lte(1000, 'must be at most 1000 days'))),
      // Every user holds at least identity:default, so an empty list would refuse every token: a mistake.
      roles: z.optional(z.array(z.string().check(z.regex(ROLE_NAME, 'must be a role name such as object-store:admin'))).check(z.minLength(1, 'must list a role (every user holds identity:default)'))),
      accountAdmin: z.optional(z.boolean('must be true or false')),
    }),
    'must be a list of profiles',
  ),
});

/**
 * Validates the profile declaration (infra/profiles.json) and compiles its patterns. Anything
 * doubtful is rejected here, at start-up, so the function fails closed instead of guessing later.
 *
 * @example
 * const profiles = loadProfiles(JSON.parse(readFileSync('infra/profiles.json', 'utf8')));
 * profiles.get('billing')?.allow;
 */
export function loadProfiles(json: unknown): Map<string, Profile> {
  const parsed = Declaration.safeParse(json);
  if (!parsed.success) {
    const what = parsed.error.issues.map((i) => describeIssue(i, '(top level)'));
    throw new DeclarationError(`infra/profiles.json is invalid: ${what.join('; ')}`);
  }
  const profiles = new Map<string, Profile>();
  for (const { name, secretId, allow, roles, accountAdmin } of parsed.data.profiles) {
    if (profiles.has(name)) throw new DeclarationError(`infra/profiles.json is invalid: profile '${name}' is declared twice`);
    profiles.set(name, {
      name,
      secretId,
      allow: allow.map((pattern) => compilePattern(name, pattern)),
      ...(roles && { roles: new Set(roles) }),
      ...(accountAdmin === true && { accountAdmin }),
    });
  }
  return profiles;
}

function compilePattern(profile: string, source: string): RolePattern {
  const fail = (why: string) => new DeclarationError(`infra/profiles.json is invalid: profile '${profile}' allows '${source}': ${why}`);
  const match = ROLE_ARN.exec(source);
  if (!match) {
    throw fail(source.includes(':*:') || /::\*/.test(source)
      ? 'a wildcard may not stand for the account, partition or service; name the account'
      : 'expected an IAM role ARN, arn:aws:iam::123456789012:role/NAME (a * may stand inside the role name)');
  }
  // Stryker disable next-line StringLiteral: every group of the pattern takes part in any match; the defaults only satisfy noUncheckedIndexedAccess.
  const [, partition = '', account = '', path = '', name = ''] = match;
  if (path.includes('*')) throw fail('a wildcard may not appear in the role path');
  // A short or empty prefix matches roles nobody meant to allow (`*e*`, `*-*` catch admin and SSO
  // roles), so a wildcard needs a literal prefix long enough to name a family of roles.
  const star = name.indexOf('*');
  if (star >= 0 && star < MIN_WILDCARD_PREFIX) {
    throw fail(`a * must follow a literal prefix of at least ${MIN_WILDCARD_PREFIX} characters (e.g. ci-*): a shorter one would match roles nobody meant to allow`);
  }
  const regex = new RegExp(`^${name.split('*').map(escapeRegExp).join('[^/]*')}$`);
  return { source, partition, account, name: regex };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
