import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { observe } from '../support/leak-guard.ts';

/** A function as Lambda runs it: an event in, a JSON-serialisable answer (or a throw) out. */
export type EmulatedFunction = (event: unknown, context: { awsRequestId: string }) => Promise<unknown>;

export interface LambdaEmulator {
  endpoint: string;
  /** Every payload invoked, by function name, as received. */
  readonly invocations: Array<{ functionName: string; payload: string }>;
  close(): Promise<void>;
}

const INVOKE = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/**
 * Lambda's Invoke (`POST /2015-03-31/functions/NAME/invocations`, RequestResponse) on 127.0.0.1 for
 * the real `LambdaClient`: it runs the registered handler with the payload and answers what the
 * service answers — the handler's JSON, or `X-Amz-Function-Error: Unhandled` with
 * `errorType`/`errorMessage` when it throws, and ResourceNotFoundException for an unknown name.
 *
 * @example
 * const lambda = await startLambdaEmulator({ 'rackspace-token-vendor-local-token': demo.handler });
 */
export async function startLambdaEmulator(functions: Record<string, EmulatedFunction>, options: { port?: number } = {}): Promise<LambdaEmulator> {
  const invocations: Array<{ functionName: string; payload: string }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const match = INVOKE.exec(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
      if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256')) return error(res, 403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
      if (req.method !== 'POST' || !match) return error(res, 404, 'UnknownOperationException', 'Unknown operation');
      // A name, or an ARN whose last part is the name (a qualifier after ':' is ignored here).
      const name = decodeURIComponent(match[1] ?? '').split(':function:').pop()?.split(':')[0] ?? '';
      const handler = functions[name];
      if (!handler) return error(res, 404, 'ResourceNotFoundException', `Function not found: ${name}`);
      const payload = Buffer.concat(chunks).toString('utf8');
      invocations.push({ functionName: name, payload });
      let event: unknown;
      try {
        event = JSON.parse(payload || '{}');
      } catch {
        return error(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
      }
      const headers = { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST', 'x-amzn-requestid': randomUUID() };
      try {
        const answer = JSON.stringify(await handler(event, { awsRequestId: headers['x-amzn-requestid'] }) ?? null);
        observe('lambda emulator answer', answer);
        res.writeHead(200, headers).end(answer);
      } catch (caught) {
        const failure = { errorType: caught instanceof Error ? caught.name : 'Error', errorMessage: caught instanceof Error ? caught.message : String(caught) };
        res.writeHead(200, { ...headers, 'x-amz-function-error': 'Unhandled' }).end(JSON.stringify(failure));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    invocations,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function error(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type }).end(JSON.stringify({ Type: 'User', message }));
}
