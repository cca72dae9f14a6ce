import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';

// dynalite ships no types; this is the one function we call.
const dynalite = createRequire(import.meta.url)('dynalite') as (options: Record<string, unknown>) => Server;

/** One injected answer in DynamoDB's error shape, a dropped connection, or a delay before the real answer. */
export interface DynamoFault {
  type?: string;
  status?: number;
  reset?: boolean;
  delayMs?: number;
  /** Only requests for this operation take the fault (the others pass); any operation when absent. */
  operation?: string;
}

export interface DynamoEmulator {
  endpoint: string;
  table: string;
  /** Requests by operation name, e.g. `calls.GetItem`. */
  readonly calls: Record<string, number>;
  /** Every request's operation and JSON input, in order (what DynamoDB itself would receive). */
  readonly requests: Array<{ operation: string; input: Record<string, unknown> }>;
  injectFaults(...faults: DynamoFault[]): void;
  clearFaults(): void;
  /** While on, every request's connection is dropped unanswered: the table is unreachable. */
  partition(on: boolean): void;
  /** A client for tests to look at or damage the table directly. */
  client: DynamoDBClient;
  resetCalls(): void;
  close(): Promise<void>;
}

export const LOCAL_CREDENTIALS = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-emulator' };

/**
 * dynalite (a DynamoDB implementation on LevelDB, in memory) on 127.0.0.1, in this process, with
 * the token table created, plus what dynalite lacks for fault tests: injected errors in DynamoDB's
 * wire shape and a partition switch. Requests are counted by `X-Amz-Target` operation.
 *
 * @example
 * const ddb = await startDynamoEmulator();
 * new DynamoDBClient({ endpoint: ddb.endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
 */
export async function startDynamoEmulator(options: { table?: string; port?: number } = {}): Promise<DynamoEmulator> {
  const table = options.table ?? 'rackspace-token-vendor-local-tokens';
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const real = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  const faults: DynamoFault[] = [];
  const calls: Record<string, number> = {};
  const requests: DynamoEmulator['requests'] = [];
  let partitioned = false;

  server.on('request', async (req: IncomingMessage, res: ServerResponse) => {
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    calls[operation] = (calls[operation] ?? 0) + 1;
    // A second 'data' listener beside dynalite's: both see every chunk of the body.
    const body: Buffer[] = [];
    req.on('data', (chunk: Buffer) => body.push(chunk));
    req.on('end', () => {
      try {
        requests.push({ operation, input: JSON.parse(Buffer.concat(body).toString('utf8')) as Record<string, unknown> });
      } catch {
        // Not JSON: dynalite answers it SerializationException; nothing to record.
      }
    });
    if (partitioned) return void req.socket.destroy();
    const index = faults.findIndex((f) => f.operation === undefined || f.operation === operation);
    const fault = index >= 0 ? faults.splice(index, 1)[0] : undefined;
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault?.reset) return void req.socket.destroy();
    if (fault?.type) {
      const status = fault.status ?? (fault.type === 'InternalServerError' ? 500 : 400);
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': fault.type });
      return void res.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${fault.type}`, message: fault.type }));
    }
    for (const listener of real) listener(req, res);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  // The stack's table (infra/fleet.yml): on demand, keyed by profile name.
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'profile', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'profile', KeyType: 'HASH' }],
    }),
  );
  for (const key of Object.keys(calls)) delete calls[key];

  return {
    endpoint,
    table,
    calls,
    requests,
    client,
    injectFaults: (...more) => void faults.push(...more),
    clearFaults: () => void faults.splice(0),
    partition: (on) => void (partitioned = on),
    resetCalls: () => {
      for (const key of Object.keys(calls)) delete calls[key];
      requests.splice(0);
    },
    close: () =>
      new Promise<void>((resolve) => {
        client.destroy();
        (server as Server & { closeAllConnections(): void }).closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
