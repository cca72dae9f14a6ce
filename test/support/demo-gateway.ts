import { after, before } from 'node:test';
import { startDemo } from '../local/demo.ts';
import { serveLocally } from '../local/http-adapter.ts';
import type { LocalKey } from '../local/sigv4.ts';

/**
 * `npm start`'s own pieces for a test file: the demo handler (one Identity attempt, quiet log) behind
 * the local SigV4 gateway that knows `keys`; started before the file's tests, closed after them.
 *
 * @example
 * const gateway = demoGateway([YOU]);
 * it('…', async () => { await fetch(`${gateway.url}/v1/profiles/demo/token`) });
 */
export function demoGateway(keys: LocalKey[]): { url: string } {
  const rig = { url: '' };
  let close = async () => {};
  before(async () => {
    const demo = await startDemo({ env: { IDENTITY_ATTEMPTS: '1' }, sink: () => {} });
    const gateway = await serveLocally(demo.handler, { port: 0, keys: new Map(keys.map((key) => [key.accessKeyId, key])), region: 'us-east-1' });
    rig.url = gateway.url;
    close = async () => {
      await gateway.close();
      await demo.close();
    };
  });
  after(() => close());
  return rig;
}
