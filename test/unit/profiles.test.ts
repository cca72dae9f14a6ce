import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeclarationError, loadProfiles } from '../../functions/core/profiles.ts';

const ROLE = 'arn:aws:iam::123456789012:role/x';
const one = (fields: object) => ({ profiles: [{ name: 'p', secretId: 's', allow: [ROLE], ...fields }] });
const problem = (json: unknown): string => {
  try {
    loadProfiles(json);
  } catch (error) {
    assert.ok(error instanceof DeclarationError);
    assert.equal(error.name, 'DeclarationError');
    return error.message.replace('infra/profiles.json is invalid: ', '');
  }
  return 'accepted';
};
const pattern = (source: string) => loadProfiles(one({ allow: [source] })).get('p')?.allow[0];

describe('Function: loadProfiles (the declaration)', () => {
  it('accepts profile names of 1 to 64 lower-case letters, digits, - and _ that start with a letter or digit', () => {
    const good = ['a', '7', 'a-b_c9', 'x'.repeat(64)];
    const bad = ['', 'x'.repeat(65), '-a', '_a', 'Abc', 'ab!', '!ab', 'a b'];
    assert.deepEqual(good.map((name) => problem(one({ name }))), good.map(() => 'accepted'));
    for (const name of bad) assert.equal(problem(one({ name })), 'profiles.0.name: must be 1-64 lower-case letters, digits, - or _', name);
  });

  it('requires a secret id of 1 to 2048 characters', () => {
    assert.equal(problem(one({ secretId: '' })), 'profiles.0.secretId: must name a secret');
    assert.equal(problem(one({ secretId: 's'.repeat(2048) })), 'accepted');
    assert.match(problem(one({ secretId: 's'.repeat(2049) })), /^profiles\.0\.secretId: /);
  });

  it('takes the Rackspace roles a profile\'s user may hold, and accountAdmin, refusing an empty or odd list', () => {
    const loaded = loadProfiles(one({ roles: ['identity:default', 'object-store:admin', 'identity:default'], accountAdmin: true })).get('p');
    assert.deepEqual([loaded?.roles && [...loaded.roles], loaded?.accountAdmin], [['identity:default', 'object-store:admin'], true]);
    const plain = loadProfiles(one({})).get('p');
    assert.deepEqual([plain?.roles, plain?.accountAdmin], [undefined, undefined]);
    assert.equal(problem(one({ roles: [] })), 'profiles.0.roles: must list a role (every user holds identity:default)');
    for (const bad of ['', ' identity:default', 'object-store:admin ', 'a b']) {
      assert.equal(problem(one({ roles: [bad] })), 'profiles.0.roles.0: must be a role name such as object-store:admin', JSON.stringify(bad));
    }
    assert.equal(problem(one({ accountAdmin: 'yes' })), 'profiles.0.accountAdmin: must be true or false');
    assert.equal(problem(one({ roles: 'identity:default' })).startsWith('profiles.0.roles: '), true);
  });

  it('bounds rotateEveryDays to whole days from 1 to 1000, and takes a description', () => {
    assert.equal(problem(one({ rotateEveryDays: 1, description: 'billing jobs' })), 'accepted');
    assert.equal(problem(one({ rotateEveryDays: 1000 })), 'accepted');
    assert.equal(problem(one({ rotateEveryDays: 0 })), 'profiles.0.rotateEveryDays: must be at least 1 day');
    assert.equal(problem(one({ rotateEveryDays: 1001 })), 'profiles.0.rotateEveryDays: must be at most 1000 days');
    assert.equal(problem(one({ rotateEveryDays: 1.5 })), 'profiles.0.rotateEveryDays: must be a whole number of days');
    assert.match(problem(one({ description: 7 })), /^profiles\.0\.description: /);
  });

  it('lists every problem, each at its path, and names all unknown keys', () => {
    assert.equal(
      problem({ profiles: [{ name: 'p', secretId: '', allow: [], colour: 'red', size: 1 }] }),
      'profiles.0.secretId: must name a secret; profiles.0.allow: must list at least one role: a profile nobody may use is a mistake; profiles.0: unknown key(s) colour, size',
    );
    assert.equal(problem({ profiles: [], extra: true }), '(top level): unknown key(s) extra');
  });

  it('refuses a profile declared twice, naming it', () => {
    assert.equal(problem({ profiles: [{ name: 'dup', secretId: 'a', allow: [ROLE] }, { name: 'dup', secretId: 'b', allow: [ROLE] }] }), "profile 'dup' is declared twice");
  });

  it('keeps every profile under its name with its secret and its patterns in order', () => {
    const loaded = loadProfiles({ profiles: [{ name: 'a', secretId: 'secret-a', allow: [ROLE, 'arn:aws:iam::123456789012:role/y'] }, { name: 'b', secretId: 'secret-b', allow: [ROLE] }] });
    assert.deepEqual([...loaded.keys()], ['a', 'b']);
    assert.equal(loaded.get('a')?.name, 'a');
    assert.equal(loaded.get('b')?.secretId, 'secret-b');
    assert.deepEqual(loaded.get('a')?.allow.map((p) => p.source), [ROLE, 'arn:aws:iam::123456789012:role/y']);
  });
});

