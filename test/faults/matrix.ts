import type { IdentityFault } from '../emulators/identity.ts';
import type { SecretsManagerFault } from '../emulators/secrets-manager.ts';
import { DEMO_SECRET_ID, startDemo } from '../local/demo.ts';
import { fakeClock, HOUR, type FakeClock } from '../support/clock.ts';
import { call } from '../support/events.ts';

/** Small numbers, as a deployment could choose them; time is a fake clock, so no row waits for real. */
export const BUDGET = { IDENTITY_TIMEOUT_MS: '300', IDENTITY_BUDGET_MS: '1500', IDENTITY_ATTEMPTS: '4' };
/** What Lambda's timeout would be for this budget (budget + 2 s, infra/params.cjs). */
export const LAMBDA_TIMEOUT_MS = Number(BUDGET.IDENTITY_BUDGET_MS) + 2_000;

type Demo = Awaited<ReturnType<typeof startDemo>>;

export interface FaultCase {
  name: string;
  /** A function when the fault depends on the time it is injected (an HTTP-date). */
  identity?: IdentityFault[] | ((clock: FakeClock, demo: Demo) => IdentityFault[]);
  secrets?: SecretsManagerFault[];
  /** Replace the demo secret with this text before the request. */
  secretString?: string;
  /** Runs before the faults are injected (a warm token, a rotation); Identity calls are counted after it. */
  setup?: (demo: Demo, clock: FakeClock) => Promise<void>;
  /** More than one request: `count` of them, `everyMs` apart on the fake clock. */
  requests?: { count: number; everyMs: number };
  /** What context.getRemainingTimeInMillis() says (default: no Lambda context). */
  remainingMs?: number;
  /** The last request's status and Retry-After; Identity calls over all requests; waits the retries slept. */
  expect: { status: number; identityCalls: number; retryAfter?: string; waits?: number[]; secretReads?: number };
}

const many = (fault: IdentityFault, n = 4): IdentityFault[] => Array.from({ length: n }, () => fault);
const EXPIRED = JSON.stringify({ access: { token: { id: 'AAexpired-token-0000000000', expires: '2001-01-01T00:00:00.000Z' }, serviceCatalog: [] } });
const ROTATED_KEY = 'rotated-in-the-fault-matrix-0123456789';

/** A token in the cache, then time moved on until it is short of the default minTtl (300 s). */
async function warmThenShort(demo: Demo, clock: FakeClock) {
  await call(demo.handler);
  clock.advance(24 * HOUR - 200_000);
}

