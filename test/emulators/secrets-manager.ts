import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { custody } from '../support/leak-guard.ts';
import { holdRequest, type SimulatedTime } from './delay.ts';

/** One injected error, answered in Secrets Manager's shape (`__type`, `message`). */
export interface SecretsManagerFault {
  type: string;
  status?: number;
  message?: string;
  /** Answer this much later (`Infinity`: accept the request and never answer); on the test's clock when given one. */
  delayMs?: number;
}

export interface SecretsManagerEmulator {
  endpoint: string;
  /** Requests by operation name, e.g. `calls.GetSecretValue`. */
  readonly calls: Record<string, number>;
  putSecret(name: string, secretString: string): void;
  deleteSecret(name: string): void;
  arnOf(name: string): string;
  injectFaults(...faults: SecretsManagerFault[]): void;
  clearFaults(): void;
  resetCalls(): void;
  close(): Promise<void>;
}

interface Stored {
  name: string;
  arn: string;
  versionId: string;
  secretString: string;
  createdDate: number;
}

/**
 * AWS Secrets Manager's JSON 1.1 protocol on 127.0.0.1 (`POST /`, `X-Amz-Target`), enough for the
 * real `SecretsManagerClient`: GetSecretValue by name or ARN, PutSecretValue, CreateSecret.
 *
 * @example
 * const sm = await startSecretsManagerEmulator({ secrets: { 'rackspace/demo': '{"username":"demo","apiKey":"k"}' } });
 * new SecretsManagerClient({ endpoint: sm.endpoint, region: 'us-east-1', credentials });
 */
export async function startSecretsManagerEmulator(options: { secrets?: Record<string, string>; port?: number; region?: string; time?: SimulatedTime } = {}): Promise<SecretsManagerEmulator> {
  const region = options.region ?? 'us-east-1';
  const byName = new Map<string, Stored>();
  const faults: SecretsManagerFault[] = [];
  const calls: Record<string, number> = {};
  // Secrets Manager appends six random characters to a secret's name in its ARN.
  const arnOf = (name: string) => byName.get(name)?.arn ?? `arn:aws:secretsmanager:${region}:000000000000:secret:${name}-${randomBytes(3).toString('hex')}`;
  const find = (id: unknown) => (typeof id === 'string' ? byName.get(id) ?? [...byName.values()].find((s) => s.arn === id) : undefined);
  const put = (name: string, secretString: string) => {
    custodySecretValues(secretString);
    byName.set(name, { name, arn: arnOf(name), versionId: randomUUID(), secretString, createdDate: Date.now() / 1000 });
    return byName.get(name) as Stored;
  };
  for (const [name, value] of Object.entries(options.secrets ?? {})) put(name, value);

  const operations: Record<string, (input: Record<string, unknown>, res: ServerResponse) => void> = {
    GetSecretValue(input, res) {
      const secret = find(input.SecretId);
      if (!secret) return error(res, { type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
      send(res, 200, { ARN: secret.arn, Name: secret.name, VersionId: secret.versionId, SecretString: secret.secretString, VersionStages: ['AWSCURRENT'], CreatedDate: secret.createdDate });
    },
    PutSecretValue(input, res) {
      const secret = find(input.SecretId);
      if (!secret) return error(res, { type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
      if (typeof input.SecretString !== 'string') return error(res, { type: 'InvalidParameterException', message: 'SecretString is required.' });
      const stored = put(secret.name, input.SecretString);
      send(res, 200, { ARN: stored.arn, Name: stored.name, VersionId: stored.versionId, VersionStages: ['AWSCURRENT'] });
    },
    CreateSecret(input, res) {
      if (typeof input.Name !== 'string' || typeof input.SecretString !== 'string') return error(res, { type: 'InvalidParameterException', message: 'Name and SecretString are required.' });
      if (byName.has(input.Name)) return error(res, { type: 'ResourceExistsException', message: `The operation failed because the secret ${input.Name} already exists.` });
      const stored = put(input.Name, input.SecretString);
      send(res, 200, { ARN: stored.arn, Name: stored.name, VersionId: stored.versionId });
    },
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', async () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : target;
      calls[operation] = (calls[operation] ?? 0) + 1;
      if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256')) {
        return error(res, { type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
      }
      const fault = faults.shift();
      if (fault) {
        if (fault.delayMs && !(await holdRequest(req, fault.delayMs, options.time))) return;
        return error(res, fault);
      }
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        return error(res, { type: 'SerializationException', message: 'Malformed JSON' });
      }
      const handler = req.method === 'POST' && req.url === '/' ? operations[operation] : undefined;
      if (!handler) return error(res, { type: 'UnknownOperationException', message: `Unknown operation ${operation}` });
      handler(input, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    putSecret: (name, secretString) => void put(name, secretString),
    deleteSecret: (name) => void byName.delete(name),
    arnOf,
    injectFaults: (...more) => void faults.push(...more),
    clearFaults: () => void faults.splice(0),
    resetCalls: () => {
      for (const key of Object.keys(calls)) delete calls[key];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(body));
}

function error(res: ServerResponse, fault: SecretsManagerFault): void {
  const status = fault.status ?? (fault.type === 'InternalServiceError' ? 500 : 400);
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': fault.type });
  res.end(JSON.stringify({ __type: fault.type, message: fault.message ?? fault.type }));
}

/** The values inside a secret that must never be output; a secret that is not JSON is custodied whole. */
function custodySecretValues(secretString: string): void {
  try {
    const parsed = JSON.parse(secretString) as Record<string, unknown>;
    custody(parsed?.apiKey);
    custody(parsed?.password);
  } catch {
    custody(secretString);
  }
}
