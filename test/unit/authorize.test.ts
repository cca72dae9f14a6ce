import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { authorize, callerRole } from '../../functions/core/authorize.ts';
import { ForbiddenError } from '../../functions/core/errors.ts';
import { DeclarationError, loadProfiles } from '../../functions/core/profiles.ts';

const ACCOUNT = '123456789012';
const profiles = loadProfiles({
  profiles: [
    { name: 'billing', secretId: 'rackspace/billing', allow: [`arn:aws:iam::${ACCOUNT}:role/billing-job`, `arn:aws:iam::${ACCOUNT}:role/ci-*`, `arn:aws:iam::${ACCOUNT}:role/team/a/reporter`] },
    { name: 'storage', secretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:rackspace/storage-AbCdEf', allow: [`arn:aws:iam::${ACCOUNT}:role/storage-*-reader`] },
  ],
});
const session = (role: string, account = ACCOUNT) => `arn:aws:sts::${account}:assumed-role/${role}/session-1`;

const decide = (profile: string, caller: string | null): string => {
  try {
    return `allowed ${authorize(profiles, profile, caller).name}`;
  } catch (error) {
    assert.ok(error instanceof ForbiddenError);
    return `denied: ${error.reason}`;
  }
};

describe('Function: authorize (the matrix)', () => {
  const cases: Array<[string, string, string | null, string]> = [
    ['the allowed role itself', 'billing', `arn:aws:iam::${ACCOUNT}:role/billing-job`, 'allowed billing'],
    ['an assumed-role session of the allowed role', 'billing', session('billing-job'), 'allowed billing'],
    ['another role', 'billing', session('billing-job-2'), 'denied: caller role not in the profile allowlist'],
    ['the same role name in another account', 'billing', session('billing-job', '210987654321'), 'denied: caller role not in the profile allowlist'],
    ['another partition', 'billing', `arn:aws-cn:sts::${ACCOUNT}:assumed-role/billing-job/s`, 'denied: caller role not in the profile allowlist'],
    ['a wildcard prefix match', 'billing', session('ci-deploy'), 'allowed billing'],
    ['a wildcard matching the empty string', 'billing', session('ci-'), 'allowed billing'],
    ['a wildcard that would have to cross a segment', 'storage', `arn:aws:iam::${ACCOUNT}:role/storage-x/y-reader`, 'denied: caller role not in the profile allowlist'],
    ['a wildcard in the middle', 'storage', session('storage-eu-reader'), 'allowed storage'],
    ['a role with a path, by its session (paths are not in session ARNs)', 'billing', session('reporter'), 'allowed billing'],
    ['a role with a path, by its role ARN', 'billing', `arn:aws:iam::${ACCOUNT}:role/team/a/reporter`, 'allowed billing'],
    ['an IAM user', 'billing', `arn:aws:iam::${ACCOUNT}:user/billing-job`, 'denied: caller is not an IAM role'],
    ['the account root', 'billing', `arn:aws:iam::${ACCOUNT}:root`, 'denied: caller is not an IAM role'],
    ['no IAM context', 'billing', null, 'denied: no IAM caller in the request'],
    ['an unknown profile', 'payroll', session('billing-job'), 'denied: no such profile'],
    ['a * in the caller ARN is not a wildcard', 'billing', session('ci-*'), 'denied: caller is not an IAM role'],
    ['a dot after a wildcard prefix', 'billing', session('ci-a.b'), 'allowed billing'],
    ['a lookalike with a dot', 'billing', session('billing.job'), 'denied: caller role not in the profile allowlist'],
  ];
  for (const [name, profile, caller, expected] of cases) {
    it(`${name} → ${expected}`, () => assert.equal(decide(profile, caller), expected));
  }

  it('answers an unknown profile and a forbidden one with the same caller-visible error', () => {
    const messageOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return (error as Error).message;
      }
      return 'no error';
    };
    assert.equal(messageOf(() => authorize(profiles, 'payroll', session('billing-job'))), messageOf(() => authorize(profiles, 'storage', session('billing-job'))));
  });

  it('reads only a whole ARN: text before or after a role session or a role is not a role', () => {
    const role = `arn:aws:iam::${ACCOUNT}:role/team/r`;
    assert.deepEqual(callerRole(role), { partition: 'aws', account: ACCOUNT, name: 'r' });
    for (const arn of [`x${session('r')}`, `${session('r')}/extra`, `${session('r')} `, `x-${role}`, `${role} extra`, `${role}/`]) {
      assert.equal(callerRole(arn), null, arn);
    }
  });

  it('reads caller ARNs into partition, account and role name', () => {
    assert.deepEqual(callerRole(session('r')), { partition: 'aws', account: ACCOUNT, name: 'r' });
    assert.equal(callerRole('arn:aws:sts::123:assumed-role/r/s'), null);
  });
});

