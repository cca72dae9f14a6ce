// The four operator commands over the AWS SDK. Each resolves to the lines to print, or throws an
// AdminError (exit code + one line); client/admin.ts parses the command line and prints.
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import { parseCredentials, SecretFormatError } from '../functions/core/credentials.ts';
import { AdminError, clientConfig, errorName, secretOf, type AwsSettings, type Stack } from './admin-aws.ts';
import { EXIT } from './cli.ts';

/** What a bare key is completed with: flags first, else the secret's current fields. */
export interface KeyFields {
  username?: string | undefined;
  tenantId?: string | undefined;
  tenantName?: string | undefined;
  identityUrl?: string | undefined;
}

/**
 * Writes a profile's secret: `text` is the secret's JSON, or the API key alone, which is completed
 * with `fields` and the fields the secret already holds (username, tenant, identityUrl). Checked
 * with the function's own parser before anything is written; the key is never part of an answer.
 */
export async function putKey(aws: AwsSettings, stack: Stack, profile: string, text: string, fields: KeyFields): Promise<string[]> {
  const secretId = secretOf(stack, profile);
  const input = text.trim();
  if (input === '') throw new AdminError(EXIT.badRequest, 'Nothing on stdin: pipe the secret\'s JSON or the API key (nothing was written).');
  const client = new SecretsManagerClient(clientConfig(aws, 'SECRETS_MANAGER'));
  try {
    let value: Record<string, unknown>;
    if (input.startsWith('{')) {
      if (Object.values(fields).some((v) => v !== undefined)) throw new AdminError(EXIT.usage, '--username, --tenant-id, --tenant-name and --identity-url complete a bare key; put those fields in the JSON instead.');
      value = parseObject(input);
    } else {
      const kept = await currentFields(client, secretId);
      const given = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
      if (given.tenantId !== undefined) delete kept.tenantName;
      if (given.tenantName !== undefined) delete kept.tenantId;
      value = { ...kept, ...given, apiKey: input };
      if (value.username === undefined) throw new AdminError(EXIT.badRequest, `A bare key needs --username: secret ${secretId} holds no username yet (nothing was written).`);
    }
    const secretString = JSON.stringify(value);
    try {
      parseCredentials(secretString);
    } catch (error) {
      if (error instanceof SecretFormatError) throw new AdminError(EXIT.badRequest, `Not a valid secret for profile '${profile}': ${error.message} (nothing was written).`);
      throw error;
    }
    try {
      const put = await client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: secretString }));
      return [`Stored a new value for profile '${profile}' in secret ${put.ARN ?? secretId} (version ${put.VersionId ?? 'unknown'}).`, 'The function reads it at its next secret re-read (SECRET_TTL_SECONDS); flush the profile to drop the token of the old key now.'];
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') throw new AdminError(EXIT.notFound, `Secret ${secretId} does not exist: deploy this version of the stack, which creates it (nothing was written).`);
      throw error;
    }
  } finally {
    client.destroy();
  }
}

function parseObject(text: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AdminError(EXIT.badRequest, 'The input starts with { but is not JSON (nothing was written).');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new AdminError(EXIT.badRequest, 'The secret must be a JSON object (nothing was written).');
  return json as Record<string, unknown>;
}

/** The fields a bare key keeps from the secret: who it belongs to and where Identity is. */
const KEPT = ['username', 'tenantId', 'tenantName', 'identityUrl'];

/**
 * The secret's current fields that a bare key keeps, or none when it has no value yet (or one that
 * is not a JSON object, such as a placeholder the stack put there).
 */
async function currentFields(client: SecretsManagerClient, secretId: string): Promise<Record<string, unknown>> {
  try {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    const json: unknown = JSON.parse(SecretString ?? 'null');
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return {};
    return Object.fromEntries(Object.entries(json).filter(([name]) => KEPT.includes(name)));
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException' || error instanceof SyntaxError) return {};
    throw error;
  }
}

/** The token function's answer to an operator event: an API Gateway-shaped response around the flush result. */
const Wrapped = z.object({ statusCode: z.number(), body: z.string() });
const FlushAnswer = z.object({
  status: z.number(),
  detail: z.string(),
  tokens: z.array(z.object({ tokenSha256: z.string(), revocation: z.string() })),
});

const FLUSH_EXIT: Record<number, number> = { 200: 0, 400: EXIT.badRequest, 404: EXIT.notFound, 502: EXIT.upstreamRefused, 503: EXIT.unavailable };

/**
 * Invokes the token function's operator flush and unwraps its answer: one line with the outcome,
 * one per token dropped (its fingerprint and what Identity said), and the exit code of the status.
 */
