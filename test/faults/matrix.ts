import { performance } from 'node:perf_hooks';
import type { IdentityFault } from '../emulators/identity.ts';
import type { SecretsManagerFault } from '../emulators/secrets-manager.ts';
import { DEMO_SECRET_ID, startDemo } from '../local/demo.ts';
import { call } from '../support/events.ts';

/** Small numbers so the whole matrix runs in seconds on a real clock (real timeouts, real waits). */
export const BUDGET = { IDENTITY_TIMEOUT_MS: '300', IDENTITY_BUDGET_MS: '1500', IDENTITY_ATTEMPTS: '4' };

export interface FaultCase {
  name: string;
  /** A function when the fault depends on the time it is injected (an HTTP-date). */
  identity?: IdentityFault[] | (() => IdentityFault[]);
  secrets?: SecretsManagerFault[];
  /** Replace the demo secret with this text before the request. */
  secretString?: string;
  expect: { status: number; identityCalls: number; retryAfter?: string };
}

const many = (fault: IdentityFault): IdentityFault[] => Array.from({ length: 4 }, () => fault);
const EXPIRED = JSON.stringify({ access: { token: { id: 'AAexpired-token-0000000000', expires: '2001-01-01T00:00:00.000Z' }, serviceCatalog: [] } });

export const FAULTS: FaultCase[] = [
  { name: 'Identity 500 (every attempt)', identity: many({ status: 500 }), expect: { status: 503, identityCalls: 4, retryAfter: '5' } },
  { name: 'Identity 502', identity: many({ status: 502 }), expect: { status: 503, identityCalls: 4 } },
  { name: 'Identity 503', identity: many({ status: 503 }), expect: { status: 503, identityCalls: 4 } },
  { name: 'Identity 504', identity: many({ status: 504 }), expect: { status: 503, identityCalls: 4 } },
  { name: 'connection reset', identity: many({ reset: true }), expect: { status: 503, identityCalls: 4 } },
  // 3 × 300 ms timeouts + 100 + 200 ms backoff; the 4th attempt (after 400 ms more) would not fit the 1,500 ms budget.
  { name: 'slow answer past the timeout (5 s)', identity: many({ delayMs: 5_000 }), expect: { status: 503, identityCalls: 3 } },
  { name: 'malformed JSON', identity: [{ status: 200, body: '{"access":{"token":' }], expect: { status: 503, identityCalls: 1 } },
  { name: 'XML answer', identity: [{ status: 200, contentType: 'application/xml', body: '<access><token id="x"/></access>' }], expect: { status: 503, identityCalls: 1 } },
  { name: 'HTML error page (500)', identity: many({ status: 500, contentType: 'text/html', body: '<html><body>Bad gateway</body></html>' }), expect: { status: 503, identityCalls: 4 } },
  { name: 'missing fields', identity: [{ status: 200, body: '{"access":{"token":{"id":"AAx"}}}' }], expect: { status: 503, identityCalls: 1 } },
  { name: 'expires in the past', identity: [{ status: 200, body: EXPIRED }], expect: { status: 503, identityCalls: 1 } },
  { name: '401 (secret re-read, unchanged)', identity: [{ status: 401, body: '{"unauthorized":{"code":401,"message":"Unable to authenticate user with credentials provided."}}' }], expect: { status: 502, identityCalls: 1 } },
  { name: '403', identity: [{ status: 403, body: '{"userDisabled":{"code":403,"message":"User is disabled"}}' }], expect: { status: 502, identityCalls: 1 } },
  { name: '413 overLimit, Retry-After: 1, then success', identity: [{ status: 413, headers: { 'retry-after': '1' } }], expect: { status: 200, identityCalls: 2 } },
  { name: '413 overLimit, Retry-After: 30 (past the budget)', identity: [{ status: 413, headers: { 'retry-after': '30' } }], expect: { status: 503, identityCalls: 1, retryAfter: '30' } },
  { name: '413 overLimit without Retry-After', identity: many({ status: 413 }), expect: { status: 503, identityCalls: 4 } },
  { name: '429, Retry-After as an HTTP-date, then success', identity: () => [{ status: 429, headers: { 'retry-after': new Date(Date.now() + 1_000).toUTCString() } }], expect: { status: 200, identityCalls: 2 } },
  { name: 'fail, fail, succeed (500, 503, ok)', identity: [{ status: 500 }, { status: 503 }], expect: { status: 200, identityCalls: 3 } },
  { name: 'secret not found', secrets: [{ type: 'ResourceNotFoundException' }], expect: { status: 502, identityCalls: 0 } },
  { name: 'secret access denied', secrets: [{ type: 'AccessDeniedException' }], expect: { status: 502, identityCalls: 0 } },
  { name: 'secret decryption failure', secrets: [{ type: 'DecryptionFailure' }], expect: { status: 502, identityCalls: 0 } },
  { name: 'Secrets Manager throttling', secrets: [{ type: 'ThrottlingException' }], expect: { status: 503, identityCalls: 0, retryAfter: '1' } },
  { name: 'malformed secret JSON', secretString: '{"username":', expect: { status: 502, identityCalls: 0 } },
  { name: 'secret missing a field', secretString: '{"username":"demo"}', expect: { status: 502, identityCalls: 0 } },
];

export interface FaultResult {
  status: number;
  identityCalls: number;
  retryAfter: string | undefined;
  ms: number;
  body: string;
  logs: string[];
}

/** Runs one fault against fresh emulators (so no cached token hides it) on the real clock. */
export async function runFault(fault: FaultCase): Promise<FaultResult> {
  const logs: string[] = [];
  // Jitter fixed at half the step (100, 200, 400 ms) so the call counts are the same every run.
  const demo = await startDemo({ env: BUDGET, sink: (line) => logs.push(line), deps: { random: () => 0.5 } });
  try {
    if (fault.secretString !== undefined) demo.secrets.putSecret(DEMO_SECRET_ID, fault.secretString);
    if (fault.identity) demo.identity.injectFaults(...(typeof fault.identity === 'function' ? fault.identity() : fault.identity));
    if (fault.secrets) demo.secrets.injectFaults(...fault.secrets);
    const started = performance.now();
    const answer = await call(demo.handler);
    const ms = performance.now() - started;
    return { status: answer.statusCode, identityCalls: demo.identity.calls, retryAfter: answer.headers['retry-after'], ms, body: answer.body, logs };
  } finally {
    await demo.close();
  }
}
