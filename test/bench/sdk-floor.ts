// The cold-start floor: the two network calls a vend cannot avoid (one GetSecretValue with the
// real SDK client, one POST to Identity with plain fetch) and nothing else — no framework,
// validation, logger or cache. cold.ts bundles it with the deployed bundle's esbuild options so
// both sides of the ratio load one bundled file; it is never imported by the product.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

// Bundled, every import above has been evaluated by the time this line runs.
const loadedMs = performance.now();
const client = new SecretsManagerClient({ maxAttempts: 2 });
const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: process.env.BENCH_SECRET_ID }));
const { username, apiKey, identityUrl = process.env.IDENTITY_URL } = JSON.parse(SecretString ?? '{}') as { username: string; apiKey: string; identityUrl?: string };
const response = await fetch(`${identityUrl}/tokens`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json' },
  body: JSON.stringify({ auth: { 'RAX-KSKEY:apiKeyCredentials': { username, apiKey } } }),
});
const access = (await response.json()) as { access?: { token?: { expires?: string } } };
// The status only, never the token: the parent checks it to know the run really authenticated.
const answeredMs = performance.now();
console.log(`RESULT ${JSON.stringify({ statusCode: response.status, expires: access.access?.token?.expires ?? null, loadedMs, answeredMs })}`);
// No client.destroy(): the handler does not destroy its client either, so both exit the same way.
