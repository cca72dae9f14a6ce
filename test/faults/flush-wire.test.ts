import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fakeClock } from '../support/clock.ts';
import { call } from '../support/events.ts';
import { startProxiedDemo } from './proxied-demo.ts';
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

describe('Operator flush on the wire: invoked again after a lost revocation answer', () => {
  it('the second flush finds the token already invalid at Identity, drops it and answers 200; new instances get a new token', async () => {
    const rig = await startProxiedDemo({ clock: fakeClock() });
    try {
      const first = await call(rig.instance('instance-a'));
      rig.proxies.identity.inject({ match: 'DELETE /v2.0/tokens', fault: 'lose' });
      const operator = rig.instance('operator') as unknown as (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;
      const flush = async () => {
        const answer = await operator({ operation: 'flush', profile: 'demo', reason: 'wire test' }, { awsRequestId: 'op-1' });
        const body = JSON.parse(answer.body) as { tokens: Array<{ revocation: string }> };
        return [answer.statusCode, body.tokens.map((t) => t.revocation)];
      };
      assert.deepEqual(await flush(), [503, ['failed']], 'the answer was lost: not confirmed, nothing dropped');
      assert.equal(rig.demo.identity.revoked.has(String(first.json.token)), true, 'the revocation landed');
      assert.deepEqual(await flush(), [200, ['already-invalid']]);
      const next = await call(rig.instance('instance-c'));
      assert.equal(next.statusCode, 200);
      assert.notEqual(next.json.token, first.json.token, 'the revoked token is no longer served');
    } finally {
      await rig.close();
    }
  });
});
