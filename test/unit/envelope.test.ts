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

describe('Class: Envelope (what each refusal says, and the memo of opened keys)', () => {
  const sealedBy = async (kms: ReturnType<typeof keyService>, clock: ReturnType<typeof fakeClock>, text: string) => new Envelope({ keys: kms.service, now: clock.now }).seal(CONTEXT, 'aad', text);
  const tampered = (message: string) => (error: unknown) => error instanceof TamperedError && error.name === 'TamperedError' && error.message === message;

  it('keeps a sealing key 5 minutes by default, to the millisecond', async () => {
    const clock = fakeClock();
    const kms = keyService();
    const envelope = new Envelope({ keys: kms.service, now: clock.now });
    await envelope.seal(CONTEXT, 'aad', 'a');
    clock.advance(5 * MINUTE - 1);
    await envelope.seal(CONTEXT, 'aad', 'b');
    assert.equal(kms.calls.generate, 1);
    clock.advance(1);
    await envelope.seal(CONTEXT, 'aad', 'c');
    assert.equal(kms.calls.generate, 2);
  });

  it('names why a record is refused: malformed, not verifying, a refused or a wrong-sized data key', async () => {
    const clock = fakeClock();
    const kms = keyService();
    const sealed = await sealedBy(kms, clock, 'secret text');
    const envelope = new Envelope({ keys: kms.service, now: clock.now });
    await assert.rejects(envelope.open(CONTEXT, 'aad', { ...sealed, iv: sealed.iv.subarray(0, 11) }), tampered('the record is malformed'));
    await assert.rejects(envelope.open(CONTEXT, 'aad', { ...sealed, ciphertext: sealed.ciphertext.subarray(0, 15) }), tampered('the record is malformed'));
    await assert.rejects(envelope.open(CONTEXT, 'other aad', sealed), (error) => tampered('the record does not verify')(error) && (error as Error).cause instanceof Error);
    await assert.rejects(envelope.open({ ...CONTEXT, stage: 'prod' }, 'aad', sealed), (error) => tampered('the data key was refused')(error) && (error as Error).cause instanceof DataKeyRejectedError);
    const short = new Envelope({ keys: { ...kms.service, decrypt: async () => randomBytes(16) }, now: clock.now });
    await assert.rejects(short.open(CONTEXT, 'aad', sealed), tampered('the data key is not a 256-bit key'));
    assert.equal(new DataKeyRejectedError('x').name, 'DataKeyRejectedError');
  });

  it('counts a re-opened key as the newest, so the memo drops the one unused longest', async () => {
    const clock = fakeClock();
    const kms = keyService();
    const a = await sealedBy(kms, clock, 'a');
    const b = await sealedBy(kms, clock, 'b');
    const c = await sealedBy(kms, clock, 'c');
    const reader = new Envelope({ keys: kms.service, now: clock.now, cacheMs: 1_000, maxOpened: 2 });
    const open = async (record: typeof a) => reader.open(CONTEXT, 'aad', record);
    await open(a);
    clock.advance(500);
    await open(b);
    clock.advance(500); // a's key is now too old, b's is not
    await open(a);
    assert.equal(kms.calls.decrypt, 3);
    await open(c); // the memo is full: b, not the just re-opened a, goes
    await open(a);
    assert.equal(kms.calls.decrypt, 4, 'a was still held');
    await open(b);
    assert.equal(kms.calls.decrypt, 5, 'b was dropped');
  });

  it('opens an empty text, whose ciphertext is only its 16-byte tag, and refuses an IV of any length but 12', async () => {
    const clock = fakeClock();
    const kms = keyService();
    const envelope = new Envelope({ keys: kms.service, now: clock.now });
    const empty = await envelope.seal(CONTEXT, 'aad', '');
    assert.deepEqual([empty.ciphertext.length, await envelope.open(CONTEXT, 'aad', empty)], [16, '']);
    const sealed = await envelope.seal(CONTEXT, 'aad', 'text');
    await assert.rejects(envelope.open(CONTEXT, 'aad', { ...sealed, iv: Buffer.concat([sealed.iv, Buffer.alloc(1)]) }), tampered('the record is malformed'));
  });

  it('reads a context the same whatever the order of its keys', () => {
    assert.equal(canonical({ profile: 'p', stage: 's' }), canonical({ stage: 's', profile: 'p' }));
    assert.notEqual(canonical({ profile: 'p', stage: 's' }), canonical({ profile: 's', stage: 'p' }));
  });
});