describe('Function: loadProfiles (fail closed)', () => {
  const invalid = (profiles: unknown, pattern: RegExp) =>
    assert.throws(() => loadProfiles(profiles), (error: unknown) => error instanceof DeclarationError && pattern.test(error.message));
  const one = (allow: string[], extra: object = {}) => ({ profiles: [{ name: 'p', secretId: 's', allow, ...extra }] });

  it('refuses a wildcard without a literal role-name prefix of at least 3 characters, which would match roles nobody meant', () => {
    for (const name of ['*e*', '*-*', 'a*', 'ab*', 'ab*cdef', '*admin']) {
      invalid(one([`arn:aws:iam::123456789012:role/${name}`]), /a \* must follow a literal prefix of at least 3 characters/);
    }
    const allowed = (name: string) => loadProfiles(one([`arn:aws:iam::123456789012:role/${name}`])).get('p')?.allow[0]?.name;
    assert.ok(allowed('ci-*')?.test('ci-billing') && !allowed('ci-*')?.test('admin'));
    assert.ok(allowed('abc*x')?.test('abc-x') && allowed('team/ops/abc*')?.test('abc'));
    assert.ok(allowed('ab')?.test('ab'), 'a short name without a wildcard is an exact name');
  });

  it('loads the shipped declaration: every profile with its secret, and sessions of exactly the roles it allows', () => {
    const declared = JSON.parse(readFileSync(new URL('../../infra/profiles.json', import.meta.url), 'utf8')) as { profiles: Array<{ name: string; secretId: string; allow: string[] }> };
    const shipped = loadProfiles(declared);
    assert.ok(shipped.size > 0, 'the shipped declaration declares a profile');
    assert.deepEqual([...shipped.keys()], declared.profiles.map((p) => p.name));
    for (const { name, secretId, allow } of declared.profiles) {
      assert.equal(shipped.get(name)?.secretId, secretId);
      assert.deepEqual(shipped.get(name)?.allow.map((p) => p.source), allow);
      for (const role of allow.filter((r) => !r.includes('*'))) {
        const session = `${role.replace(':iam::', ':sts::').replace(/:role\/(?:.*\/)?/, ':assumed-role/')}/s`;
        assert.equal(authorize(shipped, name, session).name, name);
        assert.throws(() => authorize(shipped, name, `${session.replace(/assumed-role\/([^/]+)/, 'assumed-role/$1-other')}`), ForbiddenError);
      }
    }
  });

  it('rejects each kind of mistake with a message saying what to fix', () => {
    invalid(one([]), /profiles\.0\.allow: must list at least one role/);
    invalid(one(['arn:aws:iam::123456789012:role/x'], { secretid: 's' }), /unknown key\(s\) secretid/);
    invalid({ profiles: [one(['arn:aws:iam::123456789012:role/x']).profiles[0], one(['arn:aws:iam::123456789012:role/y']).profiles[0]] }, /profile 'p' is declared twice/);
    invalid(one(['*']), /expected an IAM role ARN/);
    invalid(one(['arn:aws:iam::*:role/x']), /may not stand for the account/);
    invalid(one(['arn:aws:iam::123456789012:role/*']), /literal prefix of at least 3 characters/);
    invalid(one(['arn:aws:iam::123456789012:role/**']), /literal prefix of at least 3 characters/);
    invalid(one(['arn:aws:iam::123456789012:role/team/*/x']), /role path/);
    invalid(one(['arn:aws:iam::123456789012:user/bob']), /expected an IAM role ARN/);
    invalid(one(['arn:aws:iam::12345:role/x']), /expected an IAM role ARN/);
    invalid({ profiles: [{ name: 'Bad Name', secretId: 's', allow: ['arn:aws:iam::123456789012:role/x'] }] }, /profiles\.0\.name: must be 1-64 lower-case/);
    invalid({}, /profiles: must be a list of profiles/);
    invalid([], /^infra\/profiles\.json is invalid: \(top level\): /);
  });
});
