import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { DataKeyRejectedError, Envelope, TamperedError, canonical, type DataKeys } from '../../functions/core/envelope.ts';
import { fakeClock, MINUTE } from '../support/clock.ts';

/** A key service in memory: "encrypts" a data key by naming it; refuses a blob under another context. */
function keyService() {
  const keys = new Map<string, { plaintext: Buffer; context: string }>();
  const calls = { generate: 0, decrypt: 0 };
  const service: DataKeys = {
    async generate(context) {
      calls.generate++;
      const plaintext = randomBytes(32);
      const encrypted = randomBytes(16);
      keys.set(encrypted.toString('hex'), { plaintext, context: canonical(context) });
      return { plaintext, encrypted };
    },
    async decrypt(encrypted, context) {
      calls.decrypt++;
      const key = keys.get(Buffer.from(encrypted).toString('hex'));
      if (!key || key.context !== canonical(context)) throw new DataKeyRejectedError('InvalidCiphertextException');
      return key.plaintext;
    },
  };
  return { service, calls };
}

const CONTEXT = { profile: 'demo', stage: 'local' };

describe('Class: Envelope', () => {
  it('opens what it sealed, and reuses one data key for 5 minutes (then asks KMS for a new one)', async () => {
    const clock = fakeClock();
    const kms = keyService();
    const envelope = new Envelope({ keys: kms.service, now: clock.now });
    const a = await envelope.seal(CONTEXT, 'aad', 'first');
    const b = await envelope.seal(CONTEXT, 'aad', 'second');
    assert.deepEqual(a.dataKey, b.dataKey);
    assert.notDeepEqual(a.iv, b.iv, 'a fresh IV per record');
    assert.equal(await envelope.open(CONTEXT, 'aad', b), 'second');
    clock.advance(5 * MINUTE);
    const c = await envelope.seal(CONTEXT, 'aad', 'third');
    assert.notDeepEqual(c.dataKey, a.dataKey);
    assert.deepEqual(kms.calls, { generate: 2, decrypt: 0 }, 'its own records open from memory');
  });

  it('decrypts another instance’s data key once while it is young, then again after 5 minutes', async () => {
    const clock = fakeClock();
    const kms = keyService();
    const sealed = await new Envelope({ keys: kms.service, now: clock.now }).seal(CONTEXT, 'aad', 'x');
    const reader = new Envelope({ keys: kms.service, now: clock.now });
    for (let i = 0; i < 3; i++) assert.equal(await reader.open(CONTEXT, 'aad', sealed), 'x');
    clock.advance(5 * MINUTE);
    await reader.open(CONTEXT, 'aad', sealed);
    assert.equal(kms.calls.decrypt, 2);
  });

  it('throws TamperedError for other AAD, another context, a damaged ciphertext or a truncated record — never wrong plaintext', async () => {
    const clock = fakeClock();
    const kms = keyService();
    const sealed = await new Envelope({ keys: kms.service, now: clock.now }).seal(CONTEXT, 'aad', 'secret text');
    const reader = () => new Envelope({ keys: kms.service, now: clock.now });
    const flipped = Buffer.from(sealed.ciphertext);
    flipped[0] = (flipped[0] as number) ^ 1;
    for (const attempt of [
      reader().open(CONTEXT, 'other aad', sealed),
      reader().open({ ...CONTEXT, profile: 'other' }, 'aad', sealed),
      reader().open(CONTEXT, 'aad', { ...sealed, ciphertext: flipped }),
      reader().open(CONTEXT, 'aad', { ...sealed, ciphertext: sealed.ciphertext.subarray(0, 10) }),
    ]) {
      await assert.rejects(attempt, TamperedError);
    }
  });

  it('lets a key service outage through as it is (the caller falls back), unlike a refusal', async () => {
    const clock = fakeClock();
    const outage = new Error('KMS unreachable');
    const envelope = new Envelope({ keys: { generate: async () => Promise.reject(outage), decrypt: async () => Promise.reject(outage) }, now: clock.now });
    await assert.rejects(envelope.seal(CONTEXT, 'aad', 'x'), (e) => e === outage);
    await assert.rejects(envelope.open(CONTEXT, 'aad', { dataKey: randomBytes(8), iv: randomBytes(12), ciphertext: randomBytes(32) }), (e) => e === outage);
  });

  it('keeps at most maxOpened data keys, dropping the oldest', async () => {
    const clock = fakeClock();
    const kms = keyService();
    const records = await Promise.all([1, 2, 3].map((i) => new Envelope({ keys: kms.service, now: clock.now }).seal(CONTEXT, 'aad', `r${i}`)));
    const reader = new Envelope({ keys: kms.service, now: clock.now, maxOpened: 2 });
    for (const r of records) await reader.open(CONTEXT, 'aad', r);
    await reader.open(CONTEXT, 'aad', records[2] as (typeof records)[number]);
    assert.equal(kms.calls.decrypt, 3);
    await reader.open(CONTEXT, 'aad', records[0] as (typeof records)[number]);
    assert.equal(kms.calls.decrypt, 4);
  });
});
