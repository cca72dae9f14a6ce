import { createServer, request as forward, STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { holdRequest, type SimulatedTime } from '../emulators/delay.ts';

/**
 * What the proxy does to one request:
 * - `lose`: the request reaches the service, which acts on it (the write lands); its answer is
 *   dropped and the caller's connection closed, so the caller never learns the outcome.
 * - `late`: the request reaches the service; its answer is held until the caller gives up (closes
 *   the connection) or `delayMs` passes, then delivered if anyone is still listening.
 * - `reset`: the connection is reset before anything is forwarded (the service never sees it).
 * - `twice`: the answer is written twice on the connection (a stray second answer follows the first).
 * - `duplicate`: the request is delivered to the service twice (a network or SDK retry); the caller
 *   gets the second answer.
 */
export type FaultKind = 'lose' | 'late' | 'reset' | 'twice' | 'duplicate';
export const FAULT_KINDS: readonly FaultKind[] = ['lose', 'late', 'reset', 'twice', 'duplicate'];

export interface ProxyRule {
  /** The request's name (see {@link requestName}): equal to it, or matching it. Any request when absent. */
  match?: string | RegExp;
  fault: FaultKind;
  /** How many matching requests take the fault (default 1); `Infinity` for all of them. */
  times?: number;
  /** Let this many matching requests pass first (default 0): "the second UpdateItem". */
  skip?: number;
  /** For `late`: deliver after this long (default: never, only the caller giving up ends the wait). */
  delayMs?: number;
}

export interface ProxyOptions {
  /** Where requests go: an origin (`http://127.0.0.1:PORT`), or a function when it is known only later. */
  target: string | (() => string);
  /** The test's fake clock: a `late` hold moves it from timer to timer so the caller's timeout fires (test/emulators/delay.ts). */
  time?: SimulatedTime;
}

export interface FaultProxy {
  /** `http://127.0.0.1:PORT` of the proxy. */
  origin: string;
  /** `url` with its origin replaced by the proxy's (path and query kept): `http://127.0.0.1:P/v2.0`. */
  via(url: string): string;
  inject(...rules: ProxyRule[]): void;
  clear(): void;
  /** The last 1,000 requests seen, by name, and what was done to it, in order (a soak must not grow it forever). */
  readonly log: ReadonlyArray<{ name: string; fault: FaultKind | 'pass' }>;
  /** Rules not yet used up (a soak adds one only when none is waiting). */
  readonly pending: number;
  /** How many requests took each fault. */
  readonly faulted: Readonly<Record<FaultKind, number>>;
  close(): Promise<void>;
}

/**
 * A request's name for matching: its AWS JSON operation (`X-Amz-Target: DynamoDB_20120810.UpdateItem`
 * → `UpdateItem`), else its method and path (`POST /v2.0/tokens`).
 */
export function requestName(method: string | undefined, url: string | undefined, headers: IncomingHttpHeaders): string {
  const target = headers['x-amz-target'];
  if (typeof target === 'string' && target.includes('.')) return target.slice(target.lastIndexOf('.') + 1);
  return `${method ?? 'GET'} ${(url ?? '/').split('?')[0]}`;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer']);

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A small HTTP proxy on 127.0.0.1 for fault tests: put it in front of an emulator, point the real
 * client (SDK endpoint, Identity URL) at it, and choose per request what happens to the answer.
 * Requests without a rule pass untouched. Bodies are read whole (the services' answers are small).
 *
 * @example
 * const proxy = await startFaultProxy({ target: dynamo.endpoint });
 * proxy.inject({ match: 'UpdateItem', fault: 'lose' });
 * new DynamoDBClient({ endpoint: proxy.origin, … });
 */
export async function startFaultProxy(options: ProxyOptions): Promise<FaultProxy> {
  const target = typeof options.target === 'string' ? () => options.target as string : options.target;
  const rules: Array<ProxyRule & { seen: number; used: number }> = [];
  const log: Array<{ name: string; fault: FaultKind | 'pass' }> = [];
  const faulted: Record<FaultKind, number> = { lose: 0, late: 0, reset: 0, twice: 0, duplicate: 0 };
  const sockets = new Set<Socket>();

  const pick = (name: string): ProxyRule | undefined => {
    for (const rule of rules) {
      const matches = rule.match === undefined || (typeof rule.match === 'string' ? rule.match === name : rule.match.test(name));
      if (!matches || rule.used >= (rule.times ?? 1)) continue;
      if (rule.seen++ < (rule.skip ?? 0)) continue;
      rule.used++;
      return rule;
    }
    return undefined;
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => void handle(req, res, Buffer.concat(chunks)).catch(() => res.destroy()));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const name = requestName(req.method, req.url, req.headers);
    const rule = pick(name);
    log.push({ name, fault: rule?.fault ?? 'pass' });
    if (log.length > 1_000) log.shift();
    if (rule) faulted[rule.fault]++;
    if (rule?.fault === 'reset') return void req.socket.resetAndDestroy();
    if (rule?.fault === 'duplicate') await upstream(target(), req, body);
    const answer = await upstream(target(), req, body);
    if (rule?.fault === 'lose') return void req.socket.destroy();
    if (rule?.fault === 'late') {
      const open = await holdRequest(req, rule.delayMs ?? Infinity, options.time);
      if (!open || req.socket.destroyed) return;
    }
    const headers = answerHeaders(answer);
    res.writeHead(answer.status, headers).end(answer.body);
    // The same bytes again, unasked for: the client finds a second answer on its connection.
    if (rule?.fault === 'twice') req.socket.write(rawAnswer(answer, headers));
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    via(url) {
      const parsed = new URL(url);
      return `${origin}${parsed.pathname === '/' && !url.endsWith('/') ? '' : parsed.pathname}${parsed.search}`;
    },
    inject: (...more) => void rules.push(...more.map((rule) => ({ ...rule, seen: 0, used: 0 }))),
    clear: () => void rules.splice(0),
    log,
    faulted,
    get pending() {
      return rules.filter((rule) => rule.used < (rule.times ?? 1)).length;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Sends the request on to the service as it came (its `Host`, and so its SigV4 signature, unchanged). */
function upstream(origin: string, req: IncomingMessage, body: Buffer): Promise<Answer> {
  const url = new URL(req.url ?? '/', origin);
  const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
  return new Promise((resolve, reject) => {
    const out = forward(url, { method: req.method, headers: { ...headers, 'content-length': String(body.length) }, agent: false }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('error', reject);
      answer.on('end', () => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) }));
    });
    out.on('error', reject);
    out.end(body);
  });
}

function answerHeaders(answer: Answer): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
  headers['content-length'] = String(answer.body.length);
  return headers;
}

function rawAnswer(answer: Answer, headers: Record<string, string | string[]>): Buffer {
  const lines = [`HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? 'Unknown'}`];
  for (const [name, value] of Object.entries(headers)) for (const one of [value].flat()) lines.push(`${name}: ${one}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), answer.body]);
}
