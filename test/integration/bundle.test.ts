import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { bundleOptions } from '../build-options.ts';
import { DEMO_USER } from '../emulators/identity.ts';
import { RETIRED_CALLER_HEADER } from '../local/http-adapter.ts';
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

  it('never contains the local caller header, the demo caller or demo credentials (strings survive minification)', () => {
    const code = readFileSync(bundle, 'utf8');
    for (const local of [RETIRED_CALLER_HEADER, 'local-caller', DEMO_USER.apiKey as string]) assert.ok(!code.includes(local), local);
  });
});
