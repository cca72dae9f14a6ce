import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { json11Server, parseInput, send, sendError } from './json11.ts';
import { custody } from '../support/leak-guard.ts';
import { holdRequest, type SimulatedTime } from './delay.ts';
import { ApiError, SecretVersions, type Secret } from './secret-versions.ts';

/** One injected error, answered in Secrets Manager's shape (`__type`, `message`). */
export interface SecretsManagerFault {
  type: string;
  status?: number;
  message?: string;
  /** Answer this much later (`Infinity`: accept the request and never answer); on the test's clock when given one. */
  delayMs?: number;
  /** Only this operation (e.g. `PutSecretValue`) consumes the fault; by default the next request does. */
  operation?: string;
  /** Only a request whose input passes consumes the fault (e.g. a put with `VersionStages: ['AWSPENDING']`). */
  when?: (input: Record<string, unknown>) => boolean;
  /** Answer 200 with this body instead of an error (a malformed success, e.g. no VersionId in it). */
  answer?: Record<string, unknown>;
}

/** What Secrets Manager sends a rotation function (Lambda invoke payload). */
export interface RotationEvent {
  Step: 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';
  SecretId: string;
  ClientRequestToken: string;
}

export interface RotationRun {
  secretId: string;
  token: string;
  steps: Array<{ step: RotationEvent['Step']; ok: boolean; error?: string }>;
  ok: boolean;
}

export interface SecretsManagerEmulator {
  endpoint: string;
  /** Requests by operation name, e.g. `calls.GetSecretValue`. */
  readonly calls: Record<string, number>;
  /** Who signed each request: the access key id of its SigV4 credential and its session token, if any. */
  readonly signers: Array<{ accessKeyId: string; sessionToken: string | null }>;
  /** Every rotation RotateSecret started or re-attempted, in order. */
  readonly rotations: RotationRun[];
  /** A new AWSCURRENT version; bytes make it a binary secret (SecretBinary, no SecretString). */
  putSecret(name: string, value: string | Uint8Array): void;
  deleteSecret(name: string): void;
  arnOf(name: string): string;
  /** Version id → labels, as DescribeSecret reports them. */
  stagesOf(name: string): Record<string, string[]>;
  /** The value under a label, or undefined. */
  valueAt(name: string, stage: string): string | undefined;
  /** What RotateSecret invokes for this ARN (Secrets Manager invokes the Lambda function). */
  registerRotationFunction(arn: string, invoke: (event: RotationEvent) => Promise<unknown>): void;
  /** Resolves when every rotation started so far has run its steps (or stopped at a failed one). */
  rotationsSettled(): Promise<void>;
  injectFaults(...faults: SecretsManagerFault[]): void;
  clearFaults(): void;
  resetCalls(): void;
  close(): Promise<void>;
}

type Operation = (input: Record<string, unknown>) => unknown;
const STEPS: RotationEvent['Step'][] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

/**
 * AWS Secrets Manager's JSON 1.1 protocol on 127.0.0.1 (`POST /`, `X-Amz-Target`), enough for the
 * real `SecretsManagerClient`: secrets with versions and staging labels (GetSecretValue by id or
 * label, PutSecretValue with ClientRequestToken and VersionStages, UpdateSecretVersionStage,
 * DescribeSecret, CreateSecret) and RotateSecret, which invokes a registered rotation function the
 * way the service does: an empty AWSPENDING version, then the four steps, stopping at a failure; a
 * RotateSecret while AWSPENDING sits on another version re-attempts that rotation instead.
 *
 * @example
 * const sm = await startSecretsManagerEmulator({ secrets: { 'rackspace/demo': '{"username":"demo","apiKey":"k"}' } });
 * new SecretsManagerClient({ endpoint: sm.endpoint, region: 'us-east-1', credentials });
 */
