import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEMO_USER } from '../emulators/identity.ts';
import { FAULT_WORDS, mayAnswer503, runWireFault, WIRE_FAULTS } from './proxy-matrix.ts';

// The contract under one lost, late or reset call to any dependency, through the real clients:
// Identity and the table keep answering, so no caller gets a 5xx (Secrets Manager's own failure
// may be a 503 with Retry-After), the next request is served, and the lost answer costs at most
// one extra Identity call for the profile.
describe('Fault matrix on the wire: one lost, late or reset call per dependency', () => {
  for (const fault of WIRE_FAULTS) {
    const name = `${fault.dependency} ${fault.call}, ${FAULT_WORDS[fault.fault]}: no 5xx the contract forbids, at most one extra Identity call`;
    it(name, async () => {
      const r = await runWireFault(fault);
      assert.equal(r.fired, 1, 'the proxy faulted the call this row names');
      const allowed = mayAnswer503(fault.dependency) ? [200, 503] : [200];
      assert.ok(r.statuses.every((s) => allowed.includes(s)), `statuses ${r.statuses.join(', ')}: ${r.problems.join(' | ')}`);
      assert.equal(r.statuses.at(-1), 200, 'the next request after the fault is served');
      r.statuses.forEach((s, i) => s === 503 && assert.match(r.retryAfter[i] ?? '', /^\d+$/, '503 says when to retry'));
      assert.ok(r.identityCalls <= 2, `${r.identityCalls} Identity calls for one profile`);
      assert.ok(r.secondsLeft.every((s) => s >= 60), `a token with under 60 s left: ${r.secondsLeft.join(', ')}`);
      for (const line of [...r.logs, ...r.bodies]) assert.ok(!line.includes(DEMO_USER.apiKey as string), 'no API key anywhere');
    });
  }
});
