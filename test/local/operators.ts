// What `npm start` serves for the operators' CLI (`rackspace-token admin …`), beside the demo:
// CloudFormation's DescribeStacks with the stack outputs a deploy writes, Lambda's Invoke running the
// demo's own handler (the operator flush), and the demo's Secrets Manager emulator with the real
// rotation function registered, so RotateSecret runs its four steps against the Identity emulator.
import { createRequire } from 'node:module';
import { RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createLogger } from '../../functions/core/logger.ts';
import { loadConfig } from '../../functions/config.ts';
import { makeRotationHandler } from '../../functions/rotate/app.ts';
import { startCloudFormationEmulator } from '../emulators/cloudformation.ts';
import { startLambdaEmulator, type EmulatedFunction } from '../emulators/lambda.ts';
import { LOCAL_CREDENTIALS } from '../emulators/dynamodb.ts';
import { observe } from '../support/leak-guard.ts';
import { DEMO_PROFILES, type startDemo } from './demo.ts';

const { adminOutputsFrom } = createRequire(import.meta.url)('../../infra/admin-outputs.cjs') as {
  adminOutputsFrom: (declaration: unknown) => { Outputs: Record<string, { Value: unknown }> };
};

export const LOCAL_STAGE = 'local';
export const LOCAL_STACK = `rackspace-token-vendor-${LOCAL_STAGE}`;
export const LOCAL_TOKEN_FUNCTION = `${LOCAL_STACK}-token`;
export const LOCAL_ROTATE_FUNCTION_ARN = `arn:aws:lambda:us-east-1:000000000000:function:${LOCAL_STACK}-rotate`;

type Demo = Awaited<ReturnType<typeof startDemo>>;

export interface OperatorOptions {
  /** The declaration the stack outputs describe (default: the demo's); extra secrets must exist in the emulator. */
  declaration?: { profiles: Array<{ name: string; secretId: string }> };
  /** Secret ids (other than none) to give the demo's rotation, as `rotateEveryDays` would (default: the demo's). */
  rotating?: string[];
  /** The API's URL for the ServiceEndpoint output (the local gateway's). */
  apiUrl?: string;
}

/**
 * Starts the stand-ins and answers the environment that points the CLI (and any AWS SDK) at them.
 *
 * @example
 * const ops = await startOperatorStandIns(demo, { apiUrl: gateway.url });
 * // AWS_ENDPOINT_URL_LAMBDA=… rackspace-token admin flush demo --stage local --reason test
 */
export async function startOperatorStandIns(demo: Demo, options: OperatorOptions = {}) {
  const declaration = options.declaration ?? DEMO_PROFILES;
  const sm = new SecretsManagerClient({ endpoint: demo.secrets.endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const rotation = makeRotationHandler({
    config: loadConfig({ IDENTITY_URL: demo.identity.url }),
    secretsClient: sm,
    logger: createLogger({ sink: (line) => observe('rotation log line', line) }),
  });
  demo.secrets.registerRotationFunction(LOCAL_ROTATE_FUNCTION_ARN, (event) => rotation(event));
  // What the stack's RotationSchedule does at deploy: the function and the period, no rotation yet.
  for (const secretId of options.rotating ?? declaration.profiles.map((p) => p.secretId)) {
    await sm.send(new RotateSecretCommand({ SecretId: secretId, RotationLambdaARN: LOCAL_ROTATE_FUNCTION_ARN, RotationRules: { AutomaticallyAfterDays: 30 }, RotateImmediately: false }));
  }
  const lambda = await startLambdaEmulator({ [LOCAL_TOKEN_FUNCTION]: demo.handler as unknown as EmulatedFunction });
  // The outputs the template declares, with its one reference resolved as CloudFormation would.
  const resolve = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value) === '{"Ref":"TokenLambdaFunction"}' ? LOCAL_TOKEN_FUNCTION : null);
  const outputs: Record<string, string> = {};
  for (const [key, { Value }] of Object.entries(adminOutputsFrom(declaration).Outputs)) {
    const value = resolve(Value);
    if (value === null) throw new Error(`the local stack cannot resolve output ${key}: ${JSON.stringify(Value)}`);
    outputs[key] = value;
  }
  const cloudFormation = await startCloudFormationEmulator([
    { name: LOCAL_STACK, outputs: { ...outputs, RestApiId: 'local', ...(options.apiUrl && { ServiceEndpoint: options.apiUrl }) } },
  ]);
  return {
    lambda,
    cloudFormation,
    /** AWS_ENDPOINT_URL_<SERVICE>, as the AWS SDKs and CLI read them. */
    env: {
      AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation.endpoint,
      AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: demo.secrets.endpoint,
    },
    async close() {
      sm.destroy();
      await demo.secrets.rotationsSettled();
      await Promise.all([lambda.close(), cloudFormation.close()]);
    },
  };
}
