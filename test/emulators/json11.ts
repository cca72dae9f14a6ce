import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

// What the AWS JSON 1.1 stand-ins (Secrets Manager, KMS) share: the request framing and the answer
// shapes of the real protocol. Each emulator keeps its own operations, faults and checks.

/**
 * A server that reads each request whole, names its operation from `X-Amz-Target` (`PREFIX.Operation`),
 * counts it in `calls`, and hands it on.
 */
export function json11Server(
  targetPrefix: string,
  calls: Record<string, number>,
  onRequest: (req: IncomingMessage, res: ServerResponse, operation: string, body: string) => Promise<void> | void,
): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', async () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith(`${targetPrefix}.`) ? target.slice(targetPrefix.length + 1) : target;
      calls[operation] = (calls[operation] ?? 0) + 1;
      await onRequest(req, res, operation, Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/** The request body as the JSON object it must be, or `undefined` when it is not JSON. */
export function parseInput(body: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(body || '{}') as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(body));
}

/** An error as the JSON 1.1 protocol carries it: `__type` in the body and `x-amzn-errortype`. */
export function sendError(res: ServerResponse, status: number, type: string, message: string | undefined): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type });
  res.end(JSON.stringify({ __type: type, message: message ?? type }));
}
