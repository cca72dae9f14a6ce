import { CredentialsOverprivilegedError, CredentialsUnusableError } from './errors.ts';
import type { Profile } from './profiles.ts';
import type { Token } from './token.ts';

/**
 * Roles that manage the account itself: create users, change roles, read or reset other users'
 * keys. A token carrying one is the account, not one product (PRODUCT.md "What a vended token can
 * do"; Rackspace's "Role-based access control" page: every product role is subordinate to
 * `identity:user-admin` and `identity:user-manage`; `rcn:admin` spans a customer's accounts).
 */
export const ACCOUNT_ADMIN_ROLES: ReadonlySet<string> = new Set([
  'identity:user-admin',
  'identity:user-manage',
  'identity:admin',
  'identity:service-admin',
  'identity:identity-admin',
  'rcn:admin',
]);

/**
 * The roles `held` that `profile` does not allow, in the order Identity listed them. With
 * `roles` declared, anything outside it; without, the account-management roles. `accountAdmin:
 * true` accepts the account-management roles either way. Pure.
 *
 * @example
 * unexpectedRoles({ …profile, roles: new Set(['identity:default', 'object-store:admin']) }, ['identity:default', 'compute:default'])
 * // → ['compute:default']
 */
export function unexpectedRoles(profile: Pick<Profile, 'roles' | 'accountAdmin'>, held: readonly string[]): string[] {
  const admin = profile.accountAdmin === true;
  return held.filter((role) => {
    if (admin && ACCOUNT_ADMIN_ROLES.has(role)) return false;
    return profile.roles ? !profile.roles.has(role) : ACCOUNT_ADMIN_ROLES.has(role);
  });
}

/**
 * The role guard, run once per token, when Identity issues it and before it is kept or shared:
 * throws {@link CredentialsOverprivilegedError} (502) naming the unexpected roles and the fix, or
 * {@link CredentialsUnusableError} when Identity's answer lists no roles (nothing to check is
 * not "nothing held": it fails closed).
 */
export function guardRoles(profile: Pick<Profile, 'name' | 'roles' | 'accountAdmin'>, token: Pick<Token, 'roles'>): void {
  if (token.roles === undefined || token.roles === null) {
    throw new CredentialsUnusableError("Rackspace Identity's answer lists no roles (access.user.roles): the role guard cannot check them.", { upstream: 'identity' });
  }
  const unexpected = unexpectedRoles(profile, token.roles);
  if (unexpected.length === 0) return;
  // What is wrong, then the fix; the part of the fix both cases share is written once.
  const [what, declare] = profile.roles
    ? ['roles the profile does not declare', 'add them to its "roles"']
    : ['account-management roles (its token can manage users and read or reset their keys)', 'declare "accountAdmin": true'];
  throw new CredentialsOverprivilegedError(
    `The Rackspace user of profile '${profile.name}' holds ${what}: ${unexpected.join(', ')}. Fix: custody a sub-user holding only the product roles its callers need (such as object-store:admin), or ${declare} in infra/profiles.json.`,
    unexpected,
  );
}

/** How long a refusal answers again for the same credentials before Identity is asked again. */
export const REFUSAL_HOLD_MS = 10_000;

/**
 * Refusals remembered per credentials object (the secret cache hands out one object per read), so
 * a profile whose user is refused does not cost an Identity call per request: for
 * {@link REFUSAL_HOLD_MS} the same refusal answers at once. A fix at Rackspace (a role removed) is
 * seen within that time; a new secret value is a new object, checked at once.
 */
export class RecentRefusals {
  readonly #held = new WeakMap<object, { until: number; error: CredentialsOverprivilegedError }>();
  readonly #now: () => number;
  constructor(now: () => number) {
    this.#now = now;
  }
  /** Throws the refusal remembered for `credentials`, if it is recent. */
  check(credentials: object): void {
    const held = this.#held.get(credentials);
    if (held && this.#now() < held.until) throw held.error;
  }
  remember(credentials: object, error: unknown): void {
    if (error instanceof CredentialsOverprivilegedError) this.#held.set(credentials, { until: this.#now() + REFUSAL_HOLD_MS, error });
  }
}