export async function startSecretsManagerEmulator(options: { secrets?: Record<string, string>; port?: number; region?: string; time?: SimulatedTime } = {}): Promise<SecretsManagerEmulator> {
  const store = new SecretVersions(options.region ?? 'us-east-1', custodySecretValues);
  const faults: SecretsManagerFault[] = [];
  const calls: Record<string, number> = {};
  const signers: Array<{ accessKeyId: string; sessionToken: string | null }> = [];
  const rotations: RotationRun[] = [];
  const running = new Set<Promise<void>>();
  const rotationFunctions = new Map<string, (event: RotationEvent) => Promise<unknown>>();
  const putCurrent = (name: string, value: string | Uint8Array) => store.put(store.has(name) ? store.find(name) : store.create(name), value, ['AWSCURRENT']);
  for (const [name, value] of Object.entries(options.secrets ?? {})) putCurrent(name, value);

  const rotate = (secret: Secret, token: string) => {
    const invoke = secret.rotationLambdaArn ? rotationFunctions.get(secret.rotationLambdaArn) : undefined;
    if (!invoke) throw new ApiError('InvalidRequestException', `No Lambda function ${secret.rotationLambdaArn ?? ''} can be invoked for rotation.`);
    const run: RotationRun = { secretId: secret.arn, token, steps: [], ok: false };
    rotations.push(run);
    // Asynchronous, like the service: RotateSecret answers at once; the steps run after.
    const done = (async () => {
      await Promise.resolve();
      for (const step of STEPS) {
        try {
          await invoke(structuredClone({ Step: step, SecretId: secret.arn, ClientRequestToken: token }));
          run.steps.push({ step, ok: true });
        } catch (error) {
          run.steps.push({ step, ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
          return;
        }
      }
      run.ok = true;
      secret.lastRotatedDate = Date.now() / 1000;
    })();
    running.add(done);
    void done.finally(() => running.delete(done));
  };

  const operations: Record<string, Operation> = {
    GetSecretValue(input) {
      const secret = store.find(input.SecretId);
      const version = store.select(secret, input.VersionId, input.VersionStage);
      return { ARN: secret.arn, Name: secret.name, VersionId: version.id, SecretString: version.secretString, SecretBinary: version.secretBinary, VersionStages: [...version.stages], CreatedDate: version.createdDate };
    },
    PutSecretValue(input) {
      const secret = store.find(input.SecretId);
      if (typeof input.SecretString !== 'string') throw new ApiError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
      const stages = input.VersionStages === undefined ? ['AWSCURRENT'] : input.VersionStages;
      if (!Array.isArray(stages) || stages.some((s) => typeof s !== 'string' || s.length < 1 || s.length > 256)) throw new ApiError('InvalidParameterException', 'VersionStages must be a list of 1-256 character labels.');
      const version = store.put(secret, input.SecretString, stages as string[], clientToken(input.ClientRequestToken));
      return { ARN: secret.arn, Name: secret.name, VersionId: version.id, VersionStages: [...version.stages] };
    },
    CreateSecret(input) {
      if (typeof input.Name !== 'string') throw new ApiError('InvalidParameterException', 'Name is required.');
      if (input.SecretString !== undefined && typeof input.SecretString !== 'string') throw new ApiError('InvalidParameterException', 'SecretString must be a string.');
      if (store.has(input.Name)) throw new ApiError('ResourceExistsException', `The operation failed because the secret ${input.Name} already exists.`);
      const secret = store.create(input.Name);
      // Without a value, as CloudFormation creates the stack's secrets: a secret with no version at all.
      if (input.SecretString === undefined) return { ARN: secret.arn, Name: secret.name };
      const version = store.put(secret, input.SecretString, ['AWSCURRENT'], clientToken(input.ClientRequestToken));
      return { ARN: secret.arn, Name: secret.name, VersionId: version.id };
    },
    DescribeSecret(input) {
      const secret = store.find(input.SecretId);
      return {
        ARN: secret.arn,
        Name: secret.name,
        RotationEnabled: secret.rotationEnabled,
        ...(secret.rotationLambdaArn && { RotationLambdaARN: secret.rotationLambdaArn }),
        ...(secret.rotationDays && { RotationRules: { AutomaticallyAfterDays: secret.rotationDays } }),
        ...(secret.lastRotatedDate && { LastRotatedDate: secret.lastRotatedDate }),
        VersionIdsToStages: store.stagesOf(secret),
      };
    },
    UpdateSecretVersionStage(input) {
      const secret = store.find(input.SecretId);
      if (typeof input.VersionStage !== 'string') throw new ApiError('InvalidParameterException', 'VersionStage is required.');
      store.updateStage(secret, input.VersionStage, input.RemoveFromVersionId, input.MoveToVersionId);
      return { ARN: secret.arn, Name: secret.name };
    },
    RotateSecret(input) {
      const secret = store.find(input.SecretId);
      if (typeof input.RotationLambdaARN === 'string') secret.rotationLambdaArn = input.RotationLambdaARN;
      const days = (input.RotationRules as { AutomaticallyAfterDays?: unknown } | undefined)?.AutomaticallyAfterDays;
      if (typeof days === 'number') secret.rotationDays = days;
      if (!secret.rotationLambdaArn) throw new ApiError('InvalidRequestException', 'No Lambda rotation function ARN is associated with this secret.');
      secret.rotationEnabled = true;
      const pending = store.holderOf(secret, 'AWSPENDING');
      if (pending && !pending.stages.has('AWSCURRENT')) {
        rotate(secret, pending.id);
        throw new ApiError('InvalidRequestException', "A previous rotation isn't complete. That rotation will be reattempted.");
      }
      if (input.RotateImmediately === false) return { ARN: secret.arn, Name: secret.name };
      const token = clientToken(input.ClientRequestToken);
      store.put(secret, undefined, ['AWSPENDING'], token);
      rotate(secret, token);
      return { ARN: secret.arn, Name: secret.name, VersionId: token };
    },
  };

  const takeFault = (operation: string, input: Record<string, unknown>) => {
    const index = faults.findIndex((f) => (!f.operation || f.operation === operation) && (!f.when || f.when(input)));
    return index < 0 ? undefined : faults.splice(index, 1)[0];
  };

  const server = json11Server('secretsmanager', calls, async (req, res, operation, body) => {
    const authorization = String(req.headers.authorization ?? '');
    const accessKeyId = /Credential=([^/]+)\//.exec(authorization)?.[1];
    if (accessKeyId) signers.push({ accessKeyId, sessionToken: (req.headers['x-amz-security-token'] as string | undefined) ?? null });
    if (!authorization.startsWith('AWS4-HMAC-SHA256')) {
      return error(res, { type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
    }
    const input = parseInput(body);
    if (!input) return error(res, { type: 'SerializationException', message: 'Malformed JSON' });
    const fault = takeFault(operation, input);
    if (fault) {
      if (fault.delayMs && !(await holdRequest(req, fault.delayMs, options.time))) return;
      return fault.answer ? send(res, 200, fault.answer) : error(res, fault);
    }
    const handler = req.method === 'POST' && req.url === '/' ? operations[operation] : undefined;
    if (!handler) return error(res, { type: 'UnknownOperationException', message: `Unknown operation ${operation}` });
    try {
      send(res, 200, handler(input));
    } catch (caught) {
      if (!(caught instanceof ApiError)) throw caught;
      error(res, { type: caught.type, message: caught.message });
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    signers,
    rotations,
    putSecret: (name, value) => void putCurrent(name, value),
    deleteSecret: (name) => store.delete(name),
    arnOf: (name) => store.arnOf(name),
    stagesOf: (name) => store.stagesOf(store.find(name)),
    valueAt: (name, stage) => store.holderOf(store.find(name), stage)?.secretString,
    registerRotationFunction: (arn, invoke) => void rotationFunctions.set(arn, invoke),
    async rotationsSettled() {
      while (running.size > 0) await Promise.all(running);
    },
    injectFaults: (...more) => void faults.push(...more),
    clearFaults: () => void faults.splice(0),
    resetCalls: () => {
      for (const key of Object.keys(calls)) delete calls[key];
      signers.splice(0);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The SDK fills ClientRequestToken with a UUID when the caller gives none; the service wants 32-64 characters. */
function clientToken(value: unknown): string {
  if (value === undefined) return randomUUID();
  if (typeof value !== 'string' || value.length < 32 || value.length > 64) throw new ApiError('InvalidParameterException', 'ClientRequestToken must be 32-64 characters.');
  return value;
}

function error(res: ServerResponse, fault: Pick<SecretsManagerFault, 'type' | 'status' | 'message'>): void {
  sendError(res, fault.status ?? (fault.type === 'InternalServiceError' ? 500 : 400), fault.type, fault.message);
}

/** The values inside a secret that must never be output; a secret that is not JSON is custodied whole. */
function custodySecretValues(secretString: string): void {
  try {
    const parsed = JSON.parse(secretString) as Record<string, unknown>;
    custody(parsed?.apiKey);
    custody(parsed?.password);
    custody(parsed?.token);
  } catch {
    custody(secretString);
  }
}
