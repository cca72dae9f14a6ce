import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import declaration from '../../infra/profiles.json' with { type: 'json' };
import { bundleOptions } from '../build-options.ts';
import { startContainerCredentialsEndpoint } from '../emulators/container-credentials.ts';
import { DEMO_USER } from '../emulators/identity.ts';
import { RETIRED_CALLER_HEADER } from '../local/http-adapter.ts';
import { startSharedEmulators } from '../local/demo.ts';
import { DECLARED, startDeclaredEmulators } from '../support/declared.ts';
import { restTokenEvent, tokenEvent } from '../support/events.ts';
import { observe, observeAnswer } from '../support/leak-guard.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'rtv-bundle-'));
const bundle = join(dir, 'handler.mjs');
let emulators: Awaited<ReturnType<typeof startDeclaredEmulators>>;

before(async () => {
  await build(bundleOptions(bundle));
  emulators = await startDeclaredEmulators();
});
after(async () => {
  await emulators.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One request to the bundle in a fresh process with exactly `env` (and PATH): its answer and its output. */
async function runBundle(env: Record<string, string>) {
  const { event } = tokenEvent({ profile: DECLARED.profile, caller: DECLARED.caller });
  const script = `const { handler } = await import(${JSON.stringify(bundle)}); console.log('RESULT ' + JSON.stringify(await handler(${JSON.stringify(event)}, { awsRequestId: 'b' })));`;
  const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH, ...env } });
  const resultLine = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(resultLine, stdout + stderr);
  const result = JSON.parse(resultLine.slice(7)) as { statusCode: number; headers: Record<string, string>; body: string };
  observeAnswer('bundle answer', result);
  observe('bundle output', stdout.replace(resultLine, '') + stderr);
  return { result, stdout };
}

