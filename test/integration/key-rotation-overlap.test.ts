import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { claimVersionId, parseSession, type SavedSession } from '../../functions/rotate/session.ts';
import { DEMO_USER } from '../emulators/identity.ts';
import { DEMO_SECRET_ID } from '../local/demo.ts';
import { startDeclaredEmulators, DECLARED } from '../support/declared.ts';
import { call } from '../support/events.ts';
import { observe } from '../support/leak-guard.ts';
import { assertRotated, rotateAndSettle, rotationRigs, type RotationRig } from '../support/rotation-rig.ts';

// Key rotation through RotateSecret, the real SDK and both emulators, where invocations overlap,
// a Secrets Manager call is never answered, and the session the rotation saved must end dead.

const OLD_KEY = DEMO_USER.apiKey as string;
const rig = rotationRigs();
const pendingPut = (input: Record<string, unknown>) => JSON.stringify(input.VersionStages) === '["AWSPENDING"]';

/** The session this rotation saved with its first claim, read by version id as anyone allowed to read the secret could. */
async function savedSession(r: RotationRig): Promise<SavedSession> {
  const rotation = r.secrets.rotations[0]?.token as string;
  const answer = await r.client.send(new GetSecretValueCommand({ SecretId: DEMO_SECRET_ID, VersionId: claimVersionId(rotation, 0) }));
  const session = parseSession(answer.SecretString ?? '');
  assert.ok(session, 'the claim version holds a session');
  return session;
}

/** Identity's answer to reading the user's key with this token: 200, or 401 once it is revoked. */
async function keyReadStatus(r: RotationRig, session: SavedSession): Promise<number> {
  const response = await fetch(`${r.identity.url}/users/${session.userId}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials`, {
    headers: { 'x-auth-token': session.tokenId, accept: 'application/json' },
  });
  await response.arrayBuffer();
  return response.status;
}

describe('Key rotation with overlapping invocations', () => {
  it('a duplicate createSecret that arrives while the first is about to reset stops before resetting: one reset, the rotation finishes', async () => {
    const ref: { rig?: RotationRig; duplicate?: Promise<unknown> } = {};
    const r = await rig({
      fetch: (inner) => async (input, init) => {
        if (String(input).endsWith('/RAX-AUTH/reset') && !ref.duplicate) {
          const token = ref.rig?.secrets.rotations[0]?.token as string;
          // The duplicate delivery runs to its end while the first invocation holds its reset.
          ref.duplicate = (ref.rig as RotationRig).handler({ Step: 'createSecret', SecretId: DEMO_SECRET_ID, ClientRequestToken: token }).catch((error: unknown) => error);
          await ref.duplicate;
        }
        return inner(input, init);
      },
    });
    ref.rig = r;
    await rotateAndSettle(r);
    assert.match(String(await ref.duplicate), /^RotationError: Another invocation of this rotation holds the claim to reset the key/);
    await assertRotated(r, OLD_KEY);
    assert.equal(r.identity.requests.reset, 1);
    assert.deepEqual(
      r.audit().map((line) => `${String(line.rotation.step)}:${String(line.rotation.outcome)}`),
      ['createSecret:failed', 'createSecret:reset', 'setSecret:nothing-to-do', 'testSecret:tested', 'finishSecret:finished'],
    );
  });
});