export const FAULTS: FaultCase[] = [
  { name: 'Identity 500 (every attempt)', identity: many({ status: 500 }), expect: { status: 503, identityCalls: 4, retryAfter: '5', waits: [100, 200, 400] } },
  { name: 'Identity 502', identity: many({ status: 502 }), expect: { status: 503, identityCalls: 4 } },
  { name: 'Identity 503', identity: many({ status: 503 }), expect: { status: 503, identityCalls: 4 } },
  { name: 'Identity 504', identity: many({ status: 504 }), expect: { status: 503, identityCalls: 4 } },
  { name: 'connection reset', identity: many({ reset: true }), expect: { status: 503, identityCalls: 4 } },
  // 3 × 300 ms timeouts + 100 + 200 ms backoff; the 4th attempt (after 400 ms more) would not fit the 1,500 ms budget.
  { name: 'slow answer past the timeout (5 s)', identity: many({ delayMs: 5_000 }), expect: { status: 503, identityCalls: 3, waits: [100, 200] } },
  { name: 'malformed JSON', identity: [{ status: 200, body: '{"access":{"token":' }], expect: { status: 503, identityCalls: 1 } },
  { name: 'XML answer', identity: [{ status: 200, contentType: 'application/xml', body: '<access><token id="x"/></access>' }], expect: { status: 503, identityCalls: 1 } },
  { name: 'HTML error page (500)', identity: many({ status: 500, contentType: 'text/html', body: '<html><body>Bad gateway</body></html>' }), expect: { status: 503, identityCalls: 4 } },
  { name: 'missing fields', identity: [{ status: 200, body: '{"access":{"token":{"id":"AAx"}}}' }], expect: { status: 503, identityCalls: 1 } },
  { name: 'expires in the past', identity: [{ status: 200, body: EXPIRED }], expect: { status: 503, identityCalls: 1 } },
  { name: '401 (secret re-read, unchanged)', identity: [{ status: 401, body: '{"unauthorized":{"code":401,"message":"Unable to authenticate user with credentials provided."}}' }], expect: { status: 502, identityCalls: 1 } },
  { name: '403', identity: [{ status: 403, body: '{"userDisabled":{"code":403,"message":"User is disabled"}}' }], expect: { status: 502, identityCalls: 1 } },
  { name: '413 overLimit, Retry-After: 1, then success', identity: [{ status: 413, headers: { 'retry-after': '1' } }], expect: { status: 200, identityCalls: 2, waits: [1_000] } },
  { name: '413 overLimit, Retry-After: 30 (past the budget)', identity: [{ status: 413, headers: { 'retry-after': '30' } }], expect: { status: 503, identityCalls: 1, retryAfter: '30', waits: [] } },
  { name: '413 overLimit without Retry-After', identity: many({ status: 413 }), expect: { status: 503, identityCalls: 4 } },
  { name: '429, Retry-After as an HTTP-date, then success', identity: (clock) => [{ status: 429, headers: { 'retry-after': new Date(clock.now() + 1_000).toUTCString() } }], expect: { status: 200, identityCalls: 2, waits: [1_000] } },
  { name: 'fail, fail, succeed (500, 503, ok)', identity: [{ status: 500 }, { status: 503 }], expect: { status: 200, identityCalls: 3 } },
  { name: 'secret not found', secrets: [{ type: 'ResourceNotFoundException' }], expect: { status: 502, identityCalls: 0 } },
  { name: 'secret access denied', secrets: [{ type: 'AccessDeniedException' }], expect: { status: 502, identityCalls: 0 } },
  { name: 'secret decryption failure', secrets: [{ type: 'DecryptionFailure' }], expect: { status: 502, identityCalls: 0 } },
  { name: 'Secrets Manager throttling', secrets: [{ type: 'ThrottlingException' }], expect: { status: 503, identityCalls: 0, retryAfter: '1' } },
  { name: 'malformed secret JSON', secretString: '{"username":', expect: { status: 502, identityCalls: 0 } },
  { name: 'secret missing a field', secretString: '{"username":"demo"}', expect: { status: 502, identityCalls: 0 } },
  // Issue 10 item 2: a read that is accepted and never answered ends at the request's deadline.
  { name: 'Secrets Manager accepts and never answers', secrets: [{ type: 'InternalServiceError', delayMs: Infinity }], expect: { status: 503, identityCalls: 0, retryAfter: '1' } },
  // Item 3: one retry cycle, then one probe per backoff period (5 s, then 10 s).
  { name: 'outage: 15 requests at 1/s, cached token short of minTtl', setup: warmThenShort, identity: many({ status: 500 }, 20), requests: { count: 15, everyMs: 1_000 }, expect: { status: 200, identityCalls: 5 } },
  { name: 'outage: 15 requests at 1/s, nothing cached', identity: many({ status: 500 }, 20), requests: { count: 15, everyMs: 1_000 }, expect: { status: 503, identityCalls: 5 } },
  { name: 'outage: 413 overLimit Retry-After: 30, 15 requests at 1/s', identity: many({ status: 413, headers: { 'retry-after': '30' } }, 20), requests: { count: 15, everyMs: 1_000 }, expect: { status: 503, identityCalls: 1, retryAfter: '16' } },
  // Item 4: a refused key is remembered; the secret is not re-read either (within SECRET_TTL_SECONDS).
  // Reads: the secret, its re-read, one look for an AWSPENDING version (none: no rotation in progress).
  { name: '401, then 9 more requests with the same secret', identity: many({ status: 401, body: '{"unauthorized":{"code":401,"message":"Unable to authenticate user with credentials provided."}}' }, 10), requests: { count: 10, everyMs: 1_000 }, expect: { status: 502, identityCalls: 1, secretReads: 3 } },
  // Item 12: Retry-After only as delta-seconds or IMF-fixdate, clamped to 1-300 s.
  { name: 'Retry-After: 99999999999999999999 (clamped to 300)', identity: [{ status: 413, headers: { 'retry-after': '99999999999999999999' } }], expect: { status: 503, identityCalls: 1, retryAfter: '300', waits: [] } },
  { name: 'Retry-After: 0 (clamped to 1 s), then success', identity: [{ status: 429, headers: { 'retry-after': '0' } }], expect: { status: 200, identityCalls: 2, waits: [1_000] } },
  { name: 'Retry-After as a loose date (ignored), then success', identity: [{ status: 429, headers: { 'retry-after': '2026-11-22T10:00:30Z' } }], expect: { status: 200, identityCalls: 2, waits: [100] } },
  // Item 13 and issue 11 item 1: configuration errors, never retried, never followed.
  { name: 'Identity 404 (wrong URL path)', identity: [{ status: 404, body: '{"itemNotFound":{"code":404,"message":"Resource not found"}}' }], expect: { status: 502, identityCalls: 1 } },
  { name: 'Identity 405', identity: [{ status: 405 }], expect: { status: 502, identityCalls: 1 } },
  { name: 'Identity 307 to another host (not followed)', identity: [{ status: 307, headers: { location: 'http://127.0.0.2:9/v2.0/tokens' } }], expect: { status: 502, identityCalls: 1 } },
  // Issue 11 item 2: Identity answers in 250 ms (inside its 300 ms timeout), first 401, then the new
  // key. With 900 ms left (400 ms after the 500 ms margin) the second answer would come too late.
  {
    name: 'slow 401 → rotated secret → slow answer, 900 ms remaining',
    identity: (_, demo) => [{ status: 401, delayMs: 250, onReceive: () => rotate(demo) }, { thenAnswer: true, delayMs: 250 }],
    remainingMs: 900,
    expect: { status: 503, identityCalls: 2, retryAfter: '1', secretReads: 2 },
  },
  {
    name: 'slow 401 → rotated secret → slow answer, 1.5 s remaining',
    identity: (_, demo) => [{ status: 401, delayMs: 250, onReceive: () => rotate(demo) }, { thenAnswer: true, delayMs: 250 }],
    remainingMs: 1_500,
    expect: { status: 200, identityCalls: 2, secretReads: 2 },
  },
];

