import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { observe, observeAnswer } from '../support/leak-guard.ts';

// The README's first command: `npm start` prints a call; the call it prints must work.
describe('npm start', () => {
  it('prints a curl call that returns 200 with a token and an endpoint, and a 403 call that is refused', async () => {
    const child = spawn(process.execPath, ['test/local/start.ts'], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = once(child, 'exit');
    try {
      // Keep reading after the banner: the audit lines follow on the same stdout.
      let printed = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk) => {
          printed += String(chunk);
          observe('npm start stdout', String(chunk));
          if (/curl .*-H .*\n/.test(printed)) resolve();
        });
        child.once('exit', (code) => reject(new Error(`npm start exited (${code}) after printing:\n${printed}`)));
      });
      const calls = [...printed.matchAll(/curl -s (?:-H '([^:]+): ([^']+)' )?'([^']+)'/g)];
      assert.equal(calls.length, 2, printed);
      const [, , , url] = calls[0] ?? [];
      const answer = await fetch(url as string);
      const text = await answer.text();
      observeAnswer('npm start answer', { statusCode: answer.status, headers: Object.fromEntries(answer.headers), body: text });
      const body = JSON.parse(text) as Record<string, any>;
      assert.equal(answer.status, 200, JSON.stringify(body));
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      assert.match(body.token, /^AA/);
      assert.equal(body.endpoint.url, 'https://snet-storage101.dfw1.clouddrive.com/v1/MossoCloudFS_110011');
      const [, header, caller, otherUrl] = calls[1] ?? [];
      const refused = await fetch(otherUrl as string, { headers: { [header as string]: caller as string } });
      assert.deepEqual([refused.status, refused.headers.get('content-type')], [403, 'application/problem+json']);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