describe('Key rotation when Secrets Manager does not answer', () => {
  it('a put of AWSPENDING that is never answered ends at the client timeout in an audited failure, and the re-attempt recovers the key', async () => {
    const r = await rig({ secretsTimeouts: { connectMs: 200, requestMs: 100 } });
    // Every attempt of the retried put is held without an answer until the client gives up.
    r.secrets.injectFaults(...Array.from({ length: 5 }, () => ({ type: 'InternalServiceError', operation: 'PutSecretValue', when: pendingPut, delayMs: Infinity })));
    await rotateAndSettle(r);
    const failed = r.audit().filter((line) => line.rotation.outcome === 'failed');
    assert.deepEqual(failed.map((line) => [line.level, line.rotation.step]), [['ERROR', 'createSecret']]);
    assert.match(String(failed[0]?.rotation.reason), /could not be stored as AWSPENDING; run rotate-secret again before .*\(.*exceeded the configured 100 ms requestTimeout/);
    assert.equal(r.waits.length, 4, 'each of the five attempts ended, with a backoff between them');
    await rotateAndSettle(r);
    await assertRotated(r, OLD_KEY);
    assert.equal(r.identity.requests.reset, 1);
  });
});

describe('The deployed rotation handler (functions/rotate/handler.ts) when Secrets Manager does not answer', () => {
  // Its client is built at module scope from the environment; only the endpoint points at the emulator.
  // The guard below is no timing assertion: it only ends the test if the call hangs (no client timeout).
  it('ends a DescribeSecret that is never answered with an audited ERROR line instead of hanging to Lambda\'s kill', { timeout: 30_000 }, async () => {
    const emulators = await startDeclaredEmulators();
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    try {
      Object.assign(process.env, emulators.env);
      emulators.secrets.injectFaults(...Array.from({ length: 2 }, () => ({ type: 'InternalServiceError', operation: 'DescribeSecret', delayMs: Infinity })));
      const { handler } = await import('../../functions/rotate/handler.ts');
      // The log's lines are kept; anything else (the test runner's own reports) passes through.
      process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
        typeof chunk === 'string' && chunk.startsWith('{"level"') ? (lines.push(chunk), true) : write(chunk, ...rest)) as typeof process.stdout.write;
      const token = '00000000-0000-4000-8000-000000000001';
      const error: unknown = await handler({ Step: 'createSecret', SecretId: DECLARED.secretId, ClientRequestToken: token }).then(() => null, (e: unknown) => e);
      process.stdout.write = write;
      lines.forEach((line) => observe('rotation log line', line));
      assert.ok(error instanceof Error, 'the step fails');
      const audit = lines.map((line) => JSON.parse(line) as { level: string; rotation?: Record<string, unknown> }).filter((line) => line.rotation);
      assert.deepEqual(audit.map((line) => [line.level, line.rotation?.step, line.rotation?.outcome]), [['ERROR', 'createSecret', 'failed']]);
      assert.match(String(audit[0]?.rotation?.reason), /requestTimeout/);
      assert.equal(emulators.secrets.calls.DescribeSecret, 2, 'the deployed client\'s two attempts, each ended by its own timeout');
    } finally {
      process.stdout.write = write;
      await emulators.close();
    }
  });
});

describe("The rotation's saved session after finishSecret", () => {
  it('is revoked at Identity when nobody else holds its token: the version left behind holds a token Identity refuses (401)', async () => {
    // Tokens that live under an hour are never handed out twice: the rotation's token is its own.
    const r = await rig({ identityLifetimeMs: 50 * 60_000 });
    const warm = r.vendingEnvironment();
    assert.equal((await call(warm)).statusCode, 200);
    await rotateAndSettle(r);
    await assertRotated(r, OLD_KEY);
    const session = await savedSession(r);
    assert.equal(await keyReadStatus(r, session), 401);
    assert.equal(r.identity.requests.revoke, 1);
    const finished = r.audit().find((line) => line.rotation.step === 'finishSecret');
    assert.deepEqual(
      [finished?.level, (finished?.rotation.sessions as Array<{ end: string }>).map((s) => s.end)],
      ['INFO', ['revoked']],
    );
    assert.equal((await call(warm)).statusCode, 200, 'the fleet held another token');
  });

  it('is kept when Identity issues that same token for the new key (it is the one the fleet hands out), and the audit line says so', async () => {
    const r = await rig();
    const warm = r.vendingEnvironment();
    assert.equal((await call(warm)).statusCode, 200);
    await rotateAndSettle(r);
    await assertRotated(r, OLD_KEY);
    const session = await savedSession(r);
    assert.equal(await keyReadStatus(r, session), 200, 'still valid: revoking it would break every caller holding it');
    assert.equal(r.identity.requests.revoke, 0);
    const finished = r.audit().find((line) => line.rotation.step === 'finishSecret');
    assert.deepEqual((finished?.rotation.sessions as Array<{ end: string }>).map((s) => s.end), ['kept-in-use']);
  });

  it('a revocation Identity does not confirm leaves the rotation finished, audited at WARN with the reason', async () => {
    const r = await rig({ identityLifetimeMs: 50 * 60_000 });
    r.identity.injectFaults({ on: 'revoke', status: 503 });
    await rotateAndSettle(r);
    await assertRotated(r, OLD_KEY);
    assert.ok(r.secrets.rotations[0]?.ok, 'Secrets Manager saw every step succeed');
    const finished = r.audit().find((line) => line.rotation.step === 'finishSecret');
    assert.deepEqual([finished?.level, finished?.rotation.outcome], ['WARN', 'finished']);
    assert.match(String(finished?.rotation.warning), /did not confirm the revocation of 1 saved session token/);
    assert.equal(await keyReadStatus(r, await savedSession(r)), 200);
  });
});
