import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { DECLARED, startDeclaredEmulators } from '../support/declared.ts';
import { observe, observeAnswer } from '../support/leak-guard.ts';

const stops: Array<() => Promise<unknown>> = [];
after(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

/** `npm start` (its script, on this Node) with extra environment; resolves once the calls are printed. */
async function start(env: Record<string, string>, ready: RegExp): Promise<string> {
  const child = spawn(process.execPath, ['test/local/start.ts'], { env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  stops.push(() => (child.kill('SIGTERM'), exited));
  // Keep reading after the banner: the audit lines follow on the same stdout.
  let printed = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      printed += String(chunk);
      observe('npm start stdout', String(chunk));
      if (ready.test(printed)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`npm start exited (${code}) after printing:\n${printed}`)));
  });
  return printed;
}

async function get(url: string, headers: Record<string, string> = {}) {
  const answer = await fetch(url, { headers });
  const body = await answer.text();
  observeAnswer('npm start answer', { statusCode: answer.status, headers: Object.fromEntries(answer.headers), body });
  return { status: answer.status, headers: answer.headers, json: JSON.parse(body) as Record<string, any> };
}

// The README's first command: `npm start` prints a call; the call it prints must work.
describe('npm start', () => {
  it('prints a curl call that returns 200 with a token and an endpoint, and a 403 call that is refused', async () => {
    const printed = await start({}, /curl .*-H .*\n/);
    const calls = [...printed.matchAll(/curl -s (?:-H '([^:]+): ([^']+)' )?'([^']+)'/g)];
    assert.equal(calls.length, 2, printed);
    const answer = await get(calls[0]?.[3] as string);
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    assert.equal(answer.headers.get('cache-control'), 'no-store');
    assert.match(answer.json.token, /^AA/);
    assert.equal(answer.json.endpoint.url, 'https://snet-storage101.dfw1.clouddrive.com/v1/MossoCloudFS_110011');
    const [, header, caller, otherUrl] = calls[1] ?? [];
    const refused = await get(otherUrl as string, { [header as string]: caller as string });
    assert.deepEqual([refused.status, refused.headers.get('content-type')], [403, 'application/problem+json']);
  });

  it('with USE_REAL_SERVICES=1 serves the deployed handler module, configured only by the environment', async () => {
    // "Real" services stood in for by the emulators, reached only through the documented variables.
    const { identity, secrets, env, close } = await startDeclaredEmulators();
    stops.push(close);
    const printed = await start({ USE_REAL_SERVICES: '1', LOCAL_CALLER_ARN: DECLARED.caller, ...env }, /curl .*\n/);
    const url = /curl -s '([^']+)'/.exec(printed)?.[1]?.replace('PROFILE', DECLARED.profile).replace('region=DFW', 'region=ord');
    assert.ok(url, printed);
    const answer = await get(url);
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    assert.equal(answer.json.endpoint.url, 'https://storage101.ord1.clouddrive.com/v1/MossoCloudFS_110011');
    assert.deepEqual([identity.calls, secrets.calls.GetSecretValue], [1, 1]);
  });
});
