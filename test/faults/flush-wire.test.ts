import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FAULT_WORDS } from './proxy-matrix.ts';
import { FLUSH_FAULTS, flushKeptPromise, runFlushFault } from './flush-wire.ts';

// README's promise under one lost, late or reset call of the flush: the token is revoked at
// Rackspace first and dropped after, otherwise nothing changes (the fleet still serves it and a
// second flush can revoke it); a 200 always means revoked.
describe('Operator flush on the wire: one lost, late or reset call', () => {
  for (const fault of FLUSH_FAULTS) {
    it(`${fault.dependency} ${fault.call}, ${FAULT_WORDS[fault.fault]}: revoked, or still held; never dropped unrevoked; the audit names what was revoked`, fault.todo ? { todo: fault.todo } : {}, async () => {
      const r = await runFlushFault(fault);
      assert.ok(r.fired >= 1, 'the proxy faulted the call this row names');
      assert.ok(r.revoked || r.stillServed, `dropped unrevoked: flush ${r.status} (${r.detail})`);
      if (!r.revoked) assert.notEqual(r.status, 200, 'a 200 means the token was revoked');
      if (r.revocationsSent > 0) assert.ok(r.audited.length > 0, `a revocation was sent and the audit names no token: flush ${r.status} (${r.detail})`);
      assert.ok(flushKeptPromise(r));
    });
  }
});
