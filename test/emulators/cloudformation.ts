import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One stack as DescribeStacks reports it: its name, account and region, and its outputs. */
export interface EmulatedStack {
  name: string;
  outputs: Record<string, string>;
  account?: string;
  region?: string;
}

export interface CloudFormationEmulator {
  endpoint: string;
  /** Requests by action, e.g. `calls.DescribeStacks`. */
  readonly calls: Record<string, number>;
  close(): Promise<void>;
}

const NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

/**
 * CloudFormation's query protocol on 127.0.0.1 (form-encoded `POST /`, XML answers), with only
 * DescribeStacks: enough for the real `CloudFormationClient` to read a stack's outputs, which is all
 * the operators' CLI asks of CloudFormation. An unknown stack gets the service's ValidationError.
 *
 * @example
 * const cfn = await startCloudFormationEmulator([{ name: 'rackspace-token-vendor-local', outputs: { RestApiId: 'local' } }]);
 */
export async function startCloudFormationEmulator(stacks: EmulatedStack[], options: { port?: number } = {}): Promise<CloudFormationEmulator> {
  const calls: Record<string, number> = {};
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const action = form.get('Action') ?? '';
      calls[action] = (calls[action] ?? 0) + 1;
      if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256')) return error(res, 403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
      if (req.method !== 'POST' || action !== 'DescribeStacks') return error(res, 400, 'InvalidAction', `Could not find operation ${action}`);
      const wanted = form.get('StackName');
      const found = stacks.filter((stack) => wanted === null || stack.name === wanted || stackId(stack) === wanted);
      if (wanted !== null && found.length === 0) return error(res, 400, 'ValidationError', `Stack with id ${wanted} does not exist`);
      const members = found.map((stack) => `<member><StackId>${xml(stackId(stack))}</StackId><StackName>${xml(stack.name)}</StackName><CreationTime>2026-01-01T00:00:00.000Z</CreationTime><StackStatus>UPDATE_COMPLETE</StackStatus><Outputs>${Object.entries(stack.outputs)
        .map(([key, value]) => `<member><OutputKey>${xml(key)}</OutputKey><OutputValue>${xml(value)}</OutputValue></member>`)
        .join('')}</Outputs></member>`);
      res.writeHead(200, { 'content-type': 'text/xml' }).end(`<DescribeStacksResponse xmlns="${NS}"><DescribeStacksResult><Stacks>${members.join('')}</Stacks></DescribeStacksResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></DescribeStacksResponse>`);
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** The stack's ARN, as CloudFormation names it (the CLI reads partition and account from it). */
export function stackId(stack: EmulatedStack): string {
  return `arn:aws:cloudformation:${stack.region ?? 'us-east-1'}:${stack.account ?? '000000000000'}:stack/${stack.name}/00000000-0000-4000-8000-000000000000`;
}

function error(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'text/xml' });
  res.end(`<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);
}

const xml = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
