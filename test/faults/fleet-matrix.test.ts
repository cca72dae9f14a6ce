import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FLEET_FAULTS, runFleetFault } from './fleet-matrix.ts';

describe('Fault matrix: the shared tier (table, KMS, records, leases, clocks)', () => {
  for (const fault of FLEET_FAULTS) {
    it(`${fault.name} → ${fault.expect.statuses.join(', ')}, ${fault.expect.identityCalls} Identity call(s)`, async () => {
      const result = await runFleetFault(fault);
      assert.deepEqual([result.statuses, result.identityCalls], [fault.expect.statuses, fault.expect.identityCalls]);
      result.statuses.forEach((status, i) => status === 503 && assert.match(result.retryAfter[i] ?? '', /^\d+$/, '503 says when to retry'));
    });
  }
});
