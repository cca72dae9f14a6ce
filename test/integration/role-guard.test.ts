import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { loadProfiles } from '../../functions/core/profiles.ts';
import { DEMO_USER } from '../emulators/identity.ts';
import { DEMO_PROFILES, type DemoOptions } from '../local/demo.ts';
import { fakeClock, HOUR } from '../support/clock.ts';
import { demosClosedAfterEach } from '../support/demos.ts';
import { call } from '../support/events.ts';

// The role guard through the handler, the Identity emulator and the shared tier (dynalite + the KMS
// stand-in): what callers, the audit line, the cache and the fleet's table see.
const startDemo = demosClosedAfterEach();
const [demoProfile] = DEMO_PROFILES.profiles;
/** The demo profile without its roles list: the default guard (account-management roles refused). */
const { roles: _roles, ...undeclared } = demoProfile!;
const OWNER_ROLES = ['identity:user-admin', 'compute:default'];

async function start(options: DemoOptions = {}) {
  const clock = fakeClock();
  const lines: string[] = [];
  const d = await startDemo({ ...options, identity: { now: clock.now }, deps: { now: clock.now, sleep: clock.sleep, random: () => 0.5, ...options.deps }, sink: (line) => lines.push(line) });
  const audits = () => lines.filter((l) => l.includes('"audit"')).map((l) => ({ ...JSON.parse(l).audit, level: JSON.parse(l).level }) as Record<string, any>);
  const record = async () => (await d.shared!.dynamo.client.send(new GetItemCommand({ TableName: d.shared!.dynamo.table, Key: { profile: { S: 'demo' } } }))).Item;
  return { ...d, clock, lines, audits, record, vend: (handler: unknown = d.handler) => call(handler, { query: { service: 'cloudFiles', region: 'dfw' } }) };
}

describe('Role guard: a token whose user holds roles the profile does not allow is never vended', () => {
  it('refuses the account owner under a profile without a declaration: 502 credentials-overprivileged, audited at ERROR, nothing kept in memory or the table', async () => {
    const d = await start({ deps: { profiles: loadProfiles({ profiles: [undeclared] }) } });
    d.identity.setUser(DEMO_USER.username, { roles: OWNER_ROLES });
    const first = await d.vend();
    assert.equal(first.statusCode, 502);
    assert.deepEqual([first.json.type, first.json.unexpectedRoles], ['urn:rackspace-token-vendor:problem:credentials-overprivileged', ['identity:user-admin']]);
    assert.match(first.json.detail, /holds account-management roles .*: identity:user-admin\..*sub-user.*"accountAdmin": true/s);
    // Within 10 s the same instance answers the same refusal without asking Identity; a new instance
    // finds nothing in the table and asks; after 10 s the first asks again: nothing was kept.
    const again = await d.vend();
    const other = await d.vend(d.instance());
    d.clock.advance(10_000);
    const later = await d.vend();
    assert.deepEqual([again.statusCode, other.statusCode, later.statusCode, d.identity.calls], [502, 502, 502, 3]);
    const item = await d.record();
    assert.ok(!item?.ciphertext && !item?.expiresAt, `no token in the table: ${JSON.stringify(Object.keys(item ?? {}))}`);
    const audits = d.audits();
    assert.deepEqual(audits.map((a) => [a.level, a.status, a.identityCalls, a.cacheHit, a.upstream, a.tokenSha256]), [1, 0, 1, 1].map((calls) => ['ERROR', 502, calls, null, null, null]));
    assert.deepEqual(audits[0]?.refusedRoles, ['identity:user-admin']);
    assert.match(audits[0]?.reason, /identity:user-admin/);
  });

  it('asks Identity at most once per 10 s per instance while the user is refused, and vends within 10 s of the role being removed', async () => {
    const d = await start({ deps: { profiles: loadProfiles({ profiles: [undeclared] }) } });
    d.identity.setUser(DEMO_USER.username, { roles: OWNER_ROLES });
    const statuses: number[] = [];
    for (let second = 0; second < 30; second++) {
      // The operator takes identity:user-admin away at second 12.
      if (second === 12) d.identity.setUser(DEMO_USER.username, { roles: ['identity:default', 'object-store:admin'] });
      statuses.push((await d.vend()).statusCode);
      d.clock.advance(1_000);
    }
    assert.equal(statuses.indexOf(200), 20, statuses.join(' '));
    assert.ok(statuses.slice(20).every((s) => s === 200));
    assert.equal(d.identity.calls, 3, 'at 0 s, 10 s and 20 s');
  });

  it('vends for the same account owner once the profile declares accountAdmin: true', async () => {
    const d = await start({ deps: { profiles: loadProfiles({ profiles: [{ ...undeclared, accountAdmin: true }] }) } });
    d.identity.setUser(DEMO_USER.username, { roles: OWNER_ROLES });
    const answer = await d.vend();
    assert.equal(answer.statusCode, 200, answer.body);
    assert.deepEqual(d.audits().map((a) => [a.level, a.status, a.refusedRoles]), [['INFO', 200, null]]);
  });

  it('refuses a role outside the declared ones (the demo declares identity:default and object-store:admin), naming only that role', async () => {
    const d = await start();
    assert.equal((await d.vend()).statusCode, 200, 'the demo sub-user holds only what its profile declares');
    d.identity.setUser(DEMO_USER.username, { roles: ['identity:default', 'object-store:admin', 'compute:default'] });
    d.clock.advance(24 * HOUR);
    const refused = await d.vend(d.instance());
    assert.deepEqual([refused.statusCode, refused.json.unexpectedRoles], [502, ['compute:default']]);
    assert.match(refused.json.detail, /does not declare: compute:default\./);
  });

  it('checks once per token, when Identity issues it: warm vends of a token that passed do not check again', async () => {
    const d = await start();
    const first = await d.vend();
    // Roles added after the token was issued reach Identity's next answer only: the token in hand stays served.
    d.identity.setUser(DEMO_USER.username, { roles: OWNER_ROLES });
    const warm = await d.vend();
    const fromTable = await d.vend(d.instance());
    assert.deepEqual([first.statusCode, warm.statusCode, fromTable.statusCode, d.identity.calls], [200, 200, 200, 1]);
    // The next token Identity issues is checked.
    d.clock.advance(24 * HOUR);
    assert.equal((await d.vend()).statusCode, 502);
  });

  it('shares one Identity call among concurrent requests and refuses them all, keeping nothing', async () => {
    const d = await start({ deps: { profiles: loadProfiles({ profiles: [undeclared] }) } });
    d.identity.setUser(DEMO_USER.username, { roles: OWNER_ROLES });
    const answers = await Promise.all(Array.from({ length: 5 }, () => d.vend()));
    assert.deepEqual(answers.map((a) => a.statusCode), [502, 502, 502, 502, 502]);
    assert.equal(d.identity.calls, 1);
    assert.ok(!(await d.record())?.ciphertext);
  });
});
