// Run by memory.ts as `node --expose-gc memory-child.ts ours|floor`: a process of its own, so the
// RSS measured is this handler's alone and not the bench's other work. Prints one JSON line.
import { floorHandler, invoke, warmDemo, WARM_QUERY } from './warm.ts';
import { tokenEvent } from '../support/events.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const which = process.argv[2];
const setup = which === 'floor' ? { handler: floorHandler(), event: tokenEvent({ query: WARM_QUERY }).event, close: async () => {} } : await (async () => {
  const { demo, handler, event } = await warmDemo();
  return { handler, event, close: () => demo.close() };
})();

// Two collections: the first may only schedule finalisers whose memory the second frees.
const settle = () => {
  gc();
  gc();
  return process.memoryUsage();
};

await invoke(setup.handler, setup.event, 1_000);
const at1k = settle();
await invoke(setup.handler, setup.event, 99_000);
const at100k = settle();
await setup.close();
console.log(JSON.stringify({ which, rss1k: at1k.rss, rss100k: at100k.rss, heap1k: at1k.heapUsed, heap100k: at100k.heapUsed }));
