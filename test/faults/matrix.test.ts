import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEMO_USER } from '../emulators/identity.ts';
import { FAULTS, LAMBDA_TIMEOUT_MS, runFault } from './matrix.ts';

// Every row runs on a fake clock: timeouts, Retry-After waits and slow answers move it, nothing
// waits for real. So the rows assert calls, waits and simulated time, never the wall clock.
describe('Fault matrix: every Identity and Secrets Manager fault class', () => {
  for (const fault of FAULTS) {
    it(`${fault.name} → ${fault.expect.status}, ${fault.expect.identityCalls} Identity call(s)`, async () => {
      const result = await runFault(fault);
      assert.equal(result.status, fault.expect.status, result.body);
      assert.equal(result.identityCalls, fault.expect.identityCalls);
      if (fault.expect.retryAfter) assert.equal(result.retryAfter, fault.expect.retryAfter);
      if (fault.expect.waits) assert.deepEqual(result.waits, fault.expect.waits);
      if (fault.expect.secretReads !== undefined) assert.equal(result.secretReads, fault.expect.secretReads);
      if (result.status === 503) assert.match(result.retryAfter ?? '', /^\d+$/, '503 always says when to retry');
      const timeoutMs = fault.remainingMs ?? LAMBDA_TIMEOUT_MS;
      assert.ok(result.longestMs < timeoutMs, `a request took ${result.longestMs} simulated ms of ${timeoutMs}`);
      const body = JSON.parse(result.body);
      if (result.status !== 200) assert.deepEqual([body.status, typeof body.detail], [result.status, 'string']);
      assert.equal(result.logs.filter((l) => l.includes('"audit"')).length, result.requests, 'one audit line per request');
      for (const line of [...result.logs, result.body]) assert.ok(!line.includes(DEMO_USER.apiKey as string), 'no API key anywhere');
    });
  }
});
