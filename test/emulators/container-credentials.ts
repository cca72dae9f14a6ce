import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { custody } from '../support/leak-guard.ts';

/**
 * The container credentials endpoint as Lambda (SnapStart), ECS and EKS run it: a GET on the URI the
 * runtime puts in AWS_CONTAINER_CREDENTIALS_FULL_URI, with the runtime's AWS_CONTAINER_AUTHORIZATION_TOKEN
 * as the Authorization header, answers temporary credentials as JSON; a wrong or missing token is a 401.
 * Every value it hands out is a secret, so each is custodied for the suite's leak guard.
 */
export async function startContainerCredentialsEndpoint(options: { lifetimeMs?: number } = {}) {
  const authorizationToken = `container-auth-${randomBytes(16).toString('hex')}`;
  const credentials = {
    AccessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
    SecretAccessKey: randomBytes(30).toString('base64url'),
    Token: `container-session-${randomBytes(24).toString('base64url')}`,
  };
  for (const value of [authorizationToken, credentials.SecretAccessKey, credentials.Token]) custody(value);
  const requests: Array<{ path: string; authorized: boolean }> = [];
  const server = createServer((req, res) => {
    const authorized = req.method === 'GET' && req.headers.authorization === authorizationToken;
    requests.push({ path: req.url ?? '', authorized });
    res.setHeader('content-type', 'application/json');
    if (!authorized) {
      res.statusCode = 401;
      return res.end(JSON.stringify({ Code: 'InvalidToken', Message: 'Authorization token is missing or invalid' }));
    }
    const expiration = new Date(Date.now() + (options.lifetimeMs ?? 3_600_000)).toISOString().replace(/\.\d{3}Z$/, 'Z');
    res.end(JSON.stringify({ ...credentials, Expiration: expiration }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    /** What the runtime sets for the function: the endpoint and its token. */
    env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${port}/2021-04-23/credentials`, AWS_CONTAINER_AUTHORIZATION_TOKEN: authorizationToken },
    credentials,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
