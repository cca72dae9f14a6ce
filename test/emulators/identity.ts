import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { custody } from '../support/leak-guard.ts';
import { holdRequest, type SimulatedTime } from './delay.ts';
import { demoCatalog } from './catalog.ts';

export { demoCatalog };

export interface IdentityUser {
  username: string;
  /** Identity's user id; by default `10000N`, N the user's position in `users`. */
  id?: string;
  apiKey?: string;
  password?: string;
  tenantId: string;
  tenantName: string;
  defaultRegion?: string;
  enabled?: boolean;
  /**
   * Role names answered in `access.user.roles`. Default: a plain sub-user, `identity:default` only
   * (the least privilege Identity has); the account owner holds `identity:user-admin`.
   */
  roles?: string[];
}

/** One injected answer: consumed by the next request, before normal handling. */
export interface IdentityFault {
  status?: number;
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** Answer this much later (`Infinity`: never, until the client gives up); on the test's clock when the emulator has one. */
  delayMs?: number;
  /** Called when the request arrives (a test changes something mid-request: a rotation, say). */
  onReceive?: () => void;
  /** After `delayMs`, answer as Identity would (a slow but correct answer) instead of with this fault. */
  thenAnswer?: boolean;
  /** Destroy the socket without answering. */
  reset?: boolean;
  /** The call that consumes the fault: `tokens` (default), the key `reset` or the `getKey` call. */
  on?: IdentityCall;
}

export type IdentityCall = 'tokens' | 'reset' | 'getKey' | 'revoke';

export interface IdentityEmulatorOptions {
  users: IdentityUser[];
  /** Epoch ms; every expiry decision uses it, so tests drive time. */
  now?: () => number;
  lifetimeMs?: number;
  /** How `expires` is written: 'Z', '±hh:mm' or '±hhmm'. The instant is the same either way. */
  offset?: string;
  /** The `serviceCatalog` answered for a tenant (default: {@link demoCatalog}), e.g. with odd entries. */
  catalog?: (tenantId: string) => unknown;
  port?: number;
  /** The test's fake clock: injected delays move it instead of waiting. */
  time?: SimulatedTime;
}

export interface IdentityEmulator {
  url: string;
  /** `POST /tokens` requests. */
  readonly calls: number;
  /** Requests by call, the key calls included. */
  readonly requests: Record<IdentityCall, number>;
  /** Token ids revoked with `DELETE /v2.0/tokens`. */
  readonly revoked: ReadonlySet<string>;
  injectFaults(...faults: IdentityFault[]): void;
  clearFaults(): void;
  setUser(username: string, patch: Partial<IdentityUser>): void;
  resetCalls(): void;
  close(): Promise<void>;
}

/**
 * A least-privilege sub-user, as an operator should custody: `identity:default` and one product
 * role (Rackspace's "Permissions matrix for Cloud Files": admin reads and writes Cloud Files,
 * observer only reads). Not the account owner: no `identity:user-admin`.
 */
export const DEMO_USER: IdentityUser = {
  username: 'demo',
  apiKey: 'demo-api-key-0123456789abcdef',
  tenantId: '110011',
  tenantName: '110011',
  defaultRegion: 'DFW',
  roles: ['identity:default', 'object-store:admin'],
};

/** The one role whose id and description the seeds show (test/fixtures/seed-client-devguide.json); others get made-up ids. */
const KNOWN_ROLES: Record<string, { id: string; description: string }> = {
  'identity:user-admin': { id: '3', description: 'User Admin Role.' },
};

const HOUR = 3_600_000;
const FAULT_BODIES = {
  400: { badRequest: { code: 400, message: 'Invalid request body: unable to parse Auth data. Please review XML or JSON formatting' } },
  401: { unauthorized: { code: 401, message: 'Unable to authenticate user with credentials provided.' } },
  403: { userDisabled: { code: 403, message: 'User is disabled' } },
  forbidden: { forbidden: { code: 403, message: 'Not Authorized' } },
  404: { itemNotFound: { code: 404, message: 'Resource not found' } },
  415: { badMediaType: { code: 415, message: 'Unsupported Media Type' } },
};

const KEY_PATH = /^\/v2\.0\/users\/([^/]+)\/OS-KSADM\/credentials\/RAX-KSKEY:apiKeyCredentials(\/RAX-AUTH\/reset)?$/;

/**
 * Rackspace Identity v2.0 on 127.0.0.1: `POST /v2.0/tokens` (both credential forms, tenant
 * selection, Rackspace's error bodies, 415 for a body not declared JSON, the same token until its
 * last hour) and a user's own API key: `GET …/RAX-KSKEY:apiKeyCredentials` and
 * `POST …/RAX-AUTH/reset` with `X-Auth-Token`, in XML unless JSON is accepted. A reset refuses the
 * old key at once; tokens already issued stay valid. Injectable faults per call.
 *
 * @example
 * const identity = await startIdentityEmulator({ users: [DEMO_USER] });
 * await fetch(`${identity.url}/tokens`, { method: 'POST', … });
 */
