import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDeadline, within } from '../../functions/core/deadline.ts';
import { DeadlineExceededError } from '../../functions/core/errors.ts';

/** A clock and a `timeout` whose signals this test aborts by hand, recording what each was asked for. */
function setup(start = 1_000) {
  let now = start;
  const asked: number[] = [];
  const controllers: AbortController[] = [];
  const timeout = (ms: number) => {
    asked.push(ms);
    const controller = new AbortController();
    controllers.push(controller);
    return controller.signal;
  };
  return { now: () => now, advance: (ms: number) => void (now += ms), timeout, asked, fire: () => controllers.forEach((c) => c.abort()) };
}

/** Resolves after every pending callback has run, so an unhandled rejection would have been raised. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Function: createDeadline', () => {
  it('counts down on the injected clock and creates its signal once, on first use, for the time then left', () => {
    const s = setup();
    const deadline = createDeadline(s.now, s.timeout, 5_000);
    assert.equal(deadline.left(), 5_000);
    s.advance(1_500);
    assert.equal(deadline.left(), 3_500);
    assert.deepEqual(s.asked, [], 'no timer until someone waits');
    assert.equal(deadline.signal, deadline.signal);
    assert.deepEqual(s.asked, [3_500]);
    s.advance(10_000);
    assert.equal(deadline.left(), -6_500);
  });

  it('asks for a zero timer, never a negative one, once the deadline has passed', () => {
    const s = setup();
    const deadline = createDeadline(s.now, s.timeout, 100);
    s.advance(250);
    void deadline.signal;
    assert.deepEqual(s.asked, [0]);
  });
});

describe('Function: within', () => {
  it("answers the work's value, or its error, when it settles first", async () => {
    const s = setup();
    const deadline = createDeadline(s.now, s.timeout, 1_000);
    assert.equal(await within(deadline, 'identity', Promise.resolve('token')), 'token');
    const failure = new Error('refused');
    await assert.rejects(within(deadline, 'identity', Promise.reject(failure)), (error) => error === failure);
  });

  it('rejects naming the upstream as soon as the deadline passes, and later outcomes of the work change nothing', async () => {
    const s = setup();
    const deadline = createDeadline(s.now, s.timeout, 1_000);
    let finish: (value: string) => void = () => {};
    const answer = within(deadline, 'secrets-manager', new Promise<string>((resolve) => (finish = resolve)));
    s.fire();
    await assert.rejects(answer, (error) => error instanceof DeadlineExceededError && error.upstream === 'secrets-manager' && /Secrets Manager/.test(error.message));
    finish('too late');
  });

  it('rejects at once when no time is left, and a late failure of the work is not left unhandled', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      for (const spend of [1_000, 0]) {
        const s = setup();
        const deadline = createDeadline(s.now, s.timeout, 1_000);
        s.advance(spend);
        if (spend === 0) {
          void deadline.signal;
          s.fire(); // time is left on the clock, but the timer already fired
        }
        let fail: (error: Error) => void = () => {};
        const work = new Promise<string>((_, reject) => (fail = reject));
        await assert.rejects(within(deadline, 'identity', work), (error) => error instanceof DeadlineExceededError && /Rackspace Identity/.test(error.message));
        fail(new Error('connection reset, long after'));
        await settle();
      }
    } finally {
      process.off('unhandledRejection', record);
    }
    assert.deepEqual(unhandled, []);
  });
});

describe('Class: DeadlineExceededError', () => {
  it('names what the request waited on, and asks the caller back in a second', () => {
    const cases = [['identity', 'Rackspace Identity'], ['secrets-manager', 'Secrets Manager'], [null, 'the upstream services']] as const;
    for (const [upstream, named] of cases) {
      const error = new DeadlineExceededError(upstream);
      assert.equal(error.message, `No answer from ${named} within this request's time; try again shortly.`);
      assert.deepEqual([error.status, error.retryAfterSeconds, error.upstream], [503, 1, upstream]);
    }
  });
});
