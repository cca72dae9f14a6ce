// Run by memory.ts as `node --expose-gc … memory-child.ts ours|floor|distinct`: a process of its own, so
// the RSS measured is this handler's alone and not the bench's other work. Prints one JSON line.
// `distinct` is ours with a new query on every vend (`?service=cloudDNS&region=<new text>`, answered
// by the global endpoint): what a caller who varies the query does to the per-token memos.
import { floorHandler, invoke, warmDemo, WARM_QUERY, type Invocable } from './warm.ts';
import { tokenEvent } from '../support/events.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const which = process.argv[2];
const setup = which === 'floor' ? { handler: floorHandler(), event: tokenEvent({ query: WARM_QUERY }).event, close: async () => {} } : await (async () => {
  const { demo, handler, event } = await warmDemo();
  return { handler, event, close: () => demo.close() };
})();

/** n vends, each with a region never asked before (offset keeps the two phases apart). */
async function invokeDistinct(handler: Invocable, n: number, offset: number): Promise<void> {
  for (let i = offset; i < offset + n; i++) {
    const { event, context } = tokenEvent({ query: { service: 'cloudDNS', region: `Q${i.toString(36)}` } });
    const answer = await handler(event, context as never);
    if (answer.statusCode !== 200) throw new Error(`vend ${i} answered ${answer.statusCode}: ${answer.body}`);
  }
}
const run = (n: number, offset: number) => (which === 'distinct' ? invokeDistinct(setup.handler, n, offset) : invoke(setup.handler, setup.event, n));

// Two collections: the first may only schedule finalisers whose memory the second frees.
const settle = () => {
  gc();
  gc();
  return process.memoryUsage();
};

await run(1_000, 0);
const at1k = settle();
await run(99_000, 1_000);
const at100k = settle();
await setup.close();
console.log(JSON.stringify({ which, rss1k: at1k.rss, rss100k: at100k.rss, heap1k: at1k.heapUsed, heap100k: at100k.heapUsed }));