/** Identity takes the new key and refuses the old one; the secret holds the new one, read only after the 401. */
function rotate(demo: Demo) {
  demo.identity.setUser('demo', { apiKey: ROTATED_KEY });
  demo.secrets.putSecret(DEMO_SECRET_ID, JSON.stringify({ username: 'demo', apiKey: ROTATED_KEY, identityUrl: demo.identity.url }));
}

export interface FaultResult {
  status: number;
  identityCalls: number;
  secretReads: number;
  retryAfter: string | undefined;
  /** Simulated milliseconds from the first request to the last answer. */
  ms: number;
  /** Simulated milliseconds the slowest single request took. */
  longestMs: number;
  /** What the retries slept, in order. */
  waits: number[];
  body: string;
  logs: string[];
  requests: number;
}

/** Runs one fault against fresh emulators (so no cached token hides it) on a fake clock. */
export async function runFault(fault: FaultCase): Promise<FaultResult> {
  const logs: string[] = [];
  const clock = fakeClock();
  const waits: number[] = [];
  // Jitter fixed at half the step (100, 200, 400 ms) so the call counts are the same every run.
  const demo = await startDemo({
    env: BUDGET,
    clock,
    sink: (line) => logs.push(line),
    deps: { random: () => 0.5, sleep: async (ms) => (waits.push(ms), clock.sleep(ms)) },
  });
  try {
    if (fault.setup) await fault.setup(demo, clock);
    demo.identity.resetCalls();
    demo.secrets.resetCalls();
    waits.splice(0);
    logs.splice(0);
    if (fault.secretString !== undefined) demo.secrets.putSecret(DEMO_SECRET_ID, fault.secretString);
    if (fault.identity) demo.identity.injectFaults(...(typeof fault.identity === 'function' ? fault.identity(clock, demo) : fault.identity));
    if (fault.secrets) demo.secrets.injectFaults(...fault.secrets);
    const { count, everyMs } = fault.requests ?? { count: 1, everyMs: 0 };
    const started = clock.now();
    let longestMs = 0;
    let answer;
    for (let i = 0; i < count; i++) {
      while (clock.advanceTowards(started + i * everyMs));
      const sent = clock.now();
      answer = await call(demo.handler, fault.remainingMs === undefined ? {} : { remainingMs: fault.remainingMs });
      longestMs = Math.max(longestMs, clock.now() - sent);
    }
    if (!answer) throw new Error('no request was made');
    return {
      status: answer.statusCode,
      identityCalls: demo.identity.calls,
      secretReads: demo.secrets.calls.GetSecretValue ?? 0,
      retryAfter: answer.headers['retry-after'],
      ms: clock.now() - started,
      longestMs,
      waits,
      body: answer.body,
      logs,
      requests: count,
    };
  } finally {
    await demo.close();
  }
}
