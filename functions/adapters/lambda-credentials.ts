import { fromEnv } from '@aws-sdk/credential-provider-env';
import { fromHttp } from '@aws-sdk/credential-provider-http';
import { chain, CredentialsProviderError, memoize } from '@smithy/core/config';

type Credentials = Awaited<ReturnType<ReturnType<typeof fromEnv>>>;
type Logger = NonNullable<Parameters<typeof fromHttp>[0]>['logger'];

// Refresh container credentials five minutes before they expire, as the SDK's default chain does.
const REFRESH_BEFORE_MS = 5 * 60_000;

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the deployed bundle (infra/esbuild.cjs
 * aliases it). Two sources, in this order: the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN: how Lambda hands over the execution role today), then
 * the container endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN,
 * as Lambda SnapStart, ECS and EKS do). The default chain's INI, SSO, process, web-identity and
 * IMDS providers stay out: they were a third of the bundle and Lambda never uses them.
 * Tests and `npm start` run unbundled and keep the SDK's full default chain.
 */
export const defaultProvider = (init: { logger?: Logger } = {}) => {
  const logger = init.logger;
  return memoize<Credentials>(
    chain(
      fromEnv(logger ? { logger } : {}),
      // Built on first use: fromHttp refuses at once when no endpoint is configured.
      async () => fromHttp({ ...(logger && { logger }), timeout: 1_000, maxRetries: 1 })(),
      async () => {
        throw new CredentialsProviderError('no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_CONTAINER_CREDENTIALS_FULL_URI', { tryNextLink: false });
      },
    ),
    (credentials) => credentials.expiration !== undefined && credentials.expiration.getTime() - Date.now() < REFRESH_BEFORE_MS,
    (credentials) => credentials.expiration !== undefined,
  );
};
