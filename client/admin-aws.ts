// What the operators' commands share: where AWS is (region, endpoints, credentials, read from the
// environment the CLI was given), the stack's outputs, and one exit code per kind of AWS failure.
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import * as z from 'zod/mini';
import { EXIT } from './cli.ts';

/** A refusal with its exit code and the one line that explains it. */
export class AdminError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = 'AdminError';
    this.code = code;
  }
}

export interface AwsSettings {
  region: string;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  env: NodeJS.ProcessEnv;
}

/**
 * The client settings every command passes: the region, the credentials, and the endpoint that
 * `AWS_ENDPOINT_URL_<SERVICE>` / `AWS_ENDPOINT_URL` name (read from the CLI's own environment, as the
 * SDK itself would from the process's, so `npm start`'s local stand-ins and tests can be named).
 */
export function clientConfig(aws: AwsSettings, service: 'CLOUDFORMATION' | 'LAMBDA' | 'SECRETS_MANAGER') {
  const endpoint = aws.env[`AWS_ENDPOINT_URL_${service}`] || aws.env.AWS_ENDPOINT_URL || undefined;
  return {
    region: aws.region,
    credentials: aws.credentials,
    // An operator waits at a terminal: a stuck call ends with a line, not a hang.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
    ...(endpoint && { endpoint }),
  };
}

/** The environment's keys when no AWS_PROFILE names a profile, else the SDK's whole provider chain. */
export async function adminCredentials(env: NodeJS.ProcessEnv): Promise<AwsCredentialIdentity | AwsCredentialIdentityProvider> {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken, AWS_PROFILE: profile } = env;
  if (accessKeyId && secretAccessKey && !profile) return { accessKeyId, secretAccessKey, ...(sessionToken && { sessionToken }) };
  const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
  return defaultProvider(profile ? { profile } : {});
}

/** The stack outputs the CLI reads (infra/admin-outputs.cjs and infra/rest-api.cjs write them). */
const Outputs = z.object({
  TokenFunctionName: z.optional(z.string()),
  ProfileSecrets: z.optional(z.string()),
  ServiceEndpoint: z.optional(z.string()),
  RestApiId: z.optional(z.string()),
});
const ProfileSecrets = z.record(z.string(), z.string().check(z.minLength(1)));
const STACK_ID = /^arn:([a-z-]+):cloudformation:([a-z0-9-]+):(\d{12}):stack\//;

export interface Stack {
  name: string;
  partition: string;
  account: string;
  outputs: z.infer<typeof Outputs>;
}

/** The deployed stack by name: its account (from its ARN) and the outputs above. */
export async function findStack(aws: AwsSettings, name: string): Promise<Stack> {
  const client = new CloudFormationClient(clientConfig(aws, 'CLOUDFORMATION'));
  try {
    const answer = await client.send(new DescribeStacksCommand({ StackName: name }));
    const stack = answer.Stacks?.[0];
    if (!stack) throw new AdminError(EXIT.notFound, `No stack ${name} in ${aws.region}.`);
    const outputs = Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
    const match = STACK_ID.exec(stack.StackId ?? '');
    return { name, partition: match?.[1] ?? 'aws', account: match?.[3] ?? '', outputs: Outputs.parse(outputs) };
  } catch (error) {
    if (errorName(error) === 'ValidationError' && /does not exist/.test(messageOf(error))) {
      throw new AdminError(EXIT.notFound, `No stack ${name} in ${aws.region}: pass the --stage and --region it was deployed with (or --stack NAME).`);
    }
    throw error;
  } finally {
    client.destroy();
  }
}

/** The declared secret of a profile, from the stack's ProfileSecrets output. */
export function secretOf(stack: Stack, profile: string): string {
  const text = stack.outputs.ProfileSecrets;
  if (text === undefined) throw new AdminError(EXIT.config, `Stack ${stack.name} has no ProfileSecrets output: deploy this version of rackspace-token-vendor first.`);
  let parsed: ReturnType<typeof ProfileSecrets.safeParse>;
  try {
    parsed = ProfileSecrets.safeParse(JSON.parse(text));
  } catch {
    throw new AdminError(EXIT.config, `Stack ${stack.name}'s ProfileSecrets output is not JSON.`);
  }
  if (!parsed.success) throw new AdminError(EXIT.config, `Stack ${stack.name}'s ProfileSecrets output is not an object of secret ids.`);
  const secretId = parsed.data[profile];
  if (secretId === undefined) {
    const names = Object.keys(parsed.data);
    throw new AdminError(EXIT.notFound, `No profile '${profile}' in stack ${stack.name}; it declares ${names.length === 0 ? 'none' : names.join(', ')}.`);
  }
  return secretId;
}

export const errorName = (error: unknown) => (error instanceof Error ? error.name : '');
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * An AWS failure as an exit code and one line: the service's error name and the first line of its
 * message (AWS messages name resources, never secret values).
 */
export function awsFailure(error: unknown): AdminError {
  if (error instanceof AdminError) return error;
  const name = errorName(error);
  const line = `${name || 'Error'}: ${messageOf(error).split('\n')[0]?.slice(0, 300)}`;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  const code = (error as { code?: unknown } | null)?.code;
  if (name === 'CredentialsProviderError' || name === 'ExpiredTokenException' || name === 'UnrecognizedClientException' || name === 'InvalidClientTokenId') return new AdminError(EXIT.config, line);
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || status === 403) return new AdminError(EXIT.forbidden, line);
  if (name === 'ResourceNotFoundException') return new AdminError(EXIT.notFound, line);
  if (name === 'TimeoutError' || name === 'ThrottlingException' || name === 'TooManyRequestsException' || name === 'ServiceUnavailableException' || (typeof status === 'number' && status >= 500)) return new AdminError(EXIT.unavailable, line);
  if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT)$/.test(code)) return new AdminError(EXIT.unavailable, `${line} (no answer from AWS)`);
  return new AdminError(EXIT.internal, line);
}
