import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseCredentials, SecretFormatError, type Credentials } from '../core/credentials.ts';
import { CredentialsUnusableError, UpstreamUnavailableError } from '../core/errors.ts';

// The caller learns only that custody failed; the reason (field names, error type) goes to the log via `cause`.
const UNUSABLE = 'The credentials custodied for this profile cannot be used; the service log has the reason.';
// These mean "try again later"; every other Secrets Manager error is a custody misconfiguration.
const TRANSIENT = new Set(['ThrottlingException', 'InternalServiceError', 'TimeoutError', 'RequestTimeout']);

/**
 * Reads one secret with the real Secrets Manager client and parses it.
 *
 * @example
 * const read = secretsManagerReader(new SecretsManagerClient({}));
 * const credentials = await read('rackspace/prod');
 */
export function secretsManagerReader(client: SecretsManagerClient): (secretId: string) => Promise<Credentials> {
  return async (secretId) => {
    let secretString: string | undefined;
    try {
      ({ SecretString: secretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId })));
    } catch (error) {
      throw classify(error);
    }
    try {
      if (secretString === undefined) throw new SecretFormatError('the secret has no SecretString (binary secrets are not supported)');
      return parseCredentials(secretString);
    } catch (error) {
      throw new CredentialsUnusableError(UNUSABLE, { cause: error, upstream: 'secrets-manager' });
    }
  };
}

function classify(error: unknown): Error {
  const name = error instanceof Error ? error.name : 'UnknownError';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  // No HTTP status at all means the request never got an answer: a network fault.
  const transient = TRANSIENT.has(name) || status === undefined || status >= 500;
  const cause = new Error(`Secrets Manager ${name}${status ? ` (HTTP ${status})` : ''}`);
  const options = { cause, upstream: 'secrets-manager' } as const;
  return transient
    ? new UpstreamUnavailableError('Secrets Manager is unavailable; try again shortly.', 1, options)
    : new CredentialsUnusableError(UNUSABLE, options);
}
