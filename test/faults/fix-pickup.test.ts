import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FIX_PICKUP, runFixPickup } from './fix-pickup.ts';

describe("Fault matrix: an operator's fix of a refused key", () => {
  for (const fault of FIX_PICKUP) {
    it(`${fault.name}: live within ${fault.goalSeconds} s, at most one secret read per 10 s fleet-wide and no Identity call while refused`, async () => {
      const r = await runFixPickup(fault);
      assert.ok(r.secondsToFirst200 <= fault.goalSeconds, `first 200 after ${r.secondsToFirst200} s`);
      // 25 s of refusals: re-reads at 10 s and 20 s, one instance at a time across the fleet.
      assert.ok(r.refusedSecretReads <= Math.ceil(fault.refusedSeconds / 10), `${r.refusedSecretReads} secret reads for ${r.requestsWhileRefused} requests`);
      assert.equal(r.refusedIdentityCalls, 0, 'an unchanged secret is never sent to Identity again');
    });
  }
});
