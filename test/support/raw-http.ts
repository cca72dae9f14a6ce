import { connect } from 'node:net';
import { serveLocally } from '../local/http-adapter.ts';
import type { LocalKey } from '../local/sigv4.ts';

export interface RawAnswer {
  /** The status code of the first status line, or null when the server closed without one. */
  status: number | null;
  /** Everything the server wrote before it closed the connection (latin1). */
  text: string;
  /** The body after the first blank line, parsed as JSON when it is JSON. */
  json: unknown;
}

/**
 * Writes `bytes` to 127.0.0.1:port as they are (no client library tidies them up) and reads until
 * the server closes. Callers send `Connection: close` when they want the answer to end the read.
 *
 * @example
 * await rawRequest(port, 'GET http://127.0.0.1:99999/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
 */
export function rawRequest(port: number, bytes: string | Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A reset after a partial answer is an answer too: the test decides what it needed.
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? socket.destroy() : reject(error)));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
      const end = text.indexOf('\r\n\r\n');
      const raw = text.slice(end + 4);
      const body = /^transfer-encoding: *chunked\r?$/im.test(text.slice(0, end)) ? unchunk(raw) : raw;
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      resolve({ status: status === undefined ? null : Number(status), text, json });
    });
  });
}

/** A request head from a request line and headers, ending with the blank line. */
export function head(requestLine: string, headers: Record<string, string>): string {
  return `${requestLine}\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
}

/** A chunked body's chunks, joined (no trailers, no extensions: node:http writes none). */
function unchunk(raw: string): string {
  let body = '';
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    const size = Number.parseInt(raw.slice(at, eol), 16);
    if (eol < 0 || !(size > 0)) return body;
    body += raw.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

/** A local gateway in front of a function that only counts its runs: what the raw-request tests send to. */
export async function countingGateway(key: LocalKey, now: number) {
  let calls = 0;
  const handler = async () => {
    calls++;
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' };
  };
  const gateway = await serveLocally(handler as never, { port: 0, keys: new Map([[key.accessKeyId, key]]), region: 'us-east-1', now: () => now });
  return { url: gateway.url, port: Number(new URL(gateway.url).port), calls: () => calls, close: () => gateway.close() };
}
