// What our messages may quote of an AWS SDK error: its name and HTTP status, never its text (which can
// echo a request value). The SDK throws Error instances; anything else is named 'UnknownError'.

/** The error's name, or 'UnknownError' for a thrown non-Error. */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'UnknownError';
}

/** The HTTP status AWS answered with; undefined when no answer came (network fault, never sent). */
export function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/**
 * One line for a failed call, e.g. `DynamoDB GetItem ThrottlingException (HTTP 400)`.
 *
 * @example
 * throw new StoreUnavailableError('kms', callFailed('KMS', 'Decrypt', error));
 */
export function callFailed(service: string, operation: string, error: unknown): string {
  const status = httpStatus(error);
  return `${service} ${operation} ${errorName(error)}${status ? ` (HTTP ${status})` : ''}`;
}
