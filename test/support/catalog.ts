import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAccess } from '../../functions/adapters/identity-schema.ts';
import { resolveEndpoint, type EndpointRequest } from '../../functions/core/catalog.ts';
import type { Token } from '../../functions/core/token.ts';

/** A fixture under test/fixtures/ (an Identity answer) parsed into a token; the test fails if it does not parse. */
export function loadToken(path: string): Token {
  const token = parseAccess(JSON.parse(readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8')));
  assert.ok(token, `${path} parses`);
  return token;
}

/** resolveEndpoint on the token's catalog, public interface unless asked otherwise. */
export const resolve = (token: Token, request: Partial<EndpointRequest> & { service: string }, defaultRegion = token.defaultRegion) =>
  resolveEndpoint(token.catalog, { interface: 'public', ...request }, defaultRegion);

/** The error `fn` throws, which must be a `type`. */
export function rejects<E extends Error>(fn: () => unknown, type: abstract new (...a: never[]) => E): E {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${type.name}`);
}
