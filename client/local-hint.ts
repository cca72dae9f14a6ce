// What to unset when `npm start`'s local gateway refuses a shell set up for real AWS.

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The parts of a failure the hint reads (a GatewayError's, or the SDK credential chain's). */
interface Failure {
  name?: unknown;
  status?: unknown;
  errorType?: unknown;
  detail?: unknown;
  message?: unknown;
}

/**
 * One line naming the variable to unset, when a request to a loopback URL failed because of the
 * caller's AWS setup: with AWS_PROFILE set the SDK's chain ignores AWS_ACCESS_KEY_ID (SSO users
 * get "Could not load credentials", others sign with a real key the gateway does not know), and
 * AWS_REGION/AWS_DEFAULT_REGION for another region gets a signature-scope 403. Null otherwise.
 *
 * @example
 * localHint(error, 'http://127.0.0.1:3000', { AWS_PROFILE: 'sso-dev' }) // 'AWS_PROFILE=sso-dev is set: …'
 */
export function localHint(error: unknown, url: string | undefined, env: NodeJS.ProcessEnv): string | null {
  const host = url === undefined ? undefined : URL.parse(url)?.hostname;
  if (host === undefined || !LOOPBACK.has(host) || typeof error !== 'object' || error === null) return null;
  const failure = error as Failure;
  const text = String(failure.detail ?? failure.message ?? '');
  if (/^Credential should be scoped to a valid region/.test(text)) {
    const names = ['AWS_REGION', 'AWS_DEFAULT_REGION'].filter((name) => env[name]);
    const set = names.map((name) => `${name}=${env[name]}`).join(', ');
    return `This shell signs for another region than the local gateway's${set && ` (${set})`}: export AWS_REGION as npm start printed it, or unset ${names.join(' ') || 'AWS_REGION'}.`;
  }
  const credentials =
    failure.name === 'CredentialsProviderError' ||
    (failure.status === 0 && /AWS credentials/.test(text)) ||
    (failure.status === 403 && (failure.errorType === 'UnrecognizedClientException' || failure.errorType === 'InvalidSignatureException'));
  if (credentials && env.AWS_PROFILE) {
    return `AWS_PROFILE=${env.AWS_PROFILE} is set, so the AWS SDK signs with that profile instead of the keys npm start printed: unset AWS_PROFILE in this shell.`;
  }
  return null;
}