export async function flush(aws: AwsSettings, stack: Stack, profile: string, reason: string): Promise<{ code: number; lines: string[] }> {
  const functionName = stack.outputs.TokenFunctionName;
  if (!functionName) throw new AdminError(EXIT.config, `Stack ${stack.name} has no TokenFunctionName output: deploy this version of rackspace-token-vendor first.`);
  const client = new LambdaClient(clientConfig(aws, 'LAMBDA'));
  try {
    const answer = await client.send(new InvokeCommand({ FunctionName: functionName, Payload: JSON.stringify({ operation: 'flush', profile, reason }) }));
    const text = Buffer.from(answer.Payload ?? new Uint8Array()).toString('utf8');
    if (answer.FunctionError) {
      const failure = safeJson(text) as { errorType?: unknown; errorMessage?: unknown } | null;
      // Lambda's own timeout: the flush may not have finished; running it again is safe.
      const timedOut = failure?.errorType === 'Sandbox.Timedout' || /Task timed out/.test(String(failure?.errorMessage ?? ''));
      throw new AdminError(timedOut ? EXIT.unavailable : EXIT.internal, `The function failed (${answer.FunctionError}): ${String(failure?.errorType ?? 'Error')}: ${String(failure?.errorMessage ?? text.slice(0, 200))}`);
    }
    const wrapped = Wrapped.safeParse(safeJson(text));
    const result = wrapped.success ? FlushAnswer.safeParse(safeJson(wrapped.data.body)) : null;
    if (!result?.success) throw new AdminError(EXIT.internal, `The function ${functionName} answered something that is not a flush result: is it rackspace-token-vendor's token function?`);
    const { status, detail, tokens } = result.data;
    const lines = [`flush ${profile}: ${status} ${detail}`, ...tokens.map((t) => `  token sha256:${t.tokenSha256} ${t.revocation}`)];
    return { code: FLUSH_EXIT[status] ?? EXIT.internal, lines };
  } finally {
    client.destroy();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * Starts a rotation of the profile's secret (RotateSecret, with the schedule the stack set), after
 * checking there is one and that the secret holds a key to rotate.
 */
export async function rotate(aws: AwsSettings, stack: Stack, profile: string): Promise<string[]> {
  const secretId = secretOf(stack, profile);
  const client = new SecretsManagerClient(clientConfig(aws, 'SECRETS_MANAGER'));
  try {
    const secret = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
    if (!secret.RotationEnabled || !secret.RotationLambdaARN) {
      throw new AdminError(EXIT.config, `Profile '${profile}' has no rotation (secret ${secretId} has no rotation schedule): add "rotateEveryDays" to it in infra/profiles.json and deploy.`);
    }
    const stages = Object.values(secret.VersionIdsToStages ?? {}).flat();
    if (!stages.includes('AWSCURRENT')) throw new AdminError(EXIT.config, `Profile '${profile}' has no key to rotate yet: put one first with 'rackspace-token admin put-key ${profile}'.`);
    try {
      const started = await client.send(new RotateSecretCommand({ SecretId: secretId }));
      return [`Rotation of profile '${profile}' started: secret ${secret.ARN ?? secretId}, new version ${started.VersionId ?? 'unknown'}.`, 'Secrets Manager runs the four steps now; the rotate function\'s log says how each went, and describe-secret shows AWSPENDING until it is done.'];
    } catch (error) {
      // The service re-attempts an unfinished rotation instead of starting another (and says so).
      if (errorName(error) === 'InvalidRequestException' && /previous rotation/i.test(error instanceof Error ? error.message : '')) {
        return [`A previous rotation of profile '${profile}' was not complete: Secrets Manager re-attempts it instead of starting another (secret ${secret.ARN ?? secretId}).`];
      }
      throw error;
    }
  } finally {
    client.destroy();
  }
}

const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

/**
 * What a caller's role needs to use a profile: the IAM statement for the caller team (execute-api:Invoke
 * on the profile's route ARN) and the `allow` entry for the operators. No AWS call but the stack's outputs.
 */
export function grant(aws: AwsSettings, stack: Stack, profile: string, role: string, stage: string): string[] {
  secretOf(stack, profile); // the profile must be declared
  const role_ = ROLE_ARN.exec(role);
  if (!role_) throw new AdminError(EXIT.usage, `--role must be an IAM role ARN, arn:aws:iam::123456789012:role/NAME (no wildcards: a grant names one role).`);
  const apiId = stack.outputs.RestApiId;
  if (!apiId) throw new AdminError(EXIT.config, `Stack ${stack.name} has no RestApiId output.`);
  const deployedStage = stageOf(stack.outputs.ServiceEndpoint) ?? stage;
  const resource = `arn:${stack.partition}:execute-api:${aws.region}:${stack.account}:${apiId}/${deployedStage}/GET/v1/profiles/${profile}/token`;
  const statement = { Sid: `RackspaceToken${profile.replace(/[^A-Za-z0-9]/g, '')}`, Effect: 'Allow', Action: 'execute-api:Invoke', Resource: resource };
  return [
    `# 1. The caller team: add this statement to the policy of ${role} (account ${role_[2]}).`,
    `#    Needed in every account, the API's own included: the API's resource policy only delegates to the caller account's IAM.`,
    JSON.stringify(statement, null, 2),
    `# 2. The operators: add the role to profile '${profile}' in infra/profiles.json, then deploy (the API's resource policy changes with the deploy):`,
    `"allow": [${JSON.stringify(role)}]`,
    `# Then the caller runs: rackspace-token token ${profile} --url ${stack.outputs.ServiceEndpoint ?? 'URL'}`,
  ];
}

/** The stage in the API's URL (`https://ID.execute-api.REGION.amazonaws.com/STAGE`), if it has one. */
function stageOf(url: string | undefined): string | undefined {
  if (!url || !URL.canParse(url)) return undefined;
  return new URL(url).pathname.split('/').filter(Boolean).pop();
}
