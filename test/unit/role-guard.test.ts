import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CredentialsOverprivilegedError, CredentialsUnusableError } from '../../functions/core/errors.ts';
import { problemResponse } from '../../functions/core/problem.ts';
import { loadProfiles } from '../../functions/core/profiles.ts';
import { ACCOUNT_ADMIN_ROLES, guardRoles, RecentRefusals, REFUSAL_HOLD_MS, unexpectedRoles } from '../../functions/core/role-guard.ts';

const ROLE = 'arn:aws:iam::123456789012:role/app';
/** A profile as the declaration compiles it, with `fields` added to the one entry. */
const profile = (fields: object = {}) => {
  const loaded = loadProfiles({ profiles: [{ name: 'files', secretId: 's', allow: [ROLE], ...fields }] }).get('files');
  assert.ok(loaded);
  return loaded;
};
const refusal = (fn: () => void): CredentialsOverprivilegedError => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof CredentialsOverprivilegedError, String(error));
    return error;
  }
  assert.fail('expected a refusal');
};
const SUB_USER = ['identity:default', 'object-store:admin'];

describe('Function: unexpectedRoles', () => {
  it('without roles declared, finds exactly the account-management roles, each one, in the order held', () => {
    assert.deepEqual([...ACCOUNT_ADMIN_ROLES].sort(), ['identity:admin', 'identity:identity-admin', 'identity:service-admin', 'identity:user-admin', 'identity:user-manage', 'rcn:admin']);
    for (const admin of ACCOUNT_ADMIN_ROLES) assert.deepEqual(unexpectedRoles(profile(), [...SUB_USER, admin]), [admin], admin);
    assert.deepEqual(unexpectedRoles(profile(), ['rcn:admin', 'compute:default', 'identity:user-admin']), ['rcn:admin', 'identity:user-admin']);
    // Product roles, the global multiproduct admin included, are not account management.
    assert.deepEqual(unexpectedRoles(profile(), [...SUB_USER, 'admin', 'observer', 'compute:default']), []);
  });

  it('with roles declared, finds every role outside them, product roles too, and accepts a subset', () => {
    const declared = profile({ roles: SUB_USER });
    assert.deepEqual(unexpectedRoles(declared, SUB_USER), []);
    assert.deepEqual(unexpectedRoles(declared, ['identity:default']), []);
    assert.deepEqual(unexpectedRoles(declared, [...SUB_USER, 'compute:default', 'identity:user-admin']), ['compute:default', 'identity:user-admin']);
    // Role names are identifiers: another case is another role.
    assert.deepEqual(unexpectedRoles(declared, ['Object-Store:Admin']), ['Object-Store:Admin']);
  });

  it('with accountAdmin, accepts the account-management roles, and only those beyond a declared roles list', () => {
    assert.deepEqual(unexpectedRoles(profile({ accountAdmin: true }), ['identity:user-admin', 'rcn:admin', 'compute:default']), []);
    const both = profile({ accountAdmin: true, roles: ['identity:default'] });
    assert.deepEqual(unexpectedRoles(both, ['identity:user-admin', 'identity:default', 'object-store:admin']), ['object-store:admin']);
    // accountAdmin: false is the default: it accepts nothing.
    assert.deepEqual(unexpectedRoles(profile({ accountAdmin: false }), ['identity:user-admin']), ['identity:user-admin']);
  });
});

describe('Function: guardRoles', () => {
  it('lets a least-privilege sub-user through, with or without a declaration', () => {
    assert.doesNotThrow(() => guardRoles(profile(), { roles: SUB_USER }));
    assert.doesNotThrow(() => guardRoles(profile({ roles: SUB_USER }), { roles: SUB_USER }));
    assert.doesNotThrow(() => guardRoles(profile({ accountAdmin: true }), { roles: ['identity:user-admin'] }));
  });

  it('refuses an account administrator nobody declared: a 502 problem naming the role, the profile and both fixes', () => {
    const error = refusal(() => guardRoles(profile(), { roles: ['identity:user-admin', 'compute:default'] }));
    assert.deepEqual([error.status, error.slug, error.upstream, error.unexpectedRoles], [502, 'credentials-overprivileged', null, ['identity:user-admin']]);
    assert.ok(error instanceof CredentialsUnusableError, 'one of the unusable-credentials 502s');
    assert.match(error.message, /profile 'files' holds account-management roles \(its token can manage users and read or reset their keys\): identity:user-admin\./);
    assert.match(error.message, /Fix: custody a sub-user holding only the product roles its callers need .*, or declare "accountAdmin": true in infra\/profiles\.json\.$/);
    const body = JSON.parse(problemResponse(error).body);
    assert.deepEqual([body.type, body.title, body.status, body.unexpectedRoles], ['urn:rackspace-token-vendor:problem:credentials-overprivileged', 'Custodied credentials overprivileged', 502, ['identity:user-admin']]);
  });

  it('refuses a role outside the declared ones, and says to declare it or use a sub-user', () => {
    const error = refusal(() => guardRoles(profile({ roles: SUB_USER }), { roles: [...SUB_USER, 'compute:default'] }));
    assert.deepEqual(error.unexpectedRoles, ['compute:default']);
    assert.match(error.message, /holds roles the profile does not declare: compute:default\./);
    assert.match(error.message, /Fix: custody a sub-user .*, or add them to its "roles" in infra\/profiles\.json\.$/);
  });

  it('fails closed when Identity\'s answer lists no roles: a credentials-unusable 502 from Identity, not a pass', () => {
    for (const roles of [null, undefined]) {
      assert.throws(
        () => guardRoles(profile({ accountAdmin: true }), roles === undefined ? {} : { roles }),
        (error: unknown) => error instanceof CredentialsUnusableError && !(error instanceof CredentialsOverprivilegedError) && error.upstream === 'identity' && /answer lists no roles/.test(error.message),
      );
    }
  });
});

describe('Class: RecentRefusals', () => {
  it('answers the same refusal for the same credentials for 10 s, then lets Identity be asked again', () => {
    let now = 0;
    const held = new RecentRefusals(() => now);
    const credentials = {};
    const error = refusal(() => guardRoles(profile(), { roles: ['identity:user-admin', 'rcn:admin'] }));
    assert.match(error.message, /: identity:user-admin, rcn:admin\./);
    held.remember(credentials, error);
    now = REFUSAL_HOLD_MS - 1;
    assert.throws(() => held.check(credentials), (thrown: unknown) => thrown === error);
    held.check({});
    now = REFUSAL_HOLD_MS;
    held.check(credentials);
  });

  it('remembers only the role guard\'s refusal: an answer without roles is asked about again at once', () => {
    const held = new RecentRefusals(() => 0);
    const credentials = {};
    held.remember(credentials, new CredentialsUnusableError("Rackspace Identity's answer lists no roles", { upstream: 'identity' }));
    held.check(credentials);
  });
});
