import { GetSecretValueCommand, SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { parseCredentials, SecretFormatError, type Credentials } from '../core/credentials.ts';
import { CredentialsUnusableError, ServiceMisconfiguredError, UpstreamUnavailableError } from '../core/errors.ts';
import { errorName, httpStatus } from './aws-errors.ts';
import type { RetryVerdict } from '../core/retry.ts';

// The caller learns only that custody failed; the reason (field names, error type) goes to the log via `cause`.
const UNUSABLE = 'The credentials custodied for this profile cannot be used; the service log has the reason.';

// "Try again later" (the rotation retries them; a vend answers 503); every other Secrets Manager error
// is a refusal that would only repeat.
const TRANSIENT = new Set(['ThrottlingException', 'InternalServiceError', 'TimeoutError', 'RequestTimeout']);

/** Per Secrets Manager call: a stuck connect or a silent endpoint ends here, well inside the request's deadline. */
export const SECRETS_TIMEOUTS = { connectMs: 1_000, requestMs: 2_000 };

/**
 * The Secrets Manager client as deployed: two attempts, each with connect and request timeouts
 * (the request's deadline, passed per call, bounds the pair). `config` adds an endpoint or
 * credentials for the emulator; `timeouts` lets a test shorten the limits.
 */
export function secretsManagerClient(config: SecretsManagerClientConfig = {}, timeouts = SECRETS_TIMEOUTS): SecretsManagerClient {
  return new SecretsManagerClient({
    maxAttempts: 2,
    // throwOnRequestTimeout: without it the handler only logs a warning and goes on waiting.
    requestHandler: { connectionTimeout: timeouts.connectMs, requestTimeout: timeouts.requestMs, throwOnRequestTimeout: true },
    ...config,
  });
}

/**
 * Reads one secret with the real Secrets Manager client and parses it; `signal` (the request's
 * deadline) aborts the call.
 *
 * @example
 * const read = secretsManagerReader(new SecretsManagerClient({}));
 * const credentials = await read('rackspace/prod');
 */
export function secretsManagerReader(client: SecretsManagerClient): (secretId: string, signal?: AbortSignal) => Promise<Credentials> {
  return async (secretId, signal) => {
    const secretString = await readValue(client, secretId, undefined, signal);
    return parse(secretString ?? undefined);
  };
}

/**
 * The secret's AWSPENDING version, or `null` when there is none: during a key rotation, between
 * the reset at Rackspace and finishSecret, it holds the only key Identity accepts. Same IAM
 * permission as the current version (secretsmanager:GetSecretValue on the secret).
 *
 * @example
 * const pending = await pendingReader(client)('rackspace/prod');
 */
export function pendingReader(client: SecretsManagerClient): (secretId: string, signal?: AbortSignal) => Promise<Credentials | null> {
  return async (secretId, signal) => {
    const secretString = await readValue(client, secretId, 'AWSPENDING', signal);
    return secretString === null ? null : parse(secretString);
  };
}

/** The value under `stage` (AWSCURRENT when none); `null` only for a stage that no version with a value carries. */
async function readValue(client: SecretsManagerClient, secretId: string, stage: string | undefined, signal?: AbortSignal): Promise<string | null | undefined> {
  try {
    const answer = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }), signal ? { abortSignal: signal } : {});
    return answer.SecretString;
  } catch (error) {
    // No such label, or its version has no value yet (RotateSecret made it; createSecret has not put it).
    if (stage !== undefined && errorName(error) === 'ResourceNotFoundException') return null;
    throw classify(error);
  }
}

function parse(secretString: string | undefined): Credentials {
  try {
    if (secretString === undefined) throw new SecretFormatError('the secret has no SecretString (binary secrets are not supported)');
    return parseCredentials(secretString);
  } catch (error) {
    throw new CredentialsUnusableError(UNUSABLE, { cause: error, upstream: 'secrets-manager' });
  }
}

/**
 * Where a failed call got to: `client-side` never left the process (no region, no credentials),
 * `timeout` and `network` got no answer, `service` is Secrets Manager's own answer.
 */
function failureKind(error: unknown): 'client-side' | 'timeout' | 'network' | 'service' {
  const name = errorName(error);
  if (name === 'TimeoutError' || name === 'AbortError' || name === 'RequestTimeout') return 'timeout';
  if (httpStatus(error) !== undefined) return 'service';
  // The SDK attaches $metadata to anything that went out on the wire; a client-side error has none.
  // Stryker disable next-line OptionalChaining: client.send never rejects with null or undefined (the SDK's own middleware reads $metadata of what it throws, so a thrown undefined comes out as a TypeError); the ?. is for `unknown`.
  return (error as { $metadata?: object } | null)?.$metadata ? 'network' : 'client-side';
}

function classify(error: unknown): Error {
  const name = errorName(error);
  const status = httpStatus(error);
  const kind = failureKind(error);
  // What the rotation would retry is an outage here; every other error is a custody misconfiguration.
  const transient = secretsRetryVerdict(error).retry;
  // Name and kind, never the message: an operator sees what went wrong without any value quoted.
  // A client-side error never reached AWS and says what is missing ("Region is missing"); the logger's
  // redaction pass still applies to it.
  // Stryker disable next-line OptionalChaining: split always answers at least one element; the ?. is for noUncheckedIndexedAccess.
  const what = kind === 'client-side' && error instanceof Error ? `: ${error.message.split('\n')[0]?.slice(0, 120)}` : '';
  const cause = new Error(`Secrets Manager ${name} (${kind}${status ? `, HTTP ${status}` : ''})${what}`);
  const options = { cause, upstream: 'secrets-manager' } as const;
  // Never sent (no AWS credentials, no region): the function's own deployment is wrong. Not an
  // outage (503, "retry") nor a custody problem (502): a 500 with an ERROR audit line.
  if (kind === 'client-side') return new ServiceMisconfiguredError(options);
  return transient
    ? new UpstreamUnavailableError('Secrets Manager is unavailable; try again shortly.', 1, options)
    : new CredentialsUnusableError(UNUSABLE, options);
}

/** Retry throttling, 5xx and network faults (no HTTP status at all); never a refusal. */
export function secretsRetryVerdict(error: unknown): RetryVerdict {
  const status = httpStatus(error);
  return { retry: TRANSIENT.has(errorName(error)) || status === undefined || status >= 500 };
}
