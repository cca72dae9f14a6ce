import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { json11Server, parseInput, send, sendError } from './json11.ts';

/** One injected error, answered in KMS's shape (`__type`, `message`). */
export interface KmsFault {
  type: string;
  status?: number;
  message?: string;
  delayMs?: number;
  /** Answer 200 with this body instead of an error (a malformed success, e.g. no key in it). */
  answer?: Record<string, unknown>;
}

export interface KmsEmulatorOptions {
  region?: string;
  port?: number;
  /**
   * Stands in for the key policy / IAM condition on `kms:EncryptionContext:*`: an operation whose
   * encryption context this refuses is answered AccessDeniedException, as KMS does.
   */
  allowContext?: (operation: string, context: Record<string, string>) => boolean;
}

export interface KmsEmulator {
  endpoint: string;
  /** The one key's ARN (alias `alias/rackspace-token-vendor-local` names it too). */
  keyArn: string;
  alias: string;
  /** Requests by operation name, e.g. `calls.Decrypt`. */
  readonly calls: Record<string, number>;
  injectFaults(...faults: KmsFault[]): void;
  clearFaults(): void;
  /** Refuse every request with AccessDeniedException until called again with `false`. */
  denyAll(deny: boolean): void;
  resetCalls(): void;
  close(): Promise<void>;
}

const ACCOUNT = '000000000000';
// Our ciphertext blob: version byte, key id (36 ASCII), IV (12), tag (16), encrypted data key.
// Real KMS blobs are opaque too; only the emulator reads this layout.
const BLOB_VERSION = 1;

/**
 * AWS KMS's JSON 1.1 protocol on 127.0.0.1 (`POST /`, `X-Amz-Target: TrentService.*`), enough for
 * the real `KMSClient`: GenerateDataKey and Decrypt under one symmetric key, with the encryption
 * context bound into the ciphertext (a different context on Decrypt is InvalidCiphertextException,
 * as in KMS) and an optional context check standing in for the key policy.
 *
 * @example
 * const kms = await startKmsEmulator();
 * new KMSClient({ endpoint: kms.endpoint, region: 'us-east-1', credentials });
 */
export async function startKmsEmulator(options: KmsEmulatorOptions = {}): Promise<KmsEmulator> {
  const region = options.region ?? 'us-east-1';
  const keyId = randomUUID();
  const keyArn = `arn:aws:kms:${region}:${ACCOUNT}:key/${keyId}`;
  const alias = 'alias/rackspace-token-vendor-local';
  const aliasArn = `arn:aws:kms:${region}:${ACCOUNT}:${alias}`;
  const master = randomBytes(32);
  const faults: KmsFault[] = [];
  const calls: Record<string, number> = {};
  let denied = false;

  const knownKey = (id: unknown) => id === keyId || id === keyArn || id === alias || id === aliasArn;

  const operations: Record<string, (input: Record<string, unknown>, res: ServerResponse) => void> = {
    GenerateDataKey(input, res) {
      if (!knownKey(input.KeyId)) return error(res, { type: 'NotFoundException', message: `Key '${String(input.KeyId)}' does not exist` });
      const bytes = input.KeySpec === 'AES_256' ? 32 : input.KeySpec === 'AES_128' ? 16 : Number(input.NumberOfBytes);
      if (!Number.isInteger(bytes) || bytes < 1 || bytes > 1024) {
        return error(res, { type: 'ValidationException', message: 'Please specify either number of bytes or key spec.' });
      }
      const context = contextOf(input.EncryptionContext);
      if (!context) return error(res, { type: 'ValidationException', message: 'EncryptionContext must be a map of strings.' });
      if (!allowed('GenerateDataKey', context)) return accessDenied(res, 'GenerateDataKey', keyArn);
      const plaintext = randomBytes(bytes);
      send(res, 200, { CiphertextBlob: seal(master, keyId, plaintext, context).toString('base64'), Plaintext: plaintext.toString('base64'), KeyId: keyArn });
    },
    Decrypt(input, res) {
      const blob = typeof input.CiphertextBlob === 'string' ? Buffer.from(input.CiphertextBlob, 'base64') : Buffer.alloc(0);
      const context = contextOf(input.EncryptionContext);
      if (!context) return error(res, { type: 'ValidationException', message: 'EncryptionContext must be a map of strings.' });
      if (input.KeyId !== undefined && !knownKey(input.KeyId)) return error(res, { type: 'IncorrectKeyException', message: 'The key ID in the request does not identify a CMK that can perform this operation.' });
      if (!allowed('Decrypt', context)) return accessDenied(res, 'Decrypt', keyArn);
      const plaintext = open(master, keyId, blob, context);
      // KMS says no more than this for a wrong context, a wrong key or a damaged blob.
      if (!plaintext) return error(res, { type: 'InvalidCiphertextException', message: '' });
      send(res, 200, { KeyId: keyArn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
    },
  };

  const allowed = (operation: string, context: Record<string, string>) => !denied && (options.allowContext?.(operation, context) ?? true);

  const server = json11Server('TrentService', calls, async (req, res, operation, body) => {
    if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256')) {
      return error(res, { type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
    }
    const fault = faults.shift();
    if (fault) {
      if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (req.socket.destroyed) return;
      return fault.answer ? send(res, 200, fault.answer) : error(res, fault);
    }
    const input = parseInput(body);
    if (!input) return error(res, { type: 'SerializationException', message: 'Malformed JSON' });
    const handler = req.method === 'POST' && req.url === '/' ? operations[operation] : undefined;
    if (!handler) return error(res, { type: 'UnknownOperationException', message: `Unknown operation ${operation}` });
    handler(input, res);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    keyArn,
    alias,
    calls,
    injectFaults: (...more) => void faults.push(...more),
    clearFaults: () => void faults.splice(0),
    denyAll: (deny) => void (denied = deny),
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

/** `undefined` when the context is not a map of strings; `{}` when absent. */
function contextOf(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const entries = Object.entries(value);
  return entries.every(([, v]) => typeof v === 'string') ? Object.fromEntries(entries) as Record<string, string> : undefined;
}

/** The context as AAD: order-independent, as KMS treats it. */
const aad = (context: Record<string, string>) => Buffer.from(JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));

function seal(master: Buffer, keyId: string, plaintext: Buffer, context: Record<string, string>): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', master, iv).setAAD(aad(context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([BLOB_VERSION]), Buffer.from(keyId, 'ascii'), iv, cipher.getAuthTag(), body]);
}

function open(master: Buffer, keyId: string, blob: Buffer, context: Record<string, string>): Buffer | undefined {
  if (blob.length < 1 + 36 + 12 + 16 + 1 || blob[0] !== BLOB_VERSION || blob.subarray(1, 37).toString('ascii') !== keyId) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', master, blob.subarray(37, 49)).setAAD(aad(context));
    decipher.setAuthTag(blob.subarray(49, 65));
    return Buffer.concat([decipher.update(blob.subarray(65)), decipher.final()]);
  } catch {
    return undefined;
  }
}

function accessDenied(res: ServerResponse, operation: string, keyArn: string): void {
  error(res, {
    type: 'AccessDeniedException',
    message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/local/local is not authorized to perform: kms:${operation} on resource: ${keyArn} because no identity-based policy allows the kms:${operation} action`,
  });
}

function error(res: ServerResponse, fault: KmsFault): void {
  sendError(res, fault.status ?? (fault.type === 'KMSInternalException' || fault.type === 'DependencyTimeoutException' ? 500 : 400), fault.type, fault.message);
}
