import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { AdminError } from '../../client/admin-aws.ts';
import { promptHidden, readAll } from '../../client/admin-input.ts';

/** A terminal's stdin: records raw mode, delivers what the test "types". */
class FakeTerminal extends EventEmitter {
  raw: boolean[] = [];
  setRawMode(on: boolean) {
    this.raw.push(on);
  }
  setEncoding() {}
  resume() {}
  pause() {}
  type(text: string) {
    this.emit('data', text);
  }
}

function terminal() {
  const input = new FakeTerminal();
  let shown = '';
  return { input, output: { write: (text: string) => void (shown += text) }, shown: () => shown };
}

describe('promptHidden', () => {
  it('reads the typed line in raw mode without echoing it, Backspace erasing, and restores the terminal', async () => {
    const t = terminal();
    const answer = promptHidden(t.input, t.output, 'API key: ');
    t.input.type('abcx');
    t.input.type('\u007fdef\r');
    assert.equal(await answer, 'abcdef');
    assert.equal(t.shown(), 'API key: \n', 'only the question and the newline, never the key');
    assert.deepEqual(t.input.raw, [true, false]);
    assert.equal(t.input.listenerCount('data'), 0);
  });

  it('gives up on Ctrl-C with exit 130 and nothing read', async () => {
    const t = terminal();
    const answer = promptHidden(t.input, t.output, 'API key: ');
    t.input.type('abc\u0003def\r');
    await assert.rejects(answer, (error: unknown) => error instanceof AdminError && error.code === 130 && /nothing was written/.test(error.message));
    assert.deepEqual(t.input.raw, [true, false]);
  });
});

describe('readAll', () => {
  it('reads piped input to its end', async () => {
    assert.equal(await readAll(Readable.from([Buffer.from('{"username":'), Buffer.from('"u"}\n')])), '{"username":"u"}\n');
  });

  it('refuses more than 64 KiB, which is no secret', async () => {
    await assert.rejects(readAll(Readable.from([Buffer.alloc(40 * 1024), Buffer.alloc(40 * 1024)])), (error: unknown) => error instanceof AdminError && error.code === 65);
  });
});