describe('Integration: the deployed bundle', () => {
  it('cold-starts in a fresh process and vends through the real SDK client, configured only by the environment', async () => {
    const { event } = tokenEvent({ profile: DECLARED.profile, caller: DECLARED.caller, query: { service: 'cloudFiles', region: 'ord' } });
    const script = `const { handler } = await import(${JSON.stringify(bundle)}); console.log('RESULT ' + JSON.stringify(await handler(${JSON.stringify(event)}, { awsRequestId: 'b' })));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH, ...emulators.env },
    });
    const resultLine = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(resultLine, stdout);
    const result = JSON.parse(resultLine.slice(7));
    observeAnswer('bundle answer', result);
    observe('bundle stdout', stdout.replace(resultLine, ''));
    assert.equal(result.statusCode, 200, result.body);
    const body = JSON.parse(result.body);
    assert.equal(body.endpoint.url, 'https://storage101.ord1.clouddrive.com/v1/MossoCloudFS_110011');
    const logs = stdout.split('\n').filter((l) => l.startsWith('{'));
    assert.equal(logs.length, 1, 'one audit line');
    assert.equal(JSON.parse(logs[0] ?? '{}').audit.cacheHit, false);
    assert.ok(!stdout.replace(resultLine, '').includes(body.token) && !stdout.includes(DEMO_USER.apiKey as string), 'no secret in the logs');
  });

  it('reads the REST API (payload 1.0) event the deployed route sends: the caller from requestContext.identity', async () => {
    const allowed = restTokenEvent({ profile: DECLARED.profile, caller: DECLARED.caller, query: { service: 'cloudFiles', region: 'ord' } }).event;
    const stranger = restTokenEvent({ profile: DECLARED.profile, caller: 'arn:aws:sts::210987654321:assumed-role/other/s' }).event;
    const script = `const { handler } = await import(${JSON.stringify(bundle)});
      for (const event of ${JSON.stringify([allowed, stranger])}) console.log('RESULT ' + JSON.stringify(await handler(event, { awsRequestId: event.requestContext.requestId })));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH, ...emulators.env } });
    const lines = stdout.split('\n');
    observe('bundle stdout', lines.filter((l) => !l.startsWith('RESULT ')).join('\n'));
    const results = lines.filter((l) => l.startsWith('RESULT ')).map((l) => JSON.parse(l.slice(7)) as { statusCode: number; body: string });
    results.forEach((result) => observeAnswer('bundle answer', result));
    assert.deepEqual(results.map((r) => r.statusCode), [200, 403], stdout);
    assert.equal(JSON.parse(results[0]!.body).endpoint.url, 'https://storage101.ord1.clouddrive.com/v1/MossoCloudFS_110011');
    const audits = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l).audit);
    assert.deepEqual(audits.map((a) => [a.caller, a.status]), [[DECLARED.caller, 200], ['arn:aws:sts::210987654321:assumed-role/other/s', 403]]);
  });

  it('vends with only container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI and its token), signing with what the endpoint handed out', async () => {
    const container = await startContainerCredentialsEndpoint();
    try {
      const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...withoutKeys } = emulators.env;
      emulators.secrets.resetCalls();
      const { result, stdout } = await runBundle({ ...withoutKeys, ...container.env });
      assert.equal(result.statusCode, 200, result.body);
      assert.ok(container.requests.length >= 1 && container.requests.every((r) => r.authorized && r.path === '/2021-04-23/credentials'), JSON.stringify(container.requests));
      assert.deepEqual(emulators.secrets.signers, [{ accessKeyId: container.credentials.AccessKeyId, sessionToken: container.credentials.Token }]);
      assert.equal(JSON.parse(stdout.split('\n').find((l) => l.startsWith('{')) ?? '{}').audit.status, 200);
    } finally {
      await container.close();
    }
  });

  it('answers a fixed 500 with an ERROR audit line naming the credential failure, never "unavailable", when the function has no usable AWS credentials', async () => {
    const container = await startContainerCredentialsEndpoint();
    try {
      const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...withoutKeys } = emulators.env;
      const refusedToken = { ...withoutKeys, ...container.env, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'not-the-token' };
      for (const env of [withoutKeys, refusedToken]) {
        emulators.secrets.resetCalls();
        const { result, stdout } = await runBundle(env);
        assert.equal(result.statusCode, 500, result.body);
        assert.deepEqual(JSON.parse(result.body), {
          type: 'urn:rackspace-token-vendor:problem:service-misconfigured', title: 'Service misconfigured', status: 500,
          detail: 'The service is misconfigured; its operators must fix it. The service log has the reason.',
        });
        assert.equal(result.headers['retry-after'], undefined);
        const audit = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
        assert.deepEqual(audit.map((l) => [l.level, l.audit.status, l.audit.upstream]), [['ERROR', 500, 'secrets-manager']]);
        assert.match(audit[0]?.audit.reason, /Secrets Manager CredentialsProviderError \(client-side\): /);
        assert.doesNotMatch(audit[0]?.audit.reason, /unavailable/i);
        assert.equal(emulators.secrets.calls.GetSecretValue ?? 0, 0, 'nothing was sent');
      }
      assert.ok(container.requests.some((r) => !r.authorized), 'the refused token reached the endpoint');
    } finally {
      await container.close();
    }
  });

  it('refuses a token of an account owner the declaration does not mention: 502 credentials-overprivileged, audited at ERROR, nothing in memory or the table; with accountAdmin: true, 200', async () => {
    // The shipped declaration's profile has no roles and no accountAdmin; a second bundle is packaged
    // with accountAdmin: true on it, as an operator's infra/profiles.json would be.
    const adminBundle = join(dir, 'handler-account-admin.mjs');
    const withAccountAdmin: Plugin = {
      name: 'declaration-with-account-admin',
      setup(b) {
        b.onLoad({ filter: /infra[\\/]profiles\.json$/ }, () => ({
          loader: 'json',
          contents: JSON.stringify({ profiles: declaration.profiles.map((p, i) => (i === 0 ? { ...p, accountAdmin: true } : p)) }),
        }));
      },
    };
    await build({ ...bundleOptions(adminBundle), plugins: [withAccountAdmin] });
    const owner = await startDeclaredEmulators({ roles: ['identity:user-admin'] });
    const shared = await startSharedEmulators();
    try {
      const env = { PATH: process.env.PATH, ...owner.env, ...shared.env, AWS_ENDPOINT_URL_DYNAMODB: shared.dynamo.endpoint, AWS_ENDPOINT_URL_KMS: shared.kms.endpoint };
      const { event } = tokenEvent({ profile: DECLARED.profile, caller: DECLARED.caller });
      /** Two requests to `file` in one fresh process: their answers and the audit lines. */
      const twice = async (file: string) => {
        const script = `const { handler } = await import(${JSON.stringify(file)});
          for (const id of ['a', 'b']) console.log('RESULT ' + JSON.stringify(await handler(${JSON.stringify(event)}, { awsRequestId: id })));`;
        const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], { env });
        const lines = stdout.split('\n');
        const results = lines.filter((l) => l.startsWith('RESULT ')).map((l) => JSON.parse(l.slice(7)) as { statusCode: number; body: string });
        results.forEach((result) => observeAnswer('bundle answer', result));
        observe('bundle output', lines.filter((l) => !l.startsWith('RESULT ')).join('\n') + stderr);
        const audits = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
        return { results, audits };
      };

      const refused = await twice(bundle);
      assert.deepEqual(refused.results.map((r) => r.statusCode), [502, 502], JSON.stringify(refused.results));
      const problem = JSON.parse(refused.results[0]!.body);
      assert.deepEqual([problem.type, problem.unexpectedRoles], ['urn:rackspace-token-vendor:problem:credentials-overprivileged', ['identity:user-admin']]);
      assert.match(problem.detail, /identity:user-admin.*sub-user.*"accountAdmin": true/s);
      // Audited at ERROR; the second request is refused again (within 10 s without asking Identity):
      // no token was kept in memory to serve it.
      assert.deepEqual(refused.audits.map((l) => [l.level, l.audit.status, l.audit.identityCalls, l.audit.tokenSha256, l.audit.refusedRoles]), [['ERROR', 502, 1, null, ['identity:user-admin']], ['ERROR', 502, 0, null, ['identity:user-admin']]]);
      assert.equal(owner.identity.calls, 1);
      const { Item } = await shared.dynamo.client.send(new GetItemCommand({ TableName: shared.dynamo.table, Key: { profile: { S: DECLARED.profile } } }));
      assert.ok(!Item?.ciphertext && !Item?.expiresAt, `no token in the table: ${JSON.stringify(Object.keys(Item ?? {}))}`);

      const allowed = await twice(adminBundle);
      assert.deepEqual(allowed.results.map((r) => r.statusCode), [200, 200], JSON.stringify(allowed.results));
      assert.deepEqual(allowed.audits.map((l) => [l.level, l.audit.cacheHit]), [['INFO', false], ['INFO', true]]);
      const { Item: kept } = await shared.dynamo.client.send(new GetItemCommand({ TableName: shared.dynamo.table, Key: { profile: { S: DECLARED.profile } } }));
      assert.ok(kept?.ciphertext, 'the accepted token is shared through the table');
    } finally {
      await Promise.all([owner.close(), shared.dynamo.close(), shared.kms.close()]);
    }
  });

  it('never contains the local caller header, the demo caller or demo credentials (strings survive minification)', () => {
    const code = readFileSync(bundle, 'utf8');
    for (const local of [RETIRED_CALLER_HEADER, 'local-caller', DEMO_USER.apiKey as string]) assert.ok(!code.includes(local), local);
  });
});
