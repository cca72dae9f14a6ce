import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { identityKeys, type KeySession } from '../../functions/adapters/identity-keys.ts';
import { IdentityRejectedError, IdentityUnavailableError } from '../../functions/adapters/identity.ts';
import { fakeClock } from '../support/clock.ts';
import { DEMO_USER, startIdentityEmulator, type IdentityEmulator, type IdentityFault } from '../emulators/identity.ts';

// The rotation's two key calls against the Identity emulator: real fetch, Rackspace's paths and headers.
describe('Function: identityKeys', () => {
  let identity: IdentityEmulator;
  let session: KeySession;
  const clock = fakeClock();
  const keys = identityKeys({ now: clock.now, timeout: clock.timeout });

  before(async () => {
    identity = await startIdentityEmulator({ users: [{ ...DEMO_USER }], time: clock });
    const answer = await fetch(`${identity.url}/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ auth: { 'RAX-KSKEY:apiKeyCredentials': { username: DEMO_USER.username, apiKey: DEMO_USER.apiKey } } }),
    });
    const { access } = (await answer.json()) as { access: { token: { id: string }; user: { id: string } } };
    // Trailing slashes on the URL, as an operator may write it.
    session = { identityUrl: `${identity.url}//`, userId: access.user.id, tokenId: access.token.id };
  });
  after(() => identity.close());

  it("reads the user's key, and a reset answers a new one that the next read sees", async () => {
    assert.equal(await keys.current(session, 1_000), DEMO_USER.apiKey);
    const fresh = await keys.reset(session, 1_000);
    assert.notEqual(fresh, DEMO_USER.apiKey);
    assert.equal(await keys.current(session, 1_000), fresh);
    assert.deepEqual([identity.requests.getKey, identity.requests.reset], [2, 1]);
  });

  it("reads the key with the username Identity's answer names (a heal checks it is the secret's user), or null when it names none", async () => {
    const read = await keys.read(session, 1_000);
    assert.deepEqual(read, { apiKey: await keys.current(session, 1_000), username: DEMO_USER.username });
    identity.injectFaults({ on: 'getKey', status: 200, body: JSON.stringify({ 'RAX-KSKEY:apiKeyCredentials': { apiKey: 'k-without-user-0123456789' } }) });
    assert.deepEqual(await keys.read(session, 1_000), { apiKey: 'k-without-user-0123456789', username: null });
  });

  it('keeps why no answer came as the cause, for the log', async () => {
    identity.injectFaults({ reset: true, on: 'reset' });
    const error: unknown = await keys.reset(session, 1_000).catch((e: unknown) => e);
    assert.ok(error instanceof IdentityUnavailableError && error.fault === 'network');
    assert.ok(error.cause instanceof TypeError, 'the fetch failure');
  });

  it('is refused without a valid token of its own (the token goes in X-Auth-Token)', async () => {
    await assert.rejects(keys.current({ ...session, tokenId: 'not-a-token-0000' }, 1_000), (error) => error instanceof IdentityRejectedError && error.identityStatus === 401);
  });

  const unavailable = (fault: string, detail: string, retryAfter?: number) => (error: unknown) =>
    error instanceof IdentityUnavailableError &&
    error.fault === fault &&
    error.message.includes(`(${detail})`) &&
    error.retryAfterGiven === (retryAfter !== undefined) &&
    (retryAfter === undefined || error.retryAfterSeconds === retryAfter);
  const cases: Array<[string, IdentityFault, (error: unknown) => boolean]> = [
    ['429 with Retry-After', { status: 429, headers: { 'retry-after': '7' } }, unavailable('rate-limited', 'rate limited, HTTP 429', 7)],
    ['413', { status: 413 }, unavailable('rate-limited', 'rate limited, HTTP 413')],
    ['503 with Retry-After', { status: 503, headers: { 'retry-after': '3' } }, unavailable('server-error', 'HTTP 503', 3)],
    ['500', { status: 500 }, unavailable('server-error', 'HTTP 500')],
    ['a redirect, never followed', { status: 302, headers: { location: 'https://elsewhere.example/' } }, unavailable('malformed', 'HTTP 302')],
    ['a 200 that is not a key answer', { status: 200, body: '{"apiKey":"x"}' }, unavailable('malformed', 'its key answer was not the expected JSON')],
    ['a connection reset', { reset: true }, unavailable('network', 'network error')],
    ['no answer in time', { delayMs: Infinity }, unavailable('timeout', 'no answer within 30 ms')],
    ...[400, 403, 404].map((status): [string, IdentityFault, (error: unknown) => boolean] => [
      `${status}`,
      { status, body: '{"itemNotFound":{"code":404}}' },
      (error) => error instanceof IdentityRejectedError && error.identityStatus === status && /Identity answered \d+ itemNotFound/.test(String((error.cause as Error).message)),
    ]),
  ];
  for (const [name, fault, expected] of cases) {
    it(`classifies ${name} like the token call does`, async () => {
      identity.injectFaults({ ...fault, on: 'getKey' });
      await assert.rejects(keys.current(session, name === 'no answer in time' ? 30 : 1_000), expected);
    });
  }
});
