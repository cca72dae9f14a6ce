import { afterEach } from 'node:test';
import { startDemo, type DemoOptions } from '../local/demo.ts';

export type Demo = Awaited<ReturnType<typeof startDemo>>;

/**
 * `startDemo` for a test file: every demo a test starts (some start two) is closed after that
 * test, so no server outlives it. Call once, at the top level of the file.
 */
export function demosClosedAfterEach(): (options?: DemoOptions) => Promise<Demo> {
  const running: Demo[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((demo) => demo.close()));
  });
  return async (options) => {
    const demo = await startDemo(options);
    running.push(demo);
    return demo;
  };
}
