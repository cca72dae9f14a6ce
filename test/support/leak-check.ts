// Preloaded into every test file by `npm test` (`--import`): turns the leak guard on, watches this
// process's stdout and stderr too, and fails the file if anything custodied leaked.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { enableLeakGuard, findLeaks, observe } from './leak-guard.ts';

enableLeakGuard();
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    observe(stream === process.stdout ? 'stdout' : 'stderr', typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return write(chunk, ...rest);
  }) as typeof stream.write;
}

// A failing hook stops the top-level `after` hooks registered after it, the ones that close a file's
// servers: npm test and Stryker run with --test-force-exit so such a file fails instead of hanging.
after(() => {
  const leaks = findLeaks();
  assert.deepEqual(leaks, [], `custodied values leaked:\n${leaks.join('\n')}`);
});