export async function startIdentityEmulator(options: IdentityEmulatorOptions): Promise<IdentityEmulator> {
  const now = options.now ?? Date.now;
  const lifetimeMs = options.lifetimeMs ?? 24 * HOUR;
  const users = new Map(options.users.map((u, i) => [u.username, { ...u, id: u.id ?? String(100000 + i) }]));
  for (const user of users.values()) [user.apiKey, user.password].forEach(custody);
  const tokens = new Map<string, { id: string; expiresAt: number }>();
  // Every token ever issued, to its user: a reset does not revoke them.
  const tokenOwners = new Map<string, { username: string; expiresAt: number }>();
  const faults: IdentityFault[] = [];
  const requests: Record<IdentityCall, number> = { tokens: 0, reset: 0, getKey: 0, revoke: 0 };
  /** Tokens revoked with `DELETE /v2.0/tokens`: later calls with them are refused. */
  const revoked = new Set<string>();

  const currentToken = (username: string) => {
    const held = tokens.get(username);
    // Rackspace re-issues the same token until its last hour, then a new one.
    if (held && held.expiresAt - now() > HOUR) return held;
    const fresh = { id: `AA${randomBytes(96).toString('base64url')}`, expiresAt: now() + lifetimeMs };
    tokens.set(username, fresh);
    tokenOwners.set(fresh.id, { username, expiresAt: fresh.expiresAt });
    custody(fresh.id);
    return fresh;
  };

  const authenticate = (body: unknown, acceptsJson: boolean, res: ServerResponse) => {
    const auth = (body as { auth?: Record<string, unknown> } | undefined)?.auth;
    const apiKeyForm = auth?.['RAX-KSKEY:apiKeyCredentials'] as Record<string, unknown> | undefined;
    const passwordForm = auth?.passwordCredentials as Record<string, unknown> | undefined;
    const form = apiKeyForm ?? passwordForm;
    const secretField = apiKeyForm ? 'apiKey' : 'password';
    if (!auth || (apiKeyForm && passwordForm) || !form || typeof form.username !== 'string' || typeof form[secretField] !== 'string') {
      return send(res, 400, FAULT_BODIES[400]);
    }
    const user = users.get(form.username);
    const tenantOk = (auth.tenantId === undefined || auth.tenantId === user?.tenantId) && (auth.tenantName === undefined || auth.tenantName === user?.tenantName);
    if (!user || user[secretField] === undefined || user[secretField] !== form[secretField] || !tenantOk) return send(res, 401, FAULT_BODIES[401]);
    if (user.enabled === false) return send(res, 403, FAULT_BODIES[403]);
    const token = currentToken(user.username);
    const expires = formatInstant(token.expiresAt, options.offset ?? 'Z');
    if (!acceptsJson) {
      res.writeHead(200, { 'content-type': 'application/xml' });
      return res.end(`<?xml version="1.0" encoding="UTF-8"?><access xmlns="http://docs.openstack.org/identity/api/v2.0"><token id="${token.id}" expires="${expires}"/></access>`);
    }
    send(res, 200, {
      access: {
        token: { id: token.id, expires, tenant: { id: user.tenantId, name: user.tenantName }, 'RAX-AUTH:authenticatedBy': [apiKeyForm ? 'APIKEY' : 'PASSWORD'] },
        serviceCatalog: options.catalog ? options.catalog(user.tenantId) : demoCatalog(user.tenantId),
        user: {
          id: user.id,
          name: user.username,
          roles: (user.roles ?? ['identity:default']).map((name, index) => ({ id: KNOWN_ROLES[name]?.id ?? String(20000 + index), name, description: KNOWN_ROLES[name]?.description ?? `Emulated role ${name}.` })),
          ...(user.defaultRegion && { 'RAX-AUTH:defaultRegion': user.defaultRegion }),
        },
      },
    });
  };

  // A user manages their own key with a token of their own (user-admins' rights over sub-users are not modelled).
  const apiKeyCall = (userId: string, reset: boolean, req: IncomingMessage, res: ServerResponse) => {
    const owner = tokenOwners.get(String(req.headers['x-auth-token'] ?? ''));
    if (!owner || owner.expiresAt <= now()) return send(res, 401, { unauthorized: { code: 401, message: 'No valid token provided. Please use the \'X-Auth-Token\' header with a valid token.' } });
    const user = [...users.values()].find((u) => u.id === userId);
    if (!user) return send(res, 404, FAULT_BODIES[404]);
    if (user.username !== owner.username) return send(res, 403, FAULT_BODIES.forbidden);
    if (reset) {
      user.apiKey = randomBytes(16).toString('hex');
      custody(user.apiKey);
    }
    if (user.apiKey === undefined) return send(res, 404, FAULT_BODIES[404]);
    // As for the token call: without `Accept: application/json` the answer is XML.
    if (!(req.headers.accept ?? '').includes('application/json')) {
      res.writeHead(200, { 'content-type': 'application/xml' });
      return res.end(`<?xml version="1.0" encoding="UTF-8"?><apiKeyCredentials xmlns="http://docs.rackspace.com/identity/api/ext/RAX-KSKEY/v1.0" username="${user.username}" apiKey="${user.apiKey}"/>`);
    }
    send(res, 200, { 'RAX-KSKEY:apiKeyCredentials': { username: user.username, apiKey: user.apiKey } });
  };

  // Rackspace's "Revoke token": `DELETE /v2.0/tokens` revokes the token in X-Auth-Token itself
  // (204); an unknown, expired or already revoked token is refused. The user's next
  // authentication gets a new token.
  const revoke = (req: IncomingMessage, res: ServerResponse) => {
    const id = String(req.headers['x-auth-token'] ?? '');
    const owner = tokenOwners.get(id);
    if (!owner || owner.expiresAt <= now() || revoked.has(id)) return send(res, 401, { unauthorized: { code: 401, message: 'No valid token provided. Please use the \'X-Auth-Token\' header with a valid token.' } });
    revoked.add(id);
    tokenOwners.delete(id);
    if (tokens.get(owner.username)?.id === id) tokens.delete(owner.username);
    res.writeHead(204).end();
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    const keyPath = KEY_PATH.exec(req.url ?? '');
    const call: IdentityCall | undefined =
      req.method === 'POST' && req.url === '/v2.0/tokens' ? 'tokens' : req.method === 'DELETE' && req.url === '/v2.0/tokens' ? 'revoke' : keyPath && req.method === (keyPath[2] ? 'POST' : 'GET') ? (keyPath[2] ? 'reset' : 'getKey') : undefined;
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (!call) return send(res, 404, FAULT_BODIES[404]);
      requests[call]++;
      const index = faults.findIndex((f) => (f.on ?? 'tokens') === call);
      const fault = index >= 0 ? faults.splice(index, 1)[0] : undefined;
      fault?.onReceive?.();
      if (fault?.thenAnswer) return void holdRequest(req, fault.delayMs ?? 0, options.time).then((open) => open && answer());
      if (fault) return void answerFault(fault, req, res, options.time);
      answer();
    });
    const answer = () => {
      if (call === 'revoke') return revoke(req, res);
      if (keyPath) return apiKeyCall(decodeURIComponent(keyPath[1] as string), call === 'reset', req, res);
      // The body is read as what its Content-Type declares; this stand-in reads JSON only (XML is out of scope).
      if (!(req.headers['content-type'] ?? '').includes('application/json')) return send(res, 415, FAULT_BODIES[415]);
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(res, 400, FAULT_BODIES[400]);
      }
      authenticate(body, (req.headers.accept ?? '').includes('application/json'), res);
    };
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v2.0`,
    get calls() {
      return requests.tokens;
    },
    requests,
    revoked,
    injectFaults: (...more) => void faults.push(...more),
    clearFaults: () => void faults.splice(0),
    setUser(username, patch) {
      const user = users.get(username);
      if (!user) throw new Error(`no user ${username}`);
      Object.assign(user, patch);
      [patch.apiKey, patch.password].forEach(custody);
    },
    resetCalls: () => {
      for (const call of Object.keys(requests) as IdentityCall[]) requests[call] = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function answerFault(fault: IdentityFault, req: IncomingMessage, res: ServerResponse, time?: SimulatedTime): Promise<void> {
  if (fault.delayMs) await holdRequest(req, fault.delayMs, time);
  // The client may have given up while we waited; there is nobody left to answer.
  if (req.socket.destroyed) return;
  if (fault.reset) return void req.socket.destroy();
  const status = fault.status ?? 500;
  const body = fault.body ?? JSON.stringify({ serviceUnavailable: { code: status, message: 'Injected fault' } });
  res.writeHead(status, { 'content-type': fault.contentType ?? 'application/json', ...fault.headers }).end(body);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** ISO 8601 with milliseconds in the given offset: same instant, other wall-clock digits. */
export function formatInstant(epochMs: number, offset: string): string {
  if (offset === 'Z') return new Date(epochMs).toISOString();
  const match = /^([+-])(\d{2}):?(\d{2})$/.exec(offset);
  if (!match) throw new Error(`bad offset ${offset}`);
  const minutes = (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]));
  return new Date(epochMs + minutes * 60_000).toISOString().replace('Z', offset);
}
