import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadConfig } from '../../functions/config.ts';
import { createLogger } from '../../functions/core/logger.ts';
import { loadProfiles } from '../../functions/core/profiles.ts';
import { makeRotationHandler } from '../../functions/rotate/app.ts';
import { DEMO_USER } from '../emulators/identity.ts';
import { fakeClock, HOUR, MINUTE } from '../support/clock.ts';
import { auditsIn, call } from '../support/events.ts';
import { observe } from '../support/leak-guard.ts';
import { DEMO_PROFILES, DEMO_SECRET_ID } from '../local/demo.ts';
import { demosClosedAfterEach } from '../support/demos.ts';

// Log lines and answers are checked for keys and tokens by the suite's leak guard (test/support/leak-guard.ts).
const startDemo = demosClosedAfterEach();
const OLD_KEY = DEMO_USER.apiKey as string;
const USER_ID = '100000';
const ROTATE_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:rackspace-token-vendor-local-rotate';
const rotating = { profiles: DEMO_PROFILES.profiles.map((p) => ({ ...p, rotateEveryDays: 1 })) };

async function start(options: { shared?: boolean; rotates?: boolean } = {}) {
  const clock = fakeClock();
  const lines: string[] = [];
  const d = await startDemo({
    clock,
    shared: options.shared ?? false,
    sink: (line) => void lines.push(line),
    deps: { random: () => 0.5, ...(options.rotates && { profiles: loadProfiles(rotating) }) },
  });
  const statuses: number[] = [];
  const vend = async (handler: unknown = d.handler, query?: Record<string, string>) => {
    const answer = await call(handler, query ? { query } : {});
    statuses.push(answer.statusCode);
    return answer;
  };
  /** What an allowed caller can do with the token it was vended: reset the profile's key at Identity. */
  const resetFromOutside = async (token: string) => {
    const url = `${d.identity.url}/users/${USER_ID}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials/RAX-AUTH/reset`;
    const response = await fetch(url, { method: 'POST', headers: { 'x-auth-token': token, accept: 'application/json' } });
    const body = (await response.json()) as { 'RAX-KSKEY:apiKeyCredentials': { apiKey: string } };
    return body['RAX-KSKEY:apiKeyCredentials'].apiKey;
  };
  const identityStatus = async (apiKey: string) => {
    const body = { auth: { 'RAX-KSKEY:apiKeyCredentials': { username: DEMO_USER.username, apiKey } } };
    const response = await fetch(`${d.identity.url}/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
    await response.arrayBuffer();
    return response.status;
  };
  /** A vend, the key reset from outside with the vended token (answered: the new key), then the clock in the token's last half hour. */
  const resetThenAge = async () => {
    const first = await vend();
    const key = await resetFromOutside(first.json.token);
    clock.advance(23 * HOUR + 30 * MINUTE);
    return key;
  };
  /** The stack's rotation function, registered for ROTATE_ARN with the Secrets Manager emulator. */
  const registerRotation = (client: SecretsManagerClient, extra: { fetch?: typeof fetch } = {}) => {
    const rotate = makeRotationHandler({
      config: loadConfig({ IDENTITY_URL: d.identity.url }),
      secretsClient: client,
      logger: createLogger({ sink: (line) => observe('rotation log line', line) }),
      now: clock.now,
      sleep: async () => {},
      ...extra,
    });
    d.secrets.registerRotationFunction(ROTATE_ARN, async (event) => rotate(event));
  };
  const current = () => JSON.parse(d.secrets.valueAt(DEMO_SECRET_ID, 'AWSCURRENT') as string) as Record<string, string>;
  const currentVersion = () => Object.entries(d.secrets.stagesOf(DEMO_SECRET_ID)).find(([, labels]) => labels.includes('AWSCURRENT'))?.[0];
  const audits = () => auditsIn(lines);
  const lastLine = () => JSON.parse(lines.at(-1) as string) as Record<string, any>;
  return { ...d, clock, lines, statuses, vend, resetFromOutside, resetThenAge, registerRotation, identityStatus, current, currentVersion, audits, lastLine };
}

/** The key the service holds expires within the hour: the next vend asking for an hour must renew it. */
const RENEW = { minTtl: '3600' };

describe('Healing a key reset from outside (emulators, real SDK client, real fetch)', () => {
  for (const shared of [false, true]) {
    it(`heals with no operator action and no 502 during a warm period: the secret holds the key Identity accepts, KeyHealed is emitted (shared tier ${shared ? 'on' : 'off'})`, async () => {
      const d = await start({ shared });
      const first = await d.vend();
      const key = await d.resetFromOutside(first.json.token);
      // Warm: cached answers go on; nothing asks Identity until the token needs renewing.
      for (let i = 0; i < 3; i++) assert.equal((await d.vend()).statusCode, 200);
      d.clock.advance(23 * HOUR + 30 * MINUTE);
      const renewed = await d.vend(d.handler, RENEW);
      assert.equal(renewed.statusCode, 200);
      assert.notEqual(renewed.json.token, first.json.token, 'a new token, issued for the healed key');
      assert.deepEqual(d.statuses.filter((s) => s === 502), [], 'no 502 at all');
      assert.equal(d.current().apiKey, key, 'AWSCURRENT holds exactly the key Identity returned');
      assert.deepEqual({ ...d.current(), apiKey: 'x' }, { username: DEMO_USER.username, apiKey: 'x', identityUrl: d.identity.url }, 'every other field kept');
      assert.equal(await d.identityStatus(d.current().apiKey as string), 200);
      assert.equal(JSON.parse(d.secrets.valueAt(DEMO_SECRET_ID, 'AWSPREVIOUS') as string).apiKey, OLD_KEY, 'the refused key stays readable as AWSPREVIOUS');
      const line = d.lastLine();
      assert.deepEqual([line.audit.heal, line.audit.healDetail, line.KeyHealed, line.audit.status], ['healed', null, 1, 200]);
      assert.ok(line._aws.CloudWatchMetrics[0].Metrics.some((m: { Name: string }) => m.Name === 'KeyHealed'));
      assert.deepEqual(d.audits().slice(0, -1).map((a) => a.heal), [null, null, null, null], 'only the renewal met the refusal');
      // Later vends send the healed key: the cache took the new version.
      d.clock.advance(23 * HOUR + 30 * MINUTE);
      d.identity.resetCalls();
      assert.equal((await d.vend(d.handler, RENEW)).statusCode, 200);
      assert.equal(d.identity.requests.tokens, 1, 'one authentication, with the healed key, no 401 first');
    });
  }

  it("heals in a new instance from the shared table's token (the user's id is sealed with it)", async () => {
    const d = await start({ shared: true });
    const key = await d.resetThenAge();
    // A new execution environment: nothing in its memory; the table holds the token, short of an hour.
    const renewed = await d.vend(d.instance(), RENEW);
    assert.equal(renewed.statusCode, 200);
    assert.deepEqual([d.lastLine().audit.heal, d.lastLine().KeyHealed], ['healed', 1]);
    assert.equal(d.current().apiKey, key);
  });

  it('with rotation on, starts a rotation at once: the key whoever reset it knows stops working', async () => {
    const d = await start({ rotates: true });
    const client = new SecretsManagerClient({ endpoint: d.secrets.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-emulator' }, maxAttempts: 1 });
    try {
      d.registerRotation(client);
      // The stack's RotationSchedule: the secret rotates with this function (not now).
      await client.send(new RotateSecretCommand({ SecretId: DEMO_SECRET_ID, RotationLambdaARN: ROTATE_ARN, RotationRules: { AutomaticallyAfterDays: 1 }, RotateImmediately: false }));
      const first = await d.vend();
      const known = await d.resetFromOutside(first.json.token);
      d.clock.advance(23 * HOUR + 30 * MINUTE);
      assert.equal((await d.vend(d.handler, RENEW)).statusCode, 200);
      assert.deepEqual([d.lastLine().audit.heal, d.lastLine().audit.healDetail], ['healed', 'rotation started']);
      await d.secrets.rotationsSettled();
      assert.equal(d.secrets.rotations.length, 1);
      assert.ok(d.secrets.rotations[0]?.ok, 'the rotation ran all four steps');
      const rotated = d.current().apiKey as string;
      assert.notEqual(rotated, known);
      assert.equal(await d.identityStatus(known), 401, 'the key the outsider knows is refused');
      assert.equal(await d.identityStatus(rotated), 200);
    } finally {
      client.destroy();
    }
  });

  it("leaves a rotation's own reset alone: a renewal between its reset and its put is not healed, and no alarm", async () => {
    const d = await start({ rotates: true });
    const client = new SecretsManagerClient({ endpoint: d.secrets.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-emulator' }, maxAttempts: 1 });
    const during: Array<{ status: number; heal: unknown; healed: unknown; keyReads: number }> = [];
    try {
      d.registerRotation(client, {
        // Right after Identity answered the reset, before the rotation stores the new key: a renewal.
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          if (String(input).endsWith('/RAX-AUTH/reset')) {
            // Counted around the renewal only: the rotation itself reads the new key back after its reset.
            const before = d.identity.requests.getKey;
            const status = (await d.vend(d.handler, RENEW)).statusCode;
            during.push({ status, heal: d.lastLine().audit.heal, healed: d.lastLine().KeyHealed, keyReads: d.identity.requests.getKey - before });
          }
          return response;
        },
      });
      await d.vend();
      d.clock.advance(23 * HOUR + 30 * MINUTE);
      await client.send(new RotateSecretCommand({ SecretId: DEMO_SECRET_ID, RotationLambdaARN: ROTATE_ARN, RotateImmediately: true }));
      await d.secrets.rotationsSettled();
      assert.deepEqual(during, [{ status: 502, heal: 'rotation-underway', healed: 0, keyReads: 0 }]);
      assert.ok(d.secrets.rotations[0]?.ok, 'the rotation finished');
      assert.equal(await d.identityStatus(d.current().apiKey as string), 200);
    } finally {
      client.destroy();
    }
  });

  it('with no token held (a new instance), writes nothing and answers 502 with the reason audited', async () => {
    const d = await start();
    const first = await d.vend();
    await d.resetFromOutside(first.json.token);
    const version = d.currentVersion();
    const cold = await d.vend(d.instance());
    assert.equal(cold.statusCode, 502);
    assert.equal(d.lastLine().audit.heal, 'no-token');
    assert.equal(d.lastLine().KeyHealed, 0);
    assert.equal(d.secrets.calls.PutSecretValue, undefined);
    assert.equal(d.currentVersion(), version);
    assert.equal(d.identity.requests.getKey, 0);
  });

  it('with the held token expired, writes nothing and answers 502', async () => {
    const d = await start();
    const first = await d.vend();
    await d.resetFromOutside(first.json.token);
    d.clock.advance(24 * HOUR + MINUTE);
    assert.equal((await d.vend()).statusCode, 502);
    assert.equal(d.lastLine().audit.heal, 'token-expired');
    assert.equal(d.identity.requests.getKey, 0);
    assert.equal(d.secrets.calls.PutSecretValue, undefined);
    assert.equal(d.current().apiKey, OLD_KEY);
  });

  it('when Identity still holds the same key (a real refusal), writes nothing', async () => {
    const d = await start();
    await d.vend();
    d.clock.advance(23 * HOUR + 30 * MINUTE);
    const unauthorized = JSON.stringify({ unauthorized: { code: 401, message: 'Unable to authenticate user with credentials provided.' } });
    d.identity.injectFaults({ status: 401, body: unauthorized });
    assert.equal((await d.vend(d.handler, RENEW)).statusCode, 502);
    assert.equal(d.lastLine().audit.heal, 'same-key');
    assert.equal(d.identity.requests.getKey, 1);
    assert.equal(d.secrets.calls.PutSecretValue, undefined);
  });

  it('when an operator changes the secret before the heal reads it, writes nothing', async () => {
    const d = await start();
    await d.resetThenAge();
    const operators = JSON.stringify({ username: DEMO_USER.username, apiKey: 'operator-typed-0123456789abcdef', identityUrl: d.identity.url });
    d.identity.injectFaults({ on: 'getKey', thenAnswer: true, onReceive: () => d.secrets.putSecret(DEMO_SECRET_ID, operators) });
    assert.equal((await d.vend(d.handler, RENEW)).statusCode, 502);
    assert.equal(d.lastLine().audit.heal, 'secret-changed');
    assert.equal(d.secrets.calls.PutSecretValue, undefined);
    assert.equal(d.current().apiKey, 'operator-typed-0123456789abcdef');
  });

  it('when the secret changes between the read and the move, Secrets Manager refuses the move: the operator\'s value stays current', async () => {
    const d = await start();
    await d.resetThenAge();
    const operators = JSON.stringify({ username: DEMO_USER.username, apiKey: 'operator-typed-0123456789abcdef', identityUrl: d.identity.url });
    // Not a fault: the put goes through; the operator's own put lands just as it does.
    d.secrets.injectFaults({ type: 'unused', operation: 'PutSecretValue', when: () => (d.secrets.putSecret(DEMO_SECRET_ID, operators), false) });
    assert.equal((await d.vend(d.handler, RENEW)).statusCode, 502);
    assert.equal(d.lastLine().audit.heal, 'secret-changed');
    assert.deepEqual([d.secrets.calls.PutSecretValue, d.secrets.calls.UpdateSecretVersionStage], [1, 1]);
    assert.equal(d.current().apiKey, 'operator-typed-0123456789abcdef');
  });

  it('when the write is refused (IAM), answers 502 and audits which call failed', async () => {
    const d = await start();
    await d.resetThenAge();
    d.secrets.injectFaults({ type: 'AccessDeniedException', operation: 'PutSecretValue', message: 'not authorized to perform: secretsmanager:PutSecretValue' });
    assert.equal((await d.vend(d.handler, RENEW)).statusCode, 502);
    const { audit } = d.lastLine();
    assert.equal(audit.heal, 'write-refused');
    assert.match(audit.healDetail, /^AccessDeniedException: /);
    assert.equal(d.current().apiKey, OLD_KEY);
  });
});