describe('Function: loadProfiles (role patterns)', () => {
  it('reads the partition, account and role name of each pattern, whatever its path', () => {
    assert.deepEqual(pattern('arn:aws-cn:iam::210987654321:role/team/ops/ci-*'), { source: 'arn:aws-cn:iam::210987654321:role/team/ops/ci-*', partition: 'aws-cn', account: '210987654321', name: /^ci-[^/]*$/ });
    assert.deepEqual(pattern('arn:aws-us-gov:iam::123456789012:role/billing'), { source: 'arn:aws-us-gov:iam::123456789012:role/billing', partition: 'aws-us-gov', account: '123456789012', name: /^billing$/ });
  });

  it('matches a whole role name only, with a wildcard inside one segment and every other character literal', () => {
    const matches = (source: string, names: string[]) => names.filter((name) => pattern(`arn:aws:iam::123456789012:role/${source}`)?.name.test(name));
    assert.deepEqual(matches('ci-*', ['ci-', 'ci-billing', 'xci-a', 'ci-a/b', 'c-i']), ['ci-', 'ci-billing']);
    assert.deepEqual(matches('billing', ['billing', 'billing-2', 'my-billing']), ['billing']);
    assert.deepEqual(matches('svc.reader', ['svc.reader', 'svcxreader']), ['svc.reader']);
    assert.deepEqual(matches('ci+ops=a,b@c', ['ci+ops=a,b@c', 'ciiops=a,b@c']), ['ci+ops=a,b@c']);
    assert.deepEqual(matches('abc*x*', ['abcx', 'abc-x-y', 'abc-y']), ['abcx', 'abc-x-y']);
  });

  it('accepts role names of up to 64 characters and only the aws partitions, iam and role ARNs', () => {
    assert.equal(problem(one({ allow: [`arn:aws:iam::123456789012:role/${'r'.repeat(64)}`] })), 'accepted');
    const notRole = "allows '%s': expected an IAM role ARN, arn:aws:iam::123456789012:role/NAME (a * may stand inside the role name)";
    for (const source of [`arn:aws:iam::123456789012:role/${'r'.repeat(65)}`, 'arn:aws-x:iam::123456789012:role/x', 'xarn:aws:iam::123456789012:role/x', 'arn:aws:iam::123456789012:role/x y', 'arn:aws:iam::1234567890123:role/x', 'arn:aws:sts::123456789012:role/x', 'arn:aws:iam::123456789012:role/']) {
      assert.equal(problem(one({ allow: [source] })), `profile 'p' ${notRole.replace('%s', source)}`, source);
    }
  });

  it('says a wildcard may not stand for the partition or the account', () => {
    const why = 'a wildcard may not stand for the account, partition or service; name the account';
    for (const source of ['arn:*:iam::123456789012:role/x', 'arn:aws:iam::*1:role/x']) assert.equal(problem(one({ allow: [source] })), `profile 'p' allows '${source}': ${why}`);
  });

  it('refuses a wildcard in the role path or without a 3-character prefix, and allows one right after it', () => {
    assert.equal(problem(one({ allow: ['arn:aws:iam::123456789012:role/te*/x'] })), "profile 'p' allows 'arn:aws:iam::123456789012:role/te*/x': a wildcard may not appear in the role path");
    assert.equal(
      problem(one({ allow: ['arn:aws:iam::123456789012:role/ab*'] })),
      "profile 'p' allows 'arn:aws:iam::123456789012:role/ab*': a * must follow a literal prefix of at least 3 characters (e.g. ci-*): a shorter one would match roles nobody meant to allow",
    );
    assert.equal(problem(one({ allow: ['arn:aws:iam::123456789012:role/abc*'] })), 'accepted');
  });
});
