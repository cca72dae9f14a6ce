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
    throw new CredentialsUnusableError(
      "Rackspace Identity's answer does not list the user's roles (access.user.roles), so the profile's role guard cannot check them; no token is vended for it.",
      { upstream: 'identity' },
    );
  }
  const unexpected = unexpectedRoles(profile, token.roles);
  if (unexpected.length === 0) return;
  const listed = unexpected.join(', ');
  const detail = profile.roles
    ? `The Rackspace user of profile '${profile.name}' holds roles the profile does not declare: ${listed}. A token carries all of its user's roles to every allowed caller. Fix: custody a sub-user holding only the product roles the callers need, or add these roles to the profile's "roles" in infra/profiles.json.`
    : `The Rackspace user of profile '${profile.name}' holds account-management roles: ${listed}. A token of this user can create users, change roles and read or reset other users' API keys, and every allowed caller would get one. Fix: custody a sub-user holding only the product roles the callers need (such as object-store:admin), or declare "accountAdmin": true on the profile in infra/profiles.json if an account administrator is really meant.`;
  throw new CredentialsOverprivilegedError(detail, unexpected);
}
